// Server-side encryption inputs: SSE-C key parameters for the SDK and as raw headers, and the
// per-kind SDK input for writing, reading and copying objects (SSE-S3 and SSE-KMS use the daemon's
// built-in KMS key `test-key`, see TEST_KMS_SECRET).

import { md5Base64 } from './hash.js';

/** The built-in KMS key's id and the ARN the daemon reports for it. */
export const KMS_KEY_ID = 'test-key';
export const KMS_KEY_ARN = `arn:aws:kms:${KMS_KEY_ID}`;

export type SseKind = 'none' | 'SSE-C' | 'SSE-S3' | 'SSE-KMS';

export type SsecInput = { SSECustomerAlgorithm: string; SSECustomerKey: string; SSECustomerKeyMD5: string };
export type SsecCopyInput = { CopySourceSSECustomerAlgorithm: string; CopySourceSSECustomerKey: string; CopySourceSSECustomerKeyMD5: string };

/** SDK SSE-C input for a customer key (AES256, the key and its MD5, base64). */
export function ssec(key: Buffer): SsecInput {
  return { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: md5Base64(key) };
}

/** SDK input naming the SSE-C key of a copy source. */
export function ssecCopy(key: Buffer): SsecCopyInput {
  return { CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: key.toString('base64'), CopySourceSSECustomerKeyMD5: md5Base64(key) };
}

/** SSE-C as raw headers; `prefix` 'x-amz-copy-source-server-side-encryption-customer-' for a copy source. */
export function ssecHeaders(key: Buffer, prefix = 'x-amz-server-side-encryption-customer-'): Record<string, string> {
  return { [`${prefix}algorithm`]: 'AES256', [`${prefix}key`]: key.toString('base64'), [`${prefix}key-md5`]: md5Base64(key) };
}

/** SDK input to write an object of this kind (`key` is the SSE-C customer key). */
export function sseWriteInput(kind: SseKind, key: Buffer): Record<string, string> {
  switch (kind) {
    case 'none':
      return {};
    case 'SSE-C':
      return ssec(key);
    case 'SSE-S3':
      return { ServerSideEncryption: 'AES256' };
    case 'SSE-KMS':
      return { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID };
  }
}

/** SDK input to read (GET, HEAD, UploadPart) an object of this kind: only SSE-C needs the key. */
export function sseReadInput(kind: SseKind, key: Buffer): Record<string, string> {
  return kind === 'SSE-C' ? ssec(key) : {};
}

/** SDK input for a copy source of this kind: only SSE-C needs the key. */
export function sseCopySourceInput(kind: SseKind, key: Buffer): Record<string, string> {
  return kind === 'SSE-C' ? ssecCopy(key) : {};
}

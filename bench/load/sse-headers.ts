// Request headers for each SSE mode of the bench: SSE-S3 (built-in key or KES) on writes only,
// SSE-C (a fixed random key per bench run) on every request that touches object data.

import { createHash, randomBytes } from 'node:crypto';
import type { SseMode } from '../report/types.js';

export type HeaderList = ReadonlyArray<readonly [string, string]>;

export interface SseHeaders {
  /** PutObject, CreateMultipartUpload */
  write: HeaderList;
  /** UploadPart (SSE-C repeats the key on every part) */
  part: HeaderList;
  /** GetObject, HeadObject */
  read: HeaderList;
}

export interface SsecKey {
  keyB64: string;
  keyMd5B64: string;
}

export function newSsecKey(): SsecKey {
  const key = randomBytes(32);
  return { keyB64: key.toString('base64'), keyMd5B64: createHash('md5').update(key).digest('base64') };
}

export function sseHeaders(mode: SseMode, ssec: SsecKey | undefined): SseHeaders {
  switch (mode) {
    case 'none':
      return { write: [], part: [], read: [] };
    case 'sse-s3':
    case 'sse-kes':
      return { write: [['x-amz-server-side-encryption', 'AES256']], part: [], read: [] };
    case 'sse-c': {
      if (ssec === undefined) throw new Error('sse-c needs a customer key');
      const h: HeaderList = [
        ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
        ['x-amz-server-side-encryption-customer-key', ssec.keyB64],
        ['x-amz-server-side-encryption-customer-key-md5', ssec.keyMd5B64],
      ];
      return { write: h, part: h, read: h };
    }
  }
}

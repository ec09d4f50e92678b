// Setup and correctness through the official AWS SDK (not the bench's raw client): create the
// bench bucket, round-trip one object per SSE mode and check the bytes, the SSE response header
// and whether the ETag is the content MD5; remove what the bench wrote on an existing endpoint.

import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { LoadCredentials } from './load/protocol.js';
import type { SsecKey } from './load/sse-headers.js';
import type { SseMode } from './report/types.js';

export interface Correctness {
  sse: SseMode;
  ok: boolean;
  etagIsMd5: boolean | null;
  sseHeader: string | null;
  error?: string;
}

export function s3Client(endpoint: string, creds: LoadCredentials, caPem?: string): S3Client {
  return new S3Client({
    endpoint,
    region: creds.region,
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
    maxAttempts: 1,
    ...(caPem === undefined ? {} : { requestHandler: { httpsAgent: new Agent({ ca: caPem }) } }),
  });
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  }
}

function sseParams(sse: SseMode, ssec: SsecKey): Record<string, string> {
  if (sse === 'sse-s3' || sse === 'sse-kes') return { ServerSideEncryption: 'AES256' };
  if (sse === 'sse-c') return { SSECustomerAlgorithm: 'AES256', SSECustomerKey: ssec.keyB64, SSECustomerKeyMD5: ssec.keyMd5B64 };
  return {};
}

function readParams(sse: SseMode, ssec: SsecKey): Record<string, string> {
  return sse === 'sse-c' ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: ssec.keyB64, SSECustomerKeyMD5: ssec.keyMd5B64 } : {};
}

/** PUT 1 MiB + 17 bytes of random data, GET it back, HEAD it. */
export async function verifyRoundTrip(client: S3Client, bucket: string, sse: SseMode, ssec: SsecKey): Promise<Correctness> {
  const body = randomBytes(1024 * 1024 + 17);
  const key = `verify/${sse}`;
  try {
    const put = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sseParams(sse, ssec) }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...readParams(sse, ssec) }));
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...readParams(sse, ssec) }));
    const md5 = createHash('md5').update(body).digest('hex');
    const etag = (put.ETag ?? '').replaceAll('"', '');
    const sseHeader = sse === 'sse-c' ? (head.SSECustomerAlgorithm ?? null) : (head.ServerSideEncryption ?? null);
    const ok = bytes.equals(body) && (sse === 'none' || sseHeader !== null);
    return {
      sse,
      ok,
      etagIsMd5: etag === '' ? null : etag === md5,
      sseHeader,
      ...(ok ? {} : { error: bytes.equals(body) ? 'no SSE response header' : `GET returned ${bytes.length} bytes that differ from the ${body.length} written` }),
    };
  } catch (err) {
    return { sse, ok: false, etagIsMd5: null, sseHeader: null, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/** Deletes every object in the bucket and the bucket (for --endpoint runs). Bounded in pages. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  for (let page = 0; page < 100_000; page++) {
    const list = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 1000 }));
    const keys = (list.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    if (list.IsTruncated !== true) break;
    token = list.NextContinuationToken;
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

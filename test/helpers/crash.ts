// What the crash tests (prod-crash, prod-crash-versioned) share: their S3 client and how they read
// an object back to compare it with their model.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import type { TestDaemon } from './daemon.js';
import { clientFor } from './s3.js';
import { ssec } from './sse.js';

/** A client that never retries (a cut request must fail, not be sent again) with `workers` load threads' sockets. */
export function crashClient(d: TestDaemon, workers: number): S3Client {
  return clientFor(d, {
    maxAttempts: 1,
    // The SDK's pure-JS CRC32 of every body would dominate the test's CPU; S3 needs no checksum here.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpsAgent: new HttpsAgent({ ca: d.caCert, keepAlive: true, maxSockets: workers * 2 }) },
  });
}

const isStatus = (err: unknown, status: number): boolean => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === status;

/**
 * MD5 hex of an object's bytes (the current version without `versionId`), retried with the SSE-C
 * key `ssecKey` when it needs one; null for 404. A body shorter than its Content-Length throws.
 */
export async function readMd5(s3: S3Client, bucket: string, key: string, ssecKey: Buffer, versionId?: string): Promise<string | null> {
  for (const sse of [{}, ssec(ssecKey)]) {
    try {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}), ...sse }));
      const bytes = Buffer.from(await r.Body!.transformToByteArray());
      if (r.ContentLength !== undefined && bytes.length !== r.ContentLength) throw new Error(`${key} ${versionId ?? ''}: short body ${bytes.length}/${r.ContentLength}`);
      return createHash('md5').update(bytes).digest('hex');
    } catch (err) {
      if (isStatus(err, 404)) return null;
      if (isStatus(err, 400) && Object.keys(sse).length === 0) continue; // SSE-C: needs the key
      throw err;
    }
  }
  throw new Error('unreachable');
}

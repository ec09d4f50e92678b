// At start-up with the built-in KMS: does its key open the data key of a stored object? A changed
// S3_KMS_SECRET_KEY (another key under the same name, or another name) otherwise shows only as
// every SSE-S3/SSE-KMS read failing (500, or 400 KMS.NotFoundException for another name), while
// the daemon looks healthy.

import type { MetaStore } from '../meta/store.js';
import { bucketsByPage } from '../meta/bucket-listing.js';
import { unsealForRead, type SseEnv } from './object-encryption.js';

export interface StoredKeyCheck {
  bucket: string;
  key: string;
  /** Why the data key did not open; absent when it did. */
  error?: string;
}

/**
 * Tries the first SSE-S3/SSE-KMS current object among the first `limit` records (across buckets,
 * in order); undefined when there is none. One unseal, no data read. It runs once the daemon
 * serves: the buckets are read a page at a time, with a turn of the event loop between pages
 * (empty buckets count no record: a store of 100,000 of them, read and looked into at once, held
 * every request back ~0.5 s right after start-up, and 1,000,000 would have held it seconds).
 */
export async function checkStoredKey(env: SseEnv, meta: MetaStore, limit = 1000): Promise<StoredKeyCheck | undefined> {
  let read = 0;
  for await (const b of bucketsByPage(meta)) {
    // Records without their data and parts (listed-record.ts): the sealed key is all it reads (a
    // multipart object's parts have no key of their own), and a page of inline objects read whole
    // copied their data out.
    const page = meta.listObjectsWithoutData(b.name, { prefix: '', delimiter: '', after: '', maxKeys: Math.max(1, limit - read) });
    for (const { key, record } of page.contents) {
      read++;
      const sse = record.sse;
      if (sse === undefined || sse.kind === 'SSE-C') continue;
      try {
        (await unsealForRead(env, sse, {}, b.name, key)).fill(0);
        return { bucket: b.name, key };
      } catch (err) {
        return { bucket: b.name, key, error: (err as Error).message };
      }
    }
    if (read >= limit) return undefined;
  }
  return undefined;
}

// Recycled memory never shows through: the crypto slots, body pieces and read buffers a request
// uses held another object's bytes before. Object A, full of a marker byte, is written and read
// (so every slot it touched holds its plaintext and ciphertext); then objects B of sizes around
// package and batch boundaries (0, 1, 65535, 65536, 65537, a last package shorter than A's, one
// byte past a 1 MiB batch) are written and read whole and in ranges that start and end inside
// packages, plain and in every SSE mode, with S3_DIRECT_IO on and off: every answer is exactly
// B's bytes, and every data file of B is exactly its stored size (nothing past the sealed length,
// no page padding).

import t from 'tap';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { bodyBytes, clientWithoutResponseChecksums } from '../helpers/s3.js';
import { sseReadInput, sseWriteInput, type SseKind } from '../helpers/sse.js';
import { encryptedSize } from '../../workers/format/index.js';

const PKG = 65536;
const BATCH = 16 * PKG;
const MARKER = 0xa5;
const KINDS: SseKind[] = ['none', 'SSE-C', 'SSE-S3', 'SSE-KMS'];
const SIZES = [0, 1, 65_535, PKG, PKG + 1, 3 * PKG + 17, BATCH + 1, 2 * BATCH + PKG - 3];
const customerKey = randomBytes(32);

/** `n` bytes that never hold the marker. */
function body(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = ((i * 7 + seed) % 160) + 1;
  return b;
}

/** Ranges (inclusive) that start and end inside packages, across them, and at the ends. */
function ranges(n: number): Array<[number, number]> {
  if (n === 0) return [];
  const out: Array<[number, number]> = [[0, n - 1], [n - 1, n - 1], [0, 0]];
  for (const [a, b] of [[PKG - 3, PKG + 5], [5, PKG - 7], [PKG + 9, 2 * PKG + 11], [BATCH - 1, BATCH + 1], [n - 70_000, n - 2]]) {
    const lo = Math.max(0, a!);
    const hi = Math.min(n - 1, b!);
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

for (const directIo of ['on', 'off']) {
  t.test(`S3_DIRECT_IO=${directIo}: no answer and no data file holds bytes of an earlier object`, async (t) => {
    const d: TestDaemon = await startDaemon({ tls: true, env: { S3_DIRECT_IO: directIo } });
    t.teardown(async () => {
      await d.stop();
      d.cleanup();
    });
    // A filesystem that refuses O_DIRECT (tmpfs) falls back to the page cache: say which ran.
    const inEffect = d.jsonLogs().find((l) => typeof l.directIo === 'boolean')?.directIo;
    t.comment(`O_DIRECT in effect: ${String(inEffect)}`);
    if (directIo === 'off') t.equal(inEffect, false, 'S3_DIRECT_IO=off writes through the page cache');
    const s3 = clientWithoutResponseChecksums(d);
    const bucket = `recycled-${directIo}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const kind of KINDS) {
      const sse = sseWriteInput(kind, customerKey);
      const read = sseReadInput(kind, customerKey);
      const a = Buffer.alloc(3 * BATCH + 1000, MARKER);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${kind}/A`, Body: a, ...sse }));
      t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${kind}/A`, ...read })))).equals(a), `${kind}: A reads back`);
      let bad = 0;
      for (const size of SIZES) {
        const key = `${kind}/B-${size}`;
        const before = new Set(dataFilePaths(d.dataDir));
        const b = body(size, size % 97);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: b, ...sse }));
        const files = dataFilePaths(d.dataDir).filter((f) => !before.has(f));
        const stored = kind === 'none' ? size : encryptedSize(size);
        for (const f of files) {
          if (statSync(f).size !== stored) {
            bad++;
            t.fail(`${key}: its data file is ${statSync(f).size} bytes, stored size ${stored}`);
          }
        }
        for (const [lo, hi] of [[-1, -1] as [number, number], ...ranges(size)]) {
          const whole = lo < 0;
          const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...read, ...(whole ? {} : { Range: `bytes=${lo}-${hi}` }) }));
          const got = await bodyBytes(out);
          const want = whole ? b : b.subarray(lo, hi + 1);
          if (!got.equals(want)) {
            bad++;
            t.fail(`${key} ${whole ? 'whole' : `bytes=${lo}-${hi}`}: ${got.length} bytes${got.includes(MARKER) ? ', with bytes of A' : ''}, want ${want.length}`);
          }
        }
      }
      t.equal(bad, 0, `${kind}: every B of ${SIZES.length} sizes, whole and in ranges, is exactly its bytes, its files exactly their stored size`);
    }
  });
}

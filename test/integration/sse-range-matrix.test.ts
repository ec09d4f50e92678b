// Ranged and partNumber reads of every SSE mode (none, SSE-S3, SSE-KMS, SSE-C) through the SDK,
// compared byte for byte with the plaintext: ranges that start and end on and around DARE package
// boundaries (64 KiB of plaintext each) and around the part boundaries of a multipart object of
// odd part sizes (package numbering restarts in every part, each sealed under its own key, the
// last one inline in its record), suffix ranges, and every part by partNumber with its
// Content-Range and parts count. Then a tampered package in the middle of a part: a GET of that
// part, or of a range across the part boundary, sends none of the tampered package's bytes and
// is cut, never completed short.
import t from 'tap';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths, flipByte } from '../helpers/files.js';
import { encodeKey, signedHeaders } from '../helpers/http.js';
import { bodyBytes, clientWithoutResponseChecksums, createBucket } from '../helpers/s3.js';
import { type SseKind, sseReadInput, sseWriteInput } from '../helpers/sse.js';

const PKG = 64 * 1024;
const STORED = PKG + 32; // a whole package on disk
const MiB = 1024 * 1024;
/** Odd part sizes: the first ends one byte into a package, the second three; the last is inline. */
const PARTS = [5 * MiB + 1, 5 * MiB + PKG + 3, PKG + 1];
const KINDS: SseKind[] = ['none', 'SSE-S3', 'SSE-KMS', 'SSE-C'];

/** Uploads a multipart object of PARTS; returns its bytes and each part's new data file (undefined when inline). */
async function putMultipart(s3: S3Client, bucket: string, key: string, kind: SseKind, customerKey: Buffer, dataDir: string): Promise<{ body: Buffer; files: (string | undefined)[] }> {
  const bodies = PARTS.map((n, i) => testBytes(n, 60 + i));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseWriteInput(kind, customerKey) }));
  const done = [];
  const files: (string | undefined)[] = [];
  for (const [i, Body] of bodies.entries()) {
    const before = new Set(dataFilePaths(dataDir));
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body, ...sseReadInput(kind, customerKey) }));
    files.push(dataFilePaths(dataDir).find((f) => !before.has(f)));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: done }, ...sseReadInput(kind, customerKey) }));
  return { body: Buffer.concat(bodies), files };
}

t.test('ranges around package and part boundaries, suffixes and partNumber, for every SSE mode', async (t) => {
  const d = await startDaemon({ tls: true });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = clientWithoutResponseChecksums(d);
  const bucket = await createBucket(s3, 'rmatrix');
  const customerKey = randomBytes(32);
  for (const kind of KINDS) {
    const objects: Array<{ key: string; body: Buffer; parts: number[] }> = [];
    // Single-part: inline (under 128 KiB stored) and in a data file, ending on and just past a package.
    for (const size of [PKG, PKG + 1, 3 * PKG + 5]) {
      const body = testBytes(size, size % 251);
      const key = `${kind}/single-${size}`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sseWriteInput(kind, customerKey) }));
      objects.push({ key, body, parts: [size] });
    }
    const mp = await putMultipart(s3, bucket, `${kind}/multipart`, kind, customerKey, d.dataDir);
    objects.push({ key: `${kind}/multipart`, body: mp.body, parts: PARTS });

    for (const o of objects) {
      const n = o.body.length;
      const get = async (input: { Range?: string; PartNumber?: number }): Promise<{ status: number | undefined; range: string | undefined; count: number | undefined; bytes: Buffer }> => {
        const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, ...sseReadInput(kind, customerKey), ...input }));
        return { status: r.$metadata.httpStatusCode, range: r.ContentRange, count: r.PartsCount, bytes: await bodyBytes(r) };
      };
      // Positions: around the first two package boundaries of every part, and around each part's end.
      const points = new Set<number>([0]);
      let partStart = 0;
      for (const size of o.parts) {
        for (const b of [partStart + PKG, partStart + 2 * PKG, partStart + size]) for (const dx of [-1, 0, 1]) points.add(b + dx);
        partStart += size;
      }
      const ps = [...points].filter((p) => p >= 0 && p < n).sort((a, b) => a - b);
      const ranges: Array<[number, number]> = [];
      for (let i = 0; i < ps.length; i++) {
        ranges.push([ps[i]!, ps[i]!]);
        if (i + 1 < ps.length) ranges.push([ps[i]!, ps[i + 1]!]);
        if (i + 4 < ps.length) ranges.push([ps[i]!, ps[i + 4]!]);
      }
      let bad = 0;
      for (const [a, b] of ranges) {
        const r = await get({ Range: `bytes=${a}-${b}` });
        if (r.status !== 206 || r.range !== `bytes ${a}-${b}/${n}` || !r.bytes.equals(o.body.subarray(a, b + 1))) {
          bad++;
          t.fail(`${o.key} bytes=${a}-${b}: HTTP ${r.status}, ${r.range}, ${r.bytes.length} bytes`);
        }
      }
      t.equal(bad, 0, `${o.key}: ${ranges.length} ranges around package and part boundaries read exactly the plaintext`);
      for (const k of [1, PKG + 1, n + 5]) {
        const from = Math.max(0, n - k);
        const r = await get({ Range: `bytes=-${k}` });
        t.ok(r.status === 206 && r.range === `bytes ${from}-${n - 1}/${n}` && r.bytes.equals(o.body.subarray(from)), `${o.key} bytes=-${k}: the last ${n - from} bytes`);
      }
      let start = 0;
      for (const [i, size] of o.parts.entries()) {
        const end = start + size - 1;
        const r = await get({ PartNumber: i + 1 });
        t.equal(r.range, `bytes ${start}-${end}/${n}`, `${o.key} part ${i + 1}: Content-Range`);
        t.equal(r.count, o.parts.length > 1 ? o.parts.length : undefined, `${o.key} part ${i + 1}: the parts count, for a multipart object only`);
        t.ok(r.status === 206 && r.bytes.equals(o.body.subarray(start, end + 1)), `${o.key} part ${i + 1}: its bytes`);
        const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key, PartNumber: i + 1, ...sseReadInput(kind, customerKey) }));
        t.ok(h.ContentLength === size && h.ContentRange === r.range, `${o.key} HEAD part ${i + 1}: Content-Length and Content-Range as GET's`);
        start = end + 1;
      }
    }
  }
});

interface Got {
  status: number | undefined;
  body: Buffer;
  complete: boolean;
}

/** A signed GET on a fresh connection that reports a cut connection instead of rejecting. */
function rawGet(d: TestDaemon, path: string, range: string | undefined, query: string | undefined): Promise<Got> {
  const headers = signedHeaders(d.port, { method: 'GET', path, ...(query === undefined ? {} : { query }), headers: range === undefined ? {} : { range } });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (status: number | undefined, complete: boolean): void => {
      if (settled) return;
      settled = true;
      resolve({ status, complete, body: Buffer.concat(chunks) });
    };
    const req = request({ host: '127.0.0.1', port: d.port, method: 'GET', path: query === undefined ? path : `${path}?${query}`, headers, agent: false }, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => done(res.statusCode, false));
      res.on('close', () => done(res.statusCode, res.complete));
    });
    req.setTimeout(15_000, () => req.destroy());
    req.on('error', () => done(undefined, false));
    req.end();
  });
}

t.test('a tampered package inside a part of an encrypted multipart object: none of its bytes go out, the response is cut', async (t) => {
  const d = await startDaemon();
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const s3 = d.s3();
  const bucket = `rtamper-${Date.now().toString(16)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const kind of ['SSE-S3', 'SSE-KMS'] as const) {
    const key = `${kind}/multipart`;
    const { body, files } = await putMultipart(s3, bucket, key, kind, Buffer.alloc(0), d.dataDir);
    // Package 20 of part 2: its second open batch, so the first batch of the part has gone out.
    const pkg = 20;
    flipByte(files[1]!, pkg * STORED + 16 + 7, 0x10);
    const tampered = PARTS[0]! + pkg * PKG; // the damaged package's first plaintext byte in the object
    const path = `/${bucket}/${encodeKey(key)}`;
    const cases: Array<[string, string | undefined, string | undefined, number]> = [
      ['partNumber=2', undefined, 'partNumber=2', PARTS[0]!],
      ['a range from part 1 into part 2', `bytes=${PARTS[0]! - 3 * MiB}-${PARTS[0]! + 3 * MiB}`, undefined, PARTS[0]! - 3 * MiB],
      ['the whole object', undefined, undefined, 0],
    ];
    for (const [what, range, query, start] of cases) {
      const g = await rawGet(d, path, range, query);
      t.ok(g.status === 200 || g.status === 206, `${kind} ${what}: the answer began (HTTP ${g.status})`);
      t.equal(g.complete, false, `${kind} ${what}: cut, not completed short (${g.body.length} bytes)`);
      t.ok(g.body.length > 0, `${kind} ${what}: the authenticated bytes before the damage went out`);
      t.ok(g.body.length <= tampered - start, `${kind} ${what}: no byte of the tampered package (${g.body.length} ≤ ${tampered - start})`);
      t.ok(g.body.equals(body.subarray(start, start + g.body.length)), `${kind} ${what}: every byte sent is the true plaintext`);
    }
    // The range that begins one package before the damage fails in its first batch: an S3 error.
    const early = await rawGet(d, path, `bytes=${tampered - PKG + 5}-${tampered + 10}`, undefined);
    t.equal(early.status, 500, `${kind}: a range whose first batch holds the damage is refused before any byte`);
    t.match(early.body.toString(), '<Code>XMinioObjectTampered</Code>');
    // The parts around it still read.
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: 3 }));
    t.ok((await bodyBytes(r)).equals(body.subarray(PARTS[0]! + PARTS[1]!)), `${kind}: part 3 still reads`);
  }
});

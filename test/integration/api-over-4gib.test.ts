// An object past 4 GiB through the real daemon, SSE-C: offsets past 2^32 must stay exact
// from the request to the data files and back (Range, partNumber, a part boundary exactly at 2^32
// and one past it, a DARE package past 2^32, x-amz-copy-source-range past 2^32, HEAD's and
// GetObjectAttributes' sizes, ListParts' sizes, a whole GET of more than 2^32 bytes). The object,
// 65 parts of 64 MiB and a 1 MiB one (4 GiB + 65 MiB: part 65 starts exactly at 2^32, part 66
// past it; more whole parts cross no other boundary), is made by UploadPartCopy from one 64 MiB
// source, so the client sends 64 MiB only (the daemon copies and encrypts the whole object either
// way: smaller parts cost no more). The source is unencrypted (64 MiB and a byte), and each part
// copies 64 MiB of it from offset 1: a copy of the whole of an unencrypted source checks it against
// its MD5 ETag (ops/copy.ts, MD5 at a third of AES-GCM's speed), and a copy of an encrypted one
// decrypts it; either way 4 GiB of work that proves nothing past 2^32 (every offset checked is the
// destination's, and the copy from the big SSE-C object below reads a source past 2^32). The
// whole GET is read by stream events, not `for await`: tap's async-hook-domain tracks every
// promise, and ~4 GiB of TLS reads in 16 KiB chunks made that the test process's main cost.
// The big object is encrypted only (each part a DARE stream of its own): an unencrypted one as well
// took the test past a minute on a two-core machine.
import t from 'tap';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { startDaemonFor } from '../helpers/daemon.js';
import { bodyBytes, clientWithoutResponseChecksums, createBucket } from '../helpers/s3.js';
import { ssec, ssecCopy } from '../helpers/sse.js';

const MiB = 1024 * 1024;
const SOURCE = 64 * MiB;
/** Where in the source object the parts' bytes start: a copy of the whole of it would be MD5-checked. */
const SKEW = 1;
/** Parts 1–65 copy SOURCE bytes of the source from SKEW (part 65 starts exactly at 2^32); part 66 copies 1 MiB of it from TAIL_FROM. */
const WHOLE_PARTS = 65;
const TAIL_FROM = 7 * MiB;
const TAIL = MiB;
const TOTAL = WHOLE_PARTS * SOURCE + TAIL;
const FOUR_GIB = 2 ** 32;
/** The part that starts exactly at 2^32. */
const PART_AT_4GIB = FOUR_GIB / SOURCE + 1;

/** The source: 1 MiB blocks of random bytes, each stamped with its index (no two blocks alike). */
const block = randomBytes(MiB);
function sourceBytes(from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  for (let pos = from; pos < to; ) {
    const index = Math.floor(pos / MiB);
    const stamped = Buffer.from(block);
    stamped.writeUInt32BE(index, 0);
    const within = pos - index * MiB;
    const n = Math.min(MiB - within, to - pos);
    stamped.copy(out, pos - from, within, within + n);
    pos += n;
  }
  return out;
}

/** The object's bytes [from, to): which part, and where in the source object that part's bytes come from. */
function objectBytes(from: number, to: number): Buffer {
  const pieces: Buffer[] = [];
  for (let pos = from; pos < to; ) {
    const part = Math.floor(pos / SOURCE);
    if (part < WHOLE_PARTS) {
      const end = Math.min(to, (part + 1) * SOURCE);
      pieces.push(sourceBytes(SKEW + pos - part * SOURCE, SKEW + end - part * SOURCE));
      pos = end;
    } else {
      const at = pos - WHOLE_PARTS * SOURCE;
      pieces.push(sourceBytes(TAIL_FROM + at, TAIL_FROM + at + (to - pos)));
      pos = to;
    }
  }
  return Buffer.concat(pieces);
}

async function range(s3: S3Client, Bucket: string, Key: string, Range: string, sse: object): Promise<{ body: Buffer; contentRange: string | undefined }> {
  const out = await s3.send(new GetObjectCommand({ Bucket, Key, Range, ...sse }));
  return { body: await bodyBytes(out), contentRange: out.ContentRange };
}

/** A whole GET streamed: its Content-Length, the bytes counted, and the bytes at `probes`. */
async function wholeGet(s3: S3Client, Bucket: string, Key: string, sse: object, probes: number[]): Promise<{ length: number | undefined; count: number; seen: Map<number, number> }> {
  const out = await s3.send(new GetObjectCommand({ Bucket, Key, ...sse }));
  let count = 0;
  const seen = new Map<number, number>();
  const body = out.Body as Readable;
  await new Promise<void>((resolve, reject) => {
    body.on('data', (c: Buffer) => {
      for (const p of probes) if (p >= count && p < count + c.length) seen.set(p, c[p - count]!);
      count += c.length;
    });
    body.once('end', resolve);
    body.once('error', reject);
  });
  return { length: out.ContentLength, count, seen };
}

t.test('a 4 GiB + 65 MiB SSE-C multipart object: every offset past 2^32 exact', async (t) => {
  const d = await startDaemonFor(t, { tls: true }); // SSE-C needs TLS
  const s3 = clientWithoutResponseChecksums(d);
  const bucket = await createBucket(s3, 'big');
  const customerKey = randomBytes(32);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'source', Body: sourceBytes(0, SKEW + SOURCE) }));

  for (const kind of ['SSE-C'] as const) {
    const sse = kind === 'SSE-C' ? ssec(customerKey) : {};
    const key = `big-${kind}`;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sse }));
    const copies = Array.from({ length: WHOLE_PARTS + 1 }, (_, i) => i + 1);
    // Two at a time: the machine has two cores.
    const etags: string[] = [];
    for (let i = 0; i < copies.length; i += 2) {
      const done = await Promise.all(
        copies.slice(i, i + 2).map((n) =>
          s3.send(new UploadPartCopyCommand({
            Bucket: bucket, Key: key, UploadId, PartNumber: n, CopySource: `${bucket}/source`, ...sse,
            CopySourceRange: n > WHOLE_PARTS ? `bytes=${TAIL_FROM}-${TAIL_FROM + TAIL - 1}` : `bytes=${SKEW}-${SKEW + SOURCE - 1}`,
          })),
        ),
      );
      etags.push(...done.map((r) => r.CopyPartResult!.ETag!));
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId, ...sse }));
    t.same(listed.Parts!.map((p) => p.Size), [...Array(WHOLE_PARTS).fill(SOURCE), TAIL], `${kind}: ListParts sizes`);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, ...sse, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...sse }));
    t.equal(head.ContentLength, TOTAL, `${kind}: HEAD Content-Length past 2^32`);
    const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, ObjectAttributes: ['ObjectSize', 'ObjectParts'], ...sse }));
    t.equal(attrs.ObjectSize, TOTAL, `${kind}: GetObjectAttributes ObjectSize`);
    t.equal(attrs.ObjectParts?.TotalPartsCount, WHOLE_PARTS + 1, `${kind}: PartsCount`);

    const atFourGib = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, PartNumber: PART_AT_4GIB, ...sse }));
    t.equal(atFourGib.ContentRange, `bytes ${FOUR_GIB}-${FOUR_GIB + SOURCE - 1}/${TOTAL}`, `${kind}: part ${PART_AT_4GIB} starts at 2^32`);
    t.equal(atFourGib.ContentLength, SOURCE);
    t.equal(atFourGib.PartsCount, WHOLE_PARTS + 1);
    const last = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: WHOLE_PARTS + 1, ...sse }));
    t.equal(last.ContentRange, `bytes ${TOTAL - TAIL}-${TOTAL - 1}/${TOTAL}`, `${kind}: part ${WHOLE_PARTS + 1} past 2^32`);
    t.ok((await bodyBytes(last)).equals(objectBytes(TOTAL - TAIL, TOTAL)), `${kind}: part ${WHOLE_PARTS + 1}'s bytes`);

    const ranges: Array<[string, number, number]> = [
      ['across the part boundary at 2^32', FOUR_GIB - 70_000, FOUR_GIB + 70_000],
      ['a DARE package past 2^32, unaligned', FOUR_GIB + 3 * 65_536 - 10, FOUR_GIB + 3 * 65_536 + 90],
      ['across the part boundary past 2^32', TOTAL - TAIL - 100, TOTAL - TAIL + 100],
      ['the last byte', TOTAL - 1, TOTAL],
    ];
    for (const [what, from, to] of ranges) {
      const r = await range(s3, bucket, key, `bytes=${from}-${to - 1}`, sse);
      t.equal(r.contentRange, `bytes ${from}-${to - 1}/${TOTAL}`, `${kind}: ${what}: Content-Range`);
      t.ok(r.body.equals(objectBytes(from, to)), `${kind}: ${what}: bytes`);
    }
    const suffix = await range(s3, bucket, key, `bytes=-${TAIL + 5}`, sse);
    t.ok(suffix.body.equals(objectBytes(TOTAL - TAIL - 5, TOTAL)), `${kind}: a suffix range`);
    const open = await range(s3, bucket, key, `bytes=${TOTAL - TAIL - 3}-`, sse);
    t.ok(open.body.equals(objectBytes(TOTAL - TAIL - 3, TOTAL)), `${kind}: an open range from past 2^32`);

    // A part copied from past 2^32 of the big object, across the boundary at 2^32.
    const from = FOUR_GIB - 5 * MiB - 3;
    const to = FOUR_GIB + 2 * MiB;
    const dst = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${key}-copy` }));
    const copied = await s3.send(new UploadPartCopyCommand({
      Bucket: bucket, Key: `${key}-copy`, UploadId: dst.UploadId, PartNumber: 1, CopySource: `${bucket}/${key}`,
      CopySourceRange: `bytes=${from}-${to - 1}`, ...(kind === 'SSE-C' ? ssecCopy(customerKey) : {}),
    }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: `${key}-copy`, UploadId: dst.UploadId, MultipartUpload: { Parts: [{ ETag: copied.CopyPartResult!.ETag!, PartNumber: 1 }] } }));
    const copy = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${key}-copy` }));
    t.ok((await bodyBytes(copy)).equals(objectBytes(from, to)), `${kind}: x-amz-copy-source-range across 2^32`);
  }

  // The whole SSE-C object in one GET: more than 2^32 bytes, in order.
  const probes = [0, FOUR_GIB - 1, FOUR_GIB, FOUR_GIB + 1, TOTAL - TAIL, TOTAL - 1];
  const whole = await wholeGet(s3, bucket, 'big-SSE-C', ssec(customerKey), probes);
  t.equal(whole.length, TOTAL, 'a whole GET: Content-Length past 2^32');
  t.equal(whole.count, TOTAL, 'a whole GET: every byte');
  for (const p of probes) t.equal(whole.seen.get(p), objectBytes(p, p + 1)[0], `a whole GET: the byte at ${p}`);
});

// Multipart uploads against the built daemon: the whole lifecycle with exact bytes and the S3
// multipart ETag, every CompleteMultipartUpload error code, part replacement, partNumber reads,
// ranged reads across parts, Abort freeing the parts' data files, ListParts and
// ListMultipartUploads paging, UploadPartCopy with ranges (Content-MD5 refused there), and @aws-sdk/lib-storage Upload; a GET
// of a many-part object holds one part file open at a time and still reads whole after an overwrite.

import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandInput,
  type ListMultipartUploadsCommandOutput,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { prng, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { countFiles, dataFilePaths, waitForFileCounts } from '../helpers/files.js';
import { md5Hex } from '../helpers/hash.js';
import { raw, signedHeaders, signedRequestText, xmlField } from '../helpers/http.js';
import { parseHttpResponse, tcpExchange } from '../helpers/tcp.js';
import { pollUntil } from '../helpers/wait.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { bodyBytes, createBucket, expectSdkError, rawBodyClient, s3Code, sdkFailure, withHeaders } from '../helpers/s3.js';

const MiB = 1024 * 1024;
// No usage scan: it reads upload records into s3d_upload_entries_read_total, which a test below
// counts per page (the scan 5 s after start-up could land inside one on a loaded box).
const d = await startDaemonFor(t, { env: { S3_USAGE_SCAN_INTERVAL: 'off' } });
const s3 = d.s3();
const BUCKET = await createBucket(s3, 'mp');

/** S3's multipart ETag: MD5 of the concatenated binary part MD5s, then -N. */
function multipartETag(parts: Buffer[]): string {
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(p).digest());
  return `"${h.digest('hex')}-${parts.length}"`;
}

async function create(key: string, bucket = BUCKET): Promise<string> {
  const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  if (r.Bucket !== bucket || r.Key !== key || !r.UploadId) throw new Error(`InitiateMultipartUploadResult names ${r.Bucket}/${r.Key} (${r.UploadId}), not ${bucket}/${key}`);
  return r.UploadId;
}

async function uploadPart(key: string, uploadId: string, n: number, body: Buffer): Promise<CompletedPart> {
  const r = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: n, Body: body }));
  return { PartNumber: n, ETag: r.ETag };
}

let lastLocation: string | undefined;

async function complete(key: string, uploadId: string, parts: CompletedPart[], client: S3Client = s3): Promise<string | undefined> {
  const r = await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  lastLocation = r.Location;
  return r.ETag;
}

/** GetObject: the body with the range, part count and length the response reports. */
async function readObject(key: string, extra: { Range?: string; PartNumber?: number } = {}): Promise<{ body: Buffer; range?: string; parts?: number; length?: number }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...extra }));
  return { body: await bodyBytes(r), range: r.ContentRange, parts: r.PartsCount, length: r.ContentLength };
}

/** Polls (up to 20 s) until the data-file count settles at `want` (the reaper deletes after a ~5 s grace). */
async function waitForFiles(want: number): Promise<number> {
  return (await waitForFileCounts(d.dataDir, (c) => c.data === want, 20_000)).data;
}

const P1 = testBytes(5 * MiB, 11);
const P2 = testBytes(5 * MiB + 17, 12);
const P3 = testBytes(MiB + 3, 13);

t.test('AbortMultipartUpload frees the parts\u2019 data files', async (t) => {
  const key = 'abort/obj';
  // First test of the file: nothing else has written or queued data files yet.
  const before = countFiles(d.dataDir).data;
  t.equal(before, 0);
  const id = await create(key);
  await uploadPart(key, id, 1, P1);
  await uploadPart(key, id, 2, P2);
  await uploadPart(key, id, 2, P1); // replaced part: its old file is freed too
  const during = countFiles(d.dataDir);
  t.equal(during.data, before + 3, 'three part files on disk (one replaced)');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id }));
  t.equal(await waitForFiles(before), before, 'every part file deleted after the reaper grace');
  t.equal(countFiles(d.dataDir).temp, 0, 'no temp files');
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  t.equal(listed.Uploads, undefined, 'the upload is gone from ListMultipartUploads');
});

t.test('Create, UploadPart, Complete: exact bytes and the multipart ETag', async (t) => {
  const key = 'whole/obj';
  const id = await create(key);
  const parts = [await uploadPart(key, id, 1, P1), await uploadPart(key, id, 2, P2), await uploadPart(key, id, 3, P3)];
  t.same(parts.map((p) => p.ETag), [P1, P2, P3].map((b) => `"${md5Hex(b)}"`), 'part ETags are the part MD5s');
  const etag = await complete(key, id, parts);
  t.equal(etag, multipartETag([P1, P2, P3]));
  t.equal(lastLocation, `http://127.0.0.1:${d.port}/${BUCKET}/whole/obj`, 'Location: the object\u2019s URL (path style, slashes kept)');
  const all = Buffer.concat([P1, P2, P3]);
  const got = await readObject(key);
  t.ok(got.body.equals(all), 'GET returns the concatenated parts');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  t.equal(head.ETag, etag);
  t.equal(head.ContentLength, all.length);

  t.equal(await s3Code(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 4, Body: 'x' }))), 'NoSuchUpload/404', 'UploadPart after Complete');
  t.equal(await complete(key, id, parts), etag, 'Complete repeated (a retry whose answer was lost): answered again with the same ETag, as on S3');
  t.equal(lastLocation, `http://127.0.0.1:${d.port}/${BUCKET}/whole/obj`, 'and the same Location');
  // Only the same list is a retry: any other is told the upload is gone, and changes nothing.
  t.equal(await s3Code(complete(key, id, parts.slice(0, 2))), 'NoSuchUpload/404', 'Complete again with fewer parts: NoSuchUpload, not the earlier object\'s 200');
  t.equal(await s3Code(complete(key, id, [parts[0]!, parts[1]!, { ...parts[2]!, ETag: `"${'0'.repeat(32)}"` }])), 'NoSuchUpload/404', 'with a wrong ETag: NoSuchUpload');
  t.equal(await s3Code(complete(key, id, [...parts, { PartNumber: 7, ETag: parts[0]!.ETag }])), 'NoSuchUpload/404', 'with a part never uploaded: NoSuchUpload');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag, etag, 'the object is still the one completed');
  // Once the key holds something else, the upload is simply gone.
  const other = 'again/obj';
  const id2 = await create(other);
  const one = [await uploadPart(other, id2, 1, P3)];
  await complete(other, id2, one);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: other, Body: 'overwritten' }));
  t.equal(await s3Code(complete(other, id2, one)), 'NoSuchUpload/404', 'Complete again after the key was overwritten: NoSuchUpload');
  // S3 answers an abort of a finished upload 204 (Swift's AWS-checked tests): a retried abort
  // whose answer was lost is not an error. The object stays.
  t.equal(await s3Code(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id }))), 'ok', 'Abort after Complete: 204');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag, etag, 'and the object is untouched');
  t.equal(await s3Code(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'other/key', UploadId: id }))), 'NoSuchUpload/404', 'the same id under another key: NoSuchUpload');
  t.equal(await s3Code(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }))), 'NoSuchUpload/404', 'ListParts after Complete');
});

t.test('a completed upload\'s Last-Modified is when it was initiated, as S3 documents', async (t) => {
  // "For multipart uploads, the object creation date is the date of initiation of the multipart
  // upload" (S3 User Guide); s3d gave the time of completion.
  const key = 'initiated/obj';
  const id = await create(key);
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
  const initiated = listed.Uploads?.find((u) => u.UploadId === id)?.Initiated;
  t.ok(initiated, 'ListMultipartUploads gives the Initiated time');
  await new Promise((r) => setTimeout(r, 1100));
  await complete(key, id, [await uploadPart(key, id, 1, P3)]);
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  t.equal(Math.floor(head.LastModified!.getTime() / 1000), Math.floor(initiated!.getTime() / 1000), 'HEAD Last-Modified is the Initiated second, not the completion\'s');
});

t.test('two Completes of one upload with different part lists at once: one wins, the other is told NoSuchUpload', async (t) => {
  for (let round = 0; round < 2; round++) {
    const key = `race/obj-${round}`;
    const id = await create(key);
    const parts = [await uploadPart(key, id, 1, P1), await uploadPart(key, id, 2, P3)];
    const lists = [parts, parts.slice(0, 1)];
    const outcomes = await Promise.all(lists.map((l) => complete(key, id, l).then((etag) => ({ etag }), (err: { name?: string }) => ({ error: err.name }))));
    const winners = outcomes.flatMap((o, i) => ('etag' in o ? [i] : []));
    t.equal(winners.length, 1, `round ${round}: exactly one Complete is acknowledged (${JSON.stringify(outcomes)})`);
    const loser = outcomes.find((o) => 'error' in o);
    t.same(loser, { error: 'NoSuchUpload' }, `round ${round}: the other gets NoSuchUpload`);
    const stored = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    const won = outcomes[winners[0]!] as { etag: string };
    t.equal(stored.ETag, won.etag, `round ${round}: the stored object is the acknowledged one`);
    t.equal(stored.ContentLength, lists[winners[0]!]!.length === 2 ? P1.length + P3.length : P1.length, `round ${round}: with its parts`);
  }
});

t.test('a GET of a many-part object opens its part files as it reaches them, and an overwrite meanwhile cannot take them', async (t) => {
  const key = 'many/obj';
  const files0 = new Set(dataFilePaths(d.dataDir));
  const id = await create(key);
  const bodies = [P1, P1, P2, P1, P2, P3];
  const parts: CompletedPart[] = [];
  for (const [i, b] of bodies.entries()) parts.push(await uploadPart(key, id, i + 1, b));
  await complete(key, id, parts);
  const partFiles = dataFilePaths(d.dataDir).filter((f) => !files0.has(f));
  t.equal(partFiles.length, bodies.length, 'one data file per part');
  const whole = Buffer.concat(bodies);
  // A canary: a one-file object overwritten with the big one, to see when the reaper has run.
  const files1 = new Set(dataFilePaths(d.dataDir));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'many/canary', Body: P3 }));
  const canary = dataFilePaths(d.dataDir).filter((f) => !files1.has(f));
  t.equal(canary.length, 1, 'the canary has one data file to watch');
  const present = (f: string): boolean => existsSync(f);
  const fds = (): number => readdirSync(`/proc/${d.proc.pid!}/fd`).length;
  const idle = fds();

  // A raw GET that reads its first MiB, then stops reading.
  const path = `/${BUCKET}/${key}`;
  const sock = connect(d.port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let got = 0;
  let ended = false;
  let paused = false;
  const firstMiB = new Promise<void>((resolve) => {
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= MiB && !paused) {
        paused = true;
        sock.pause();
        resolve();
      }
    });
  });
  sock.on('end', () => (ended = true));
  sock.on('error', () => (ended = true));
  const head = Object.entries(signedHeaders(d.port, { method: 'GET', path })).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  sock.write(`GET ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
  await firstMiB;
  const during = fds() - idle;
  t.ok(during <= 3, `while the GET of 6 parts waits: ${during} more descriptors (its connection and the part it is on), not one per part`);

  // Overwrite it (and the canary) while the reader waits, until the reaper has taken the canary's file.
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'many/canary', Body: 'x' }));
  await pollUntil(() => canary.some(present), (left) => !left, 20_000, 100);
  t.same(canary.filter(present), [], 'the reaper ran: the canary\'s old file is gone');
  t.same(partFiles.filter(present), partFiles, 'the part files the reader still needs are not');

  // The connection stays open (keep-alive): done when the whole body is in, or the server closed it.
  // The head is in the first MiB already read; counting bytes from there keeps this linear (a
  // concatenation of everything per data event made the read crawl at ~1 MB/s).
  const headLength = Buffer.concat(chunks).indexOf('\r\n\r\n') + 4;
  const allIn = (): boolean => ended || (headLength >= 4 && got - headLength >= whole.length);
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (!allIn()) return;
      sock.off('data', check);
      sock.off('close', check);
      resolve();
    };
    sock.on('data', check);
    sock.on('close', () => {
      ended = true;
      check();
    });
    sock.resume();
  });
  sock.destroy();
  const all = Buffer.concat(chunks);
  const bodyStart = all.indexOf('\r\n\r\n') + 4;
  t.match(all.subarray(0, 15).toString(), /^HTTP\/1\.1 200/, 'the GET was answered 200');
  t.ok(all.subarray(bodyStart).equals(whole), `the reader got all ${whole.length} bytes of the object it started on`);
  await pollUntil(() => partFiles.some(present), (left) => !left, 20_000, 100);
  t.same(partFiles.filter(present), [], 'after the read, the reaper deletes the overwritten parts');
});

t.test('GET/HEAD with partNumber and ranged GETs across part boundaries', async (t) => {
  const key = 'whole/obj';
  const all = Buffer.concat([P1, P2, P3]);
  const bounds = [0, P1.length, P1.length + P2.length, all.length];
  for (let n = 1; n <= 3; n++) {
    const got = await readObject(key, { PartNumber: n });
    t.ok(got.body.equals(all.subarray(bounds[n - 1], bounds[n])), `part ${n} bytes`);
    t.equal(got.range, `bytes ${bounds[n - 1]}-${bounds[n]! - 1}/${all.length}`);
    t.equal(got.parts, 3);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: n }));
    t.equal(head.ContentLength, bounds[n]! - bounds[n - 1]!);
    t.equal(head.PartsCount, 3);
  }
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 1, Range: 'bytes=0-9' }))), 'InvalidRequest/400', 'a Range with partNumber is refused, as on S3');

  const ranges: Array<[number, number]> = [
    [P1.length - 10, P1.length + 9],
    [P1.length - 1, P1.length],
    [1000, all.length - 1000],
    [bounds[2]! - 5, bounds[2]! + 5],
    [0, all.length - 1],
    [all.length - 1, all.length - 1],
  ];
  for (const [a, b] of ranges) {
    const got = await readObject(key, { Range: `bytes=${a}-${b}` });
    t.ok(got.body.equals(all.subarray(a, b + 1)), `bytes=${a}-${b}`);
    t.equal(got.range, `bytes ${a}-${b}/${all.length}`);
  }
  const suffix = await readObject(key, { Range: `bytes=-${P3.length + 100}` });
  t.ok(suffix.body.equals(all.subarray(all.length - P3.length - 100)), 'suffix range across the last boundary');
});

t.test(
  'GET/HEAD of a part number the object does not have: InvalidPartNumber',
  async (t) => {
    t.equal(await s3Code(readObject('whole/obj', { PartNumber: 4 })), 'InvalidPartNumber/416');
  },
);

t.test('partNumber counts the object\'s parts 1..PartsCount when the upload skipped numbers; bad numbers name themselves', async (t) => {
  // OpenStack Swift's AWS-checked tests (and CloudServer's): parts uploaded as 1 and 3 are read as
  // parts 1 and 2. s3d served "part 3" and refused part 2 while reporting 2 parts.
  const key = 'gaps/obj';
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const done: CompletedPart[] = [];
  for (const [n, body] of [[1, P1], [3, P3]] as const) {
    const r = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: n, Body: body }));
    done.push({ PartNumber: n, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  const first = await readObject(key, { PartNumber: 1 });
  t.ok(first.body.equals(P1), 'part 1: the first part');
  const second = await readObject(key, { PartNumber: 2 });
  t.ok(second.body.equals(P3), 'part 2: the second part (uploaded as 3)');
  t.equal(second.range, `bytes ${P1.length}-${P1.length + P3.length - 1}/${P1.length + P3.length}`, 'its Content-Range');
  t.equal(second.parts, 2, 'PartsCount 2');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, PartNumber: 2 }))).ContentLength, P3.length, 'HEAD part 2: its length');
  t.equal(await s3Code(readObject(key, { PartNumber: 3 })), 'InvalidPartNumber/416', 'part 3: past the count');
  for (const n of ['0', '10001', 'x']) {
    const r = await raw(d.port, { method: 'GET', path: `/${BUCKET}/${key}`, query: `partNumber=${n}` });
    t.same([r.status, xmlField(r.body, 'Code'), xmlField(r.body, 'ArgumentName'), xmlField(r.body, 'ArgumentValue')], [400, 'InvalidArgument', 'partNumber', n], `partNumber=${n}: InvalidArgument naming it`);
  }
  const both = await raw(d.port, { method: 'GET', path: `/${BUCKET}/${key}`, query: 'partNumber=0', headers: { range: 'bytes=1-2' } });
  t.same([both.status, xmlField(both.body, 'Code')], [400, 'InvalidRequest'], 'a Range with a bad partNumber: the clash is reported first, as on S3');
});

t.test('re-uploading a part replaces it; ListParts', async (t) => {
  const key = 'replace/obj';
  const id = await create(key);
  const first2 = testBytes(5 * MiB, 21);
  const second2 = testBytes(5 * MiB, 22);
  const p1 = await uploadPart(key, id, 1, P1);
  const old2 = await uploadPart(key, id, 2, first2);
  const p2 = await uploadPart(key, id, 2, second2);
  const p3 = await uploadPart(key, id, 3, Buffer.from('tail'));
  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }));
  t.same(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]), [
    [1, p1.ETag, P1.length],
    [2, p2.ETag, second2.length],
    [3, p3.ETag, 4],
  ]);
  t.equal(listed.IsTruncated, false);
  t.equal(listed.UploadId, id);
  const page1 = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id, MaxParts: 2 }));
  t.same(page1.Parts?.map((p) => p.PartNumber), [1, 2]);
  t.equal(page1.IsTruncated, true);
  t.equal(page1.NextPartNumberMarker, '2');
  const page2 = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id, MaxParts: 2, PartNumberMarker: page1.NextPartNumberMarker }));
  t.same(page2.Parts?.map((p) => p.PartNumber), [3]);
  t.equal(page2.IsTruncated, false);
  const past = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumberMarker: '10' }));
  t.same([past.Parts ?? [], past.PartNumberMarker, past.NextPartNumberMarker], [[], '10', '0'], 'an empty page: NextPartNumberMarker 0, as S3 answers');
  // A marker past the last part number there can be is echoed as sent, as S3 echoes it (s3d said 10000).
  for (const marker of ['10001', '2147483647']) {
    const beyond = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumberMarker: marker }));
    t.same([beyond.Parts ?? [], beyond.PartNumberMarker, beyond.NextPartNumberMarker, beyond.IsTruncated], [[], marker, '0', false], `part-number-marker=${marker}: an empty page, the marker as sent`);
  }

  t.equal(await s3Code(complete(key, id, [p1, old2, p3])), 'InvalidPart/400', 'the replaced ETag is no longer valid');
  const etag = await complete(key, id, [p1, p2, p3]);
  t.equal(etag, multipartETag([P1, second2, Buffer.from('tail')]));
  t.ok((await readObject(key)).body.equals(Buffer.concat([P1, second2, Buffer.from('tail')])));
});

t.test('UploadPart without Content-Length (nor Transfer-Encoding) is 411 MissingContentLength, as PutObject, and stores no part', async (t) => {
  const key = 'nolength/obj';
  const id = await create(key);
  const query = `partNumber=1&uploadId=${id}`;
  const answer = await tcpExchange(d.port, signedRequestText(d.port, { method: 'PUT', path: `/${BUCKET}/${key}`, query }), { untilResponse: true });
  const res = parseHttpResponse(answer.data);
  t.equal(res?.status, 411);
  t.equal(xmlField(res?.body ?? '', 'Code'), 'MissingContentLength');
  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }));
  t.same(listed.Parts ?? [], [], 'no empty part was stored');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id }));
});

t.test('CompleteMultipartUpload errors: InvalidPartOrder, InvalidPart, EntityTooSmall, NoSuchUpload, MalformedXML', async (t) => {
  const key = 'errors/obj';
  const id = await create(key);
  const small1 = testBytes(MiB, 31);
  const p1 = await uploadPart(key, id, 1, P1);
  const p2 = await uploadPart(key, id, 2, small1);
  const p3 = await uploadPart(key, id, 3, Buffer.from('end'));

  t.equal(await s3Code(complete(key, id, [p2, p1])), 'InvalidPartOrder/400', 'descending');
  t.equal(await s3Code(complete(key, id, [p1, p1])), 'InvalidPartOrder/400', 'repeated part number');
  t.equal(await s3Code(complete(key, id, [p1, { PartNumber: 2, ETag: `"${'0'.repeat(32)}"` }])), 'InvalidPart/400', 'wrong ETag');
  t.equal(await s3Code(complete(key, id, [p1, { PartNumber: 4, ETag: p3.ETag }])), 'InvalidPart/400', 'missing part');
  t.equal(await s3Code(complete(key, id, [p1, p2, p3])), 'EntityTooSmall/400', 'a 1 MiB part that is not last');
  // The elements S3 adds (LocalStack's recordings): the upload, the part, its ETag and sizes.
  const fieldsOf = async (p: Promise<unknown>): Promise<Record<string, unknown>> => {
    try {
      await p;
    } catch (err) {
      return err as Record<string, unknown>;
    }
    return {};
  };
  t.equal((await fieldsOf(complete(key, id, [p2, p1]))).UploadId, id, 'InvalidPartOrder names the upload');
  const badPart = await fieldsOf(complete(key, id, [p1, { PartNumber: 2, ETag: `"${'0'.repeat(32)}"` }]));
  t.same([badPart.ETag, badPart.PartNumber, badPart.UploadId], ['0'.repeat(32), '2', id], 'InvalidPart names the ETag (unquoted), the part and the upload');
  const small = await fieldsOf(complete(key, id, [p1, p2, p3]));
  t.same([small.ETag, small.PartNumber, small.ProposedSize, small.MinSizeAllowed], [p2.ETag!.replace(/"/g, ''), '2', String(MiB), '5242880'], 'EntityTooSmall names the part and the sizes');
  const bigNumber = await fieldsOf(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 10001, Body: 'x' })));
  t.same([bigNumber.ArgumentName, bigNumber.ArgumentValue], ['partNumber', '10001'], 'a part number out of range names partNumber');
  t.equal(await s3Code(complete(key, id, [p1], rawBodyClient(d, ''))), 'InvalidRequest/400', 'no body at all: InvalidRequest (You must specify at least one part)');
  for (const [name, body] of [
    ['not XML', 'this is not xml'],
    ['unclosed', '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'],
    ['no parts', '<CompleteMultipartUpload></CompleteMultipartUpload>'],
    ['wrong root', '<Foo><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Foo>'],
    ['part without number', '<CompleteMultipartUpload><Part><ETag>"abc"</ETag></Part></CompleteMultipartUpload>'],
  ] as const) {
    t.equal(await s3Code(complete(key, id, [p1], rawBodyClient(d, body))), 'MalformedXML/400', `MalformedXML: ${name}`);
  }
  t.equal(await s3Code(complete(key, 'no-such-upload-id', [p1])), 'NoSuchUpload/404', 'unknown upload id');
  t.equal(await s3Code(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'other/key', UploadId: id, MultipartUpload: { Parts: [p1] } }))), 'NoSuchUpload/404', 'upload id of another key');
  t.equal(await s3Code(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: 'nope', PartNumber: 1, Body: 'x' }))), 'NoSuchUpload/404', 'UploadPart to unknown id');
  t.equal(await s3Code(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 10001, Body: 'x' }))), 'InvalidArgument/400', 'part number 10001');

  // The failed completions left the upload intact: p1 + last part completes.
  const etag = await complete(key, id, [p1, p3]);
  t.equal(etag, multipartETag([P1, Buffer.from('end')]));
  t.ok((await readObject(key)).body.equals(Buffer.concat([P1, Buffer.from('end')])), 'a subset of parts');

  const aborted = await create(key);
  await uploadPart(key, aborted, 1, Buffer.from('x'));
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: aborted }));
  t.equal(await s3Code(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: aborted, PartNumber: 2, Body: 'x' }))), 'NoSuchUpload/404', 'UploadPart after Abort');
  t.equal(await s3Code(complete(key, aborted, [p1])), 'NoSuchUpload/404', 'Complete after Abort');
  t.equal(await s3Code(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: aborted }))), 'ok', 'Abort twice: 204, as S3 answers a retried abort');
  t.equal(await s3Code(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: aborted }))), 'NoSuchUpload/404', 'the upload stays gone');
  t.equal(await s3Code(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: 'unknown' }))), 'NoSuchUpload/404', 'Abort unknown id');
  t.ok((await readObject(key)).body.equals(Buffer.concat([P1, Buffer.from('end')])), 'the aborted upload left the object alone');
});

t.test('ListMultipartUploads: order, prefix, delimiter, key and upload-id markers, max-uploads', async (t) => {
  const bucket = await createBucket(s3, 'mpl');
  const made: Array<[string, string]> = [];
  for (const key of ['dir/a', 'dir/b', 'dir/sub/c', 'dir/sub/d', 'top', 'x', 'x', 'x', 'zz/1']) {
    made.push([key, await create(key, bucket)]);
  }
  const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.same(all.Uploads?.map((u) => [u.Key, u.UploadId]), made, 'key order, then initiation order');
  t.equal(all.IsTruncated, false);
  t.ok(all.Uploads![0]!.Initiated instanceof Date);

  const dir = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'dir/', Delimiter: '/' }));
  t.same(dir.Uploads?.map((u) => u.Key), ['dir/a', 'dir/b']);
  t.same(dir.CommonPrefixes?.map((p) => p.Prefix), ['dir/sub/']);
  t.equal(dir.Prefix, 'dir/');
  t.equal(dir.Delimiter, '/');

  const top = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Delimiter: '/' }));
  t.same(top.Uploads?.map((u) => u.Key), ['top', 'x', 'x', 'x']);
  t.same(top.CommonPrefixes?.map((p) => p.Prefix), ['dir/', 'zz/']);

  const afterKey = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: 'x' }));
  t.same(afterKey.Uploads?.map((u) => u.Key), ['zz/1'], 'key-marker alone skips every upload of that key');
  const afterId = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: 'x', UploadIdMarker: made[5]![1] }));
  t.same(afterId.Uploads?.map((u) => u.UploadId), [made[6]![1], made[7]![1], made[8]![1]], 'upload-id-marker: later uploads of the marker key');
  // As LocalStack recorded S3's answers: NextKeyMarker/NextUploadIdMarker are always there (the
  // last upload listed, "" when none was); an upload-id marker is ignored without a key marker,
  // and one that is no upload id, or an upload of another key, is 400 InvalidArgument.
  t.same([afterId.IsTruncated, afterId.NextKeyMarker, afterId.NextUploadIdMarker], [false, made[8]![0], made[8]![1]], 'an untruncated page names its last upload');
  const emptyPage = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'nothing-here/' }));
  t.same([emptyPage.NextKeyMarker, emptyPage.NextUploadIdMarker], ['', ''], 'an empty page: "" and ""');
  const idOnly = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, UploadIdMarker: made[5]![1] }));
  t.same([idOnly.UploadIdMarker, idOnly.Uploads?.length], ['', made.length], 'upload-id-marker without key-marker: ignored, echoed as ""');
  const otherKey = made.find(([k]) => k !== 'x')!;
  for (const [what, marker] of [['an upload of another key', otherKey[1]], ['no upload id', 'garbage']] as const) {
    const e = await expectSdkError(t, s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: 'x', UploadIdMarker: marker })), 'InvalidArgument', 400, `upload-id-marker ${what}`);
    t.equal((e as unknown as { ArgumentName?: string })?.ArgumentName, 'upload-id-marker', 'ArgumentName upload-id-marker');
  }

  // Paging with every max-uploads size visits every upload exactly once.
  for (const MaxUploads of [1, 2, 3, 4]) {
    const seen: Array<[string, string]> = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads, KeyMarker, UploadIdMarker }));
      t.ok((r.Uploads?.length ?? 0) <= MaxUploads);
      seen.push(...(r.Uploads ?? []).map((u): [string, string] => [u.Key!, u.UploadId!]));
      if (!r.IsTruncated) break;
      t.equal(r.NextKeyMarker, r.Uploads![r.Uploads!.length - 1]!.Key);
      t.equal(r.NextUploadIdMarker, r.Uploads![r.Uploads!.length - 1]!.UploadId);
      KeyMarker = r.NextKeyMarker;
      UploadIdMarker = r.NextUploadIdMarker;
    }
    t.same(seen, made, `max-uploads=${MaxUploads}`);
  }
  // With a delimiter: prefixes count towards max-uploads and are never listed twice.
  for (const MaxUploads of [1, 2, 3]) {
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (let i = 0; i < 20; i++) {
      const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Delimiter: '/', MaxUploads, KeyMarker, UploadIdMarker }));
      t.ok((r.Uploads?.length ?? 0) + (r.CommonPrefixes?.length ?? 0) <= MaxUploads);
      seen.push(...(r.Uploads ?? []).map((u) => `U:${u.UploadId}`), ...(r.CommonPrefixes ?? []).map((p) => `P:${p.Prefix}`));
      if (!r.IsTruncated) break;
      KeyMarker = r.NextKeyMarker;
      UploadIdMarker = r.NextUploadIdMarker;
      if (KeyMarker === undefined) {
        t.fail('truncated page without NextKeyMarker');
        break;
      }
    }
    t.same(
      seen.sort(),
      ['P:dir/', 'P:zz/', `U:${made[4]![1]}`, `U:${made[5]![1]}`, `U:${made[6]![1]}`, `U:${made[7]![1]}`].sort(),
      `delimiter, max-uploads=${MaxUploads}`,
    );
  }
  // max-uploads=0 and max-parts=0 list nothing and are not truncated (truncated with no next
  // marker would send a paging client round the same empty page forever).
  const none = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads: 0 }));
  t.same([none.Uploads ?? [], none.IsTruncated], [[], false], 'max-uploads=0: nothing, not truncated');
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: made[0]![0], UploadId: made[0]![1], PartNumber: 1, Body: 'p' }));
  const noParts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: made[0]![0], UploadId: made[0]![1], MaxParts: 0 }));
  t.same([noParts.Parts ?? [], noParts.IsTruncated], [[], false], 'max-parts=0: nothing, not truncated');
  // encoding-type=url: keys come back encoded, and the answer says so (clients decode only then).
  const encoded = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, EncodingType: 'url', Prefix: 'dir/sub/' }));
  t.equal(encoded.EncodingType, 'url', 'EncodingType is returned');
  t.same(encoded.Uploads?.map((u) => u.Key), ['dir/sub/c', 'dir/sub/d'], "keys are URL-encoded as S3 encodes them: '/' left as it is");
  t.equal(encoded.Prefix, 'dir/sub/', 'so is the prefix');
  const spaced = await create('dir/sub/a b+c', bucket);
  const plus = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, EncodingType: 'url', Prefix: 'dir/sub/a' }));
  t.same(plus.Uploads?.map((u) => u.Key), ['dir/sub/a+b%2Bc'], "a space is '+', a '+' is %2B");
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'dir/sub/a b+c', UploadId: spaced }));
  for (const [key, id] of made) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
});

t.test('ListMultipartUploads: aborting each page as it is listed (a stale-upload clean-up) reaches every upload', async (t) => {
  const bucket = await createBucket(s3, 'mpa');
  for (const key of ['k', 'k', 'k', 'k', 'k', 'l']) await create(key, bucket);
  let aborted = 0;
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (let i = 0; i < 20; i++) {
    const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, MaxUploads: 2, KeyMarker, UploadIdMarker }));
    for (const u of r.Uploads ?? []) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      aborted++;
    }
    if (!r.IsTruncated) break;
    // The marker upload is gone now: the next page must still start right after it.
    KeyMarker = r.NextKeyMarker;
    UploadIdMarker = r.NextUploadIdMarker;
  }
  t.equal(aborted, 6, 'every upload was listed once and aborted');
  t.same((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [], [], 'none is left');
  const empty = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.equal(empty.Uploads, undefined);
});

t.test('ListMultipartUploads reads what a page lists: many uploads under one prefix or of one key cost no more per page', async (t) => {
  // 200 uploads of one key under dir/, and a few elsewhere. A page of one common prefix used to read
  // every upload under it, and each page by upload-id marker every earlier upload of the key (a page
  // of one over 20,000 uploads held the daemon for minutes). Counted: s3d_upload_entries_read_total.
  // The bounds below are 4 to 10 records a page, so 200 shows that cost as well as 800 did (it was
  // 800: 600 more signed CreateMultipartUploads for the same proof).
  const bucket = await createBucket(s3, 'mpmany');
  const N = 200;
  const ids: string[] = [];
  for (let i = 0; i < N; i += 50) ids.push(...(await Promise.all(Array.from({ length: 50 }, () => create('dir/key', bucket)))));
  for (const key of ['a', 'dir2/x', 'z']) await create(key, bucket);
  const reads = async (): Promise<number> => metricSample(await scrape(d.endpoint), 's3d_upload_entries_read_total') ?? NaN;
  const page = async (input: Omit<ListMultipartUploadsCommandInput, 'Bucket'>): Promise<{ r: ListMultipartUploadsCommandOutput; read: number }> => {
    const before = await reads();
    const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, ...input }));
    return { r, read: (await reads()) - before };
  };
  const seen: string[] = [];
  let KeyMarker: string | undefined;
  let most = 0;
  for (let i = 0; i < 10; i++) {
    const { r, read } = await page({ Delimiter: '/', MaxUploads: 1, KeyMarker });
    most = Math.max(most, read);
    seen.push(...(r.Uploads ?? []).map((u) => u.Key!), ...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
  }
  t.same(seen, ['a', 'dir/', 'dir2/', 'z'], 'delimiter "/", one entry per page: every entry once');
  t.ok(most <= 6, `each page read at most a few upload records (most: ${most}), not the ${N} under dir/`);
  // Paging dir/key's uploads one at a time by upload-id marker.
  let UploadIdMarker: string | undefined;
  KeyMarker = 'dir/key';
  UploadIdMarker = ids.sort()[N - 3];
  const tail = await page({ Prefix: 'dir/', KeyMarker, UploadIdMarker, MaxUploads: 1 });
  t.equal(tail.r.Uploads?.length, 1, 'a page deep into one key\'s uploads');
  t.ok(tail.read <= 4, `reads only past its marker (${tail.read} records), not the ${N - 3} uploads before it`);
  const full = await page({ Delimiter: '/' });
  t.same((full.r.CommonPrefixes ?? []).map((p) => p.Prefix), ['dir/', 'dir2/'], 'a whole page with a delimiter');
  t.ok(full.read <= 10, `skips the uploads under a listed prefix (${full.read} records read)`);
});

t.test('ListMultipartUploads pages agree with a reference listing, for prefixes, delimiters and page sizes', async (t) => {
  // Keys over a small alphabet with "/" and "-" (a delimiter, common prefixes nested in others),
  // several uploads on some keys; every page walk must give the reference entries exactly once.
  const bucket = await createBucket(s3, 'mpref');
  const rnd = prng(41);
  const keys = Array.from({ length: 40 }, () => Array.from({ length: 1 + rnd.int(5) }, () => rnd.pick(['a', 'b', '/', '-'])).join(''));
  const uploads: Array<{ key: string; id: string }> = [];
  for (const key of keys) uploads.push({ key, id: await create(key, bucket) });
  const byKey = (a: { key: string; id: string }, b: { key: string; id: string }): number => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  uploads.sort(byKey);
  /** What S3 lists: uploads under the prefix, those whose key has the delimiter after it rolled into common prefixes. */
  const reference = (prefix: string, delimiter: string): string[] => {
    const out: string[] = [];
    for (const u of uploads) {
      if (!u.key.startsWith(prefix)) continue;
      const i = delimiter === '' ? -1 : u.key.indexOf(delimiter, prefix.length);
      const entry = i >= 0 ? `P:${u.key.slice(0, i + delimiter.length)}` : `U:${u.key}:${u.id}`;
      if (out[out.length - 1] !== entry) out.push(entry);
    }
    return out;
  };
  // The 150 walks' pages go hand-signed on one kept-alive connection (the SDK's parsing of this
  // response is not what is checked here; the tests above list through it).
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const enc = (v: string): string => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const blocks = (xml: string, name: string): string[] => [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1]!);
  let checked = 0;
  for (const prefix of ['', 'a', 'a/', 'b-', '/', 'zz']) {
    for (const delimiter of ['', '/', '-', 'a', 'b/']) {
      const want = reference(prefix, delimiter);
      for (const max of [1, 2, 3, 7, 1000]) {
        const got: string[] = [];
        let KeyMarker: string | undefined;
        let UploadIdMarker: string | undefined;
        for (let page = 0; page < 200; page++) {
          // The query in canonical order (delimiter, key-marker, max-uploads, prefix, upload-id-marker, uploads).
          const query = [
            ...(delimiter ? [`delimiter=${enc(delimiter)}`] : []),
            ...(KeyMarker !== undefined ? [`key-marker=${enc(KeyMarker)}`] : []),
            `max-uploads=${max}`,
            ...(prefix ? [`prefix=${enc(prefix)}`] : []),
            ...(UploadIdMarker !== undefined ? [`upload-id-marker=${enc(UploadIdMarker)}`] : []),
            'uploads=',
          ].join('&');
          const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query, agent });
          if (res.status !== 200) throw new Error(`ListMultipartUploads ${query}: ${res.status} ${res.body.toString()}`);
          const xml = res.body.toString();
          // Uploads and common prefixes of one page, merged in key order as S3 lists them.
          const entries = [
            ...blocks(xml, 'Upload').map((u) => ({ k: xmlField(u, 'Key')!, e: `U:${xmlField(u, 'Key')}:${xmlField(u, 'UploadId')}` })),
            ...blocks(xml, 'CommonPrefixes').map((c) => ({ k: xmlField(c, 'Prefix')!, e: `P:${xmlField(c, 'Prefix')}` })),
          ];
          entries.sort((a, b) => Buffer.compare(Buffer.from(a.k), Buffer.from(b.k)));
          got.push(...entries.map((x) => x.e));
          if (xmlField(xml, 'IsTruncated') !== 'true') break;
          KeyMarker = xmlField(xml, 'NextKeyMarker');
          UploadIdMarker = xmlField(xml, 'NextUploadIdMarker') || undefined;
        }
        checked++;
        if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, `prefix ${JSON.stringify(prefix)}, delimiter ${JSON.stringify(delimiter)}, max-uploads ${max}`);
      }
    }
  }
  t.pass(`${checked} page walks checked against the reference`);
});

t.test('UploadPartCopy with x-amz-copy-source-range', async (t) => {
  const src = testBytes(12 * MiB + 5, 41);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/src', Body: src }));
  const key = 'copy/dst';
  const id = await create(key);
  const copyPart = (n: number, range?: string): Promise<string> =>
    s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: n, CopySource: `${BUCKET}/copy/src`, CopySourceRange: range })).then((r) => r.CopyPartResult!.ETag!);
  const e1 = await copyPart(1, `bytes=${MiB}-${6 * MiB - 1}`);
  const e2 = await copyPart(2);
  const e3 = await copyPart(3, 'bytes=100-199');
  t.equal(e1, `"${md5Hex(src.subarray(MiB, 6 * MiB))}"`);
  t.equal(e3, `"${md5Hex(src.subarray(100, 200))}"`);
  t.equal(await s3Code(copyPart(4, `bytes=0-${src.length}`)), 'InvalidArgument/400', 'range past the end: InvalidArgument, as S3 answers');
  t.equal(await s3Code(copyPart(4, 'bytes=10-5')), 'InvalidArgument/400', 'range ending before it starts');
  t.equal(await s3Code(copyPart(4, 'bytes=10-')), 'InvalidArgument/400', 'open-ended range');
  // Also where the two positions differ only past the 53 bits of a double (they were rounded to
  // one number, read as a range starting past the source: InvalidRequest).
  for (const range of ['bytes=9007199254740993-9007199254740992', 'bytes=100000000000000000001-100000000000000000000']) {
    t.equal(await s3Code(copyPart(4, range)), 'InvalidArgument/400', `${range}: a range ending before it starts`);
  }
  // As LocalStack recorded S3's answers: a range starting past the source is InvalidRequest; the
  // InvalidArgument ones name the header and its value.
  t.equal(await s3Code(copyPart(4, `bytes=${src.length}-${src.length + 10}`)), 'InvalidRequest/400', 'range starting past the end: InvalidRequest');
  const past = await sdkFailure(copyPart(4, `bytes=0-${src.length}`));
  t.equal(past.message, `Range specified is not valid for source object of size: ${src.length}`);
  const e = await expectSdkError(t, copyPart(4, 'bytes=10-5'), 'InvalidArgument', 400, 'range ending before it starts');
  t.same([(e as unknown as Record<string, string>).ArgumentName, (e as unknown as Record<string, string>).ArgumentValue], ['x-amz-copy-source-range', 'bytes=10-5'], 'ArgumentName/ArgumentValue');
  t.equal(await s3Code(s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 4, CopySource: `${BUCKET}/copy/missing` }))), 'NoSuchKey/404');
  // A part has no metadata to copy or replace: S3 refuses the header (bji/libs3#80).
  for (const directive of ['REPLACE', 'COPY']) {
    const cmd = new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 4, CopySource: `${BUCKET}/copy/src` });
    const md = await expectSdkError(t, s3.send(withHeaders(cmd, { 'x-amz-metadata-directive': directive })), 'InvalidArgument', 400, `x-amz-metadata-directive: ${directive}`);
    t.same([(md as unknown as Record<string, string>).ArgumentName, (md as unknown as Record<string, string>).ArgumentValue], ['x-amz-metadata-directive', directive], 'the header named');
  }
  // Nor tags: S3 refuses x-amz-tagging on a part (boto3#2675). It was accepted and nothing done with it.
  for (const [name, value] of [['x-amz-tagging', 'a=b']]) {
    const cmd = new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 4, CopySource: `${BUCKET}/copy/src` });
    const err = await expectSdkError(t, s3.send(withHeaders(cmd, { [name!]: value! })), 'InvalidArgument', 400, `${name}: ${value}`);
    t.same([(err as unknown as Record<string, string>).ArgumentName, (err as unknown as Record<string, string>).ArgumentValue], [name, value], 'the header named');
  }
  // Nor a body for Content-MD5 to describe: S3 refuses the header (AWS.jl#695; aws-c-s3#173
  // stopped sending it). It was ignored and the part stored.
  for (const md5 of [createHash('md5').update('part').digest('base64')]) {
    const cmd = new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 4, CopySource: `${BUCKET}/copy/src` });
    const err = await expectSdkError(t, s3.send(withHeaders(cmd, { 'content-md5': md5 })), 'InvalidArgument', 400, `Content-MD5: ${md5}`);
    t.same([(err as unknown as Record<string, string>).ArgumentName, (err as unknown as Record<string, string>).ArgumentValue], ['Content-MD5', md5], 'the header named');
  }
  t.equal((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: id }))).Parts?.length, 3, 'no part 4 was stored');
  // The empty body's MD5 (S3 refuses it too) describes the request truly: accepted, as minio-java
  // sends it with every PUT without a body, its composeObject's UploadPartCopy requests included.
  const emptyMd5 = new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 5, CopySource: `${BUCKET}/copy/src` });
  t.ok((await s3.send(withHeaders(emptyMd5, { 'content-md5': '1B2M2Y8AsgTpgAmY7PhCfg==' }))).CopyPartResult?.ETag, "the empty body's MD5: part copied");
  // The tagging directive is taken and has no effect (a part has no tags): the AWS CRT's multipart
  // copy (aws-c-s3 aws_s3_upload_part_copy_message_new) forwards a CopyObject's headers to every
  // UploadPartCopy but the ones it strips, and x-amz-tagging-directive is not among them.
  for (const [n, directive] of [[6, 'REPLACE'], [7, 'COPY']] as const) {
    const cmd = new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: n, CopySource: `${BUCKET}/copy/src` });
    t.ok((await s3.send(withHeaders(cmd, { 'x-amz-tagging-directive': directive }))).CopyPartResult?.ETag, `x-amz-tagging-directive: ${directive}: part copied`);
  }
  const etag = await complete(key, id, [
    { PartNumber: 1, ETag: e1 },
    { PartNumber: 2, ETag: e2 },
    { PartNumber: 3, ETag: e3 },
  ]);
  const want = [src.subarray(MiB, 6 * MiB), src, src.subarray(100, 200)];
  t.equal(etag, multipartETag(want));
  t.ok((await readObject(key)).body.equals(Buffer.concat(want)), 'copied ranges in order');
});

t.test('@aws-sdk/lib-storage Upload of a ~20 MiB stream', async (t) => {
  const body = testBytes(20 * MiB + 123, 51);
  let offset = 0;
  const stream = new Readable({
    read() {
      // Odd-sized chunks so the SDK re-buffers into parts.
      const n = Math.min(777_777, body.length - offset);
      this.push(n === 0 ? null : body.subarray(offset, offset + n));
      offset += n;
    },
  });
  const up = new Upload({ client: s3, params: { Bucket: BUCKET, Key: 'lib/stream', Body: stream }, partSize: 5 * MiB, queueSize: 3 });
  const r = await up.done();
  const parts = [];
  for (let o = 0; o < body.length; o += 5 * MiB) parts.push(body.subarray(o, Math.min(body.length, o + 5 * MiB)));
  t.equal(parts.length, 5);
  t.equal(r.ETag, multipartETag(parts));
  const got = await readObject('lib/stream');
  t.ok(got.body.equals(body), 'GET returns the streamed bytes');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lib/stream' }));
  t.equal(head.ContentLength, body.length);
  t.equal(head.PartsCount, undefined, 'no PartsCount without partNumber, as on S3');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lib/stream', PartNumber: 1 }))).PartsCount, 5, 'five parts (HEAD with partNumber)');
  t.equal(got.parts, undefined, 'nor on a GET without partNumber');
});

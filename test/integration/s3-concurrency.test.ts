// Concurrent PUTs, copies and multipart completions on one key against the built daemon: the
// last commit wins whole, readers never see a torn or mixed body during the storm, racing
// completions of one upload commit once, an Abort losing to a Complete or another Abort is 204,
// a part uploaded again with its bytes during a Complete does not fail it, and afterwards
// exactly the live objects' data files remain (after the reaper's grace) with nothing left in
// .s3d/tmp.

import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { countFiles, filesContaining, objectsDir, waitForFileCounts, type FileCounts } from '../helpers/files.js';
import { md5Hex } from '../helpers/hash.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { pollUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t);
const s3 = d.s3();
const BUCKET = await createBucket(s3, 'conc');

/** Waits (up to 25 s) until `want` data files and no temp file remain (the reaper deletes ~5 s after a commit). */
function waitForFiles(want: number): Promise<FileCounts> {
  return waitForFileCounts(d.dataDir, (c) => c.data === want && c.temp === 0, 25_000);
}

interface Writer {
  name: string;
  body: Buffer;
  /** Data files the object has when this writer's commit is the live one. */
  files: number;
  run: () => Promise<void>;
}

const SIZE = 400_000; // above the 128 KiB inline threshold: every body is a data file
let seed = 1000;

/** A multipart body: parts of the given sizes (each ≥ 128 KiB, so one file per part). */
async function multipartWriter(name: string, sizes: number[]): Promise<Writer> {
  const parts = sizes.map((n) => testBytes(n, seed++));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'hot' }));
  const etags: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    etags.push((await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'hot', UploadId: up.UploadId, PartNumber: i + 1, Body: parts[i] }))).ETag!);
  }
  return {
    name,
    body: Buffer.concat(parts),
    files: parts.length,
    run: async () => {
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'hot', UploadId: up.UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }));
    },
  };
}

t.test('a storm of PUTs, copies and completions on one key: last commit wins whole, no torn reads, no leaked files', async (t) => {
  const initial = testBytes(SIZE, seed++);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: initial }));
  const candidates = new Map<string, string>([[md5Hex(initial), 'initial']]);
  const sources = 6;
  let liveSourceFiles = 0;
  const rounds = 3;
  let reads = 0;
  const torn: string[] = [];

  for (let round = 0; round < rounds; round++) {
    const writers: Writer[] = [];
    for (let i = 0; i < 6; i++) {
      const body = testBytes(SIZE + i, seed++);
      writers.push({ name: `put${round}.${i}`, body, files: 1, run: async () => void (await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: body }))) });
    }
    for (let i = 0; i < sources; i++) {
      const body = testBytes(SIZE + 100 + i, seed++);
      // Each round overwrites the copy sources too, so source files are replaced while copied.
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `src/${i}`, Body: body }));
      writers.push({ name: `copy${round}.${i}`, body, files: 1, run: async () => void (await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'hot', CopySource: `${BUCKET}/src/${i}` }))) });
    }
    liveSourceFiles = sources;
    for (let i = 0; i < 4; i++) writers.push(await multipartWriter(`mp${round}.${i}`, [SIZE + 200 + i]));
    writers.push(await multipartWriter(`mp${round}.big`, [5 * MiB, SIZE]));
    for (const w of writers) candidates.set(md5Hex(w.body), w.name);

    let storming = true;
    const readers = Array.from({ length: 4 }, async () => {
      while (storming) {
        const body = await getBytes(s3, { Bucket: BUCKET, Key: 'hot' });
        reads++;
        if (!candidates.has(md5Hex(body))) torn.push(`${body.length} bytes, md5 ${md5Hex(body)}`);
      }
    });
    // Shuffle the start order a little so completions race PUTs and copies.
    const order = writers.map((w, i) => ({ w, k: (i * 7919) % writers.length })).sort((a, b) => a.k - b.k).map((x) => x.w);
    await Promise.all(order.map((w) => w.run()));
    storming = false;
    await Promise.all(readers);

    const final = await getBytes(s3, { Bucket: BUCKET, Key: 'hot' });
    const winner = candidates.get(md5Hex(final));
    t.ok(winner !== undefined && writers.some((w) => w.name === winner), `round ${round}: the final object is one writer's whole body (${winner})`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'hot' }));
    t.equal(head.ContentLength, final.length, 'HEAD agrees with the body length');
  }
  t.same(torn, [], `no torn reads in ${reads} GETs during the storms`);
  t.ok(reads > 0);

  const after = testBytes(SIZE, seed++);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'hot', Body: after }));
  t.ok((await getBytes(s3, { Bucket: BUCKET, Key: 'hot' })).equals(after), 'a later PUT wins over every earlier commit');

  const want = liveSourceFiles + 1;
  const c = await waitForFiles(want);
  t.equal(c.data, want, `exactly the live objects' data files remain (${liveSourceFiles} sources + 1 for hot)`);
  t.equal(c.temp, 0, '.s3d/tmp is empty');
  for (let i = 0; i < sources; i++) t.ok((await getBytes(s3, { Bucket: BUCKET, Key: `src/${i}` })).length > 0, `src/${i} still reads`);
  t.ok((await getBytes(s3, { Bucket: BUCKET, Key: 'hot' })).equals(after), 'the live object still reads after the reaper ran');
});

t.test('racing completions of one upload commit once; the others are answered as that completion', async (t) => {
  const before = countFiles(d.dataDir).data;
  const parts = [testBytes(5 * MiB, seed++), testBytes(SIZE, seed++)];
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'race' }));
  const etags: string[] = [];
  for (let i = 0; i < 2; i++) etags.push((await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'race', UploadId: up.UploadId, PartNumber: i + 1, Body: parts[i] }))).ETag!);
  // Every racer completes with part 1 only, so the winner's commit queues part 2: its deletion
  // proves the reaper ran, and part 1 must survive it.
  const complete = { Bucket: BUCKET, Key: 'race', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etags[0] }] } };
  // One commits; the others find the upload gone and the key holding its object: as on S3 (a
  // repeated Complete), they get that completion's answer, the same ETag.
  const results = await Promise.all(Array.from({ length: 4 }, () => s3.send(new CompleteMultipartUploadCommand(complete)).then((r) => r.ETag, (e: Error) => e.name)));
  t.same(new Set(results).size, 1, `every racer gets the same answer: ${results.join(', ')}`);
  t.match(results[0], /^"[0-9a-f]{32}-1"$/, 'a multipart ETag of one part');
  const winner = parts[0]!;
  t.ok((await getBytes(s3, { Bucket: BUCKET, Key: 'race' })).equals(winner), 'the object is part 1');
  const want = before + 1;
  const c = await waitForFiles(want);
  t.equal(c.data, want, 'the unused part is freed, the used one kept');
  t.equal(c.temp, 0);
  t.ok((await getBytes(s3, { Bucket: BUCKET, Key: 'race' })).equals(winner), 'still reads after the reaper ran');
});

t.test('an Abort racing a Complete: one of them wins whole, and a losing Abort is answered 204 as after a Complete', async (t) => {
  const outcomes = new Map<string, number>();
  for (let round = 0; round < 12; round++) {
    const key = `abort-race-${round}`;
    const body = testBytes(200_000, seed++);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const etag = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: body }))).ETag!;
    const answer = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { name: string; $metadata?: { httpStatusCode?: number } }) => `${e.name}/${e.$metadata?.httpStatusCode}`);
    const complete = answer(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } })));
    // Half the rounds start the Abort a moment later, so that it finds the upload and then loses it.
    if (round % 2 === 1) await new Promise((r) => setImmediate(r));
    const abort = answer(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId })));
    const [c, a] = await Promise.all([complete, abort]);
    const exists = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(() => true, () => false);
    const outcome = `complete ${c}, abort ${a}`;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (exists) {
      t.equal(c, 'ok', `round ${round}: the object exists, so the Complete won`);
      t.ok((await getBytes(s3, { Bucket: BUCKET, Key: key })).equals(body), `round ${round}: with the part's bytes`);
    } else {
      t.equal(c, 'NoSuchUpload/404', `round ${round}: no object, so the Abort won and the Complete found no upload`);
    }
    t.equal(a, 'ok', `round ${round}: the Abort is answered 204 either way (${outcome})`);
  }
  t.comment(JSON.stringify([...outcomes]));
});

t.test('Aborts racing a Complete whose object is replaced at once, and Aborts racing each other: every losing Abort is 204', async (t) => {
  // The winner's commit is visible to other requests a moment before its own handler goes on: an
  // Abort in that moment found the upload gone, the key holding another object and the upload not
  // yet noted as finished, and was answered 404 NoSuchUpload.
  const refused: string[] = [];
  let completed = 0;
  for (let round = 0; round < 60; round++) {
    const key = `abort-storm-${round}`;
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const etag = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: testBytes(1000, seed++) }))).ETag!;
    const answer = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { name: string; $metadata?: { httpStatusCode?: number } }) => `${e.name}/${e.$metadata?.httpStatusCode}`);
    const abort = (): Promise<string> => answer(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId })));
    const later = <T>(f: () => Promise<T>): Promise<T> => new Promise((r) => setTimeout(r, 1)).then(f);
    let aborts: Array<Promise<string>>;
    if (round % 2 === 0) {
      const complete = answer(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } })));
      const put = later(() => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'replaced' })));
      aborts = Array.from({ length: 4 }, () => later(abort));
      if ((await complete) === 'ok') completed++;
      await put;
    } else {
      aborts = Array.from({ length: 6 }, abort);
    }
    for (const a of await Promise.all(aborts)) if (a !== 'ok') refused.push(`round ${round}: ${a}`);
  }
  t.ok(completed > 0, `some Completes won (${completed} of 30)`);
  t.same(refused, [], 'every Abort is 204, whether a Complete or another Abort finished the upload first');
});

t.test('a part uploaded again with the same bytes while the upload completes is still the part listed: the Complete succeeds', async (t) => {
  // The Complete read the parts, then found part 1 replaced in its commit and answered 400
  // InvalidPart, though the part held the very ETag (an MD5) it listed. An SSE-S3 upload with a
  // checksum holds the Complete between the two a little longer (its key and checksum), so the
  // race is met more often.
  const refused: string[] = [];
  const completed: Array<{ key: string; body: Buffer }> = [];
  for (let round = 0; round < 40; round++) {
    const key = `same-part-${round}`;
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }));
    const body = testBytes(200_000, seed++);
    const part = { Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: body };
    const etag = (await s3.send(new UploadPartCommand(part))).ETag!;
    const again = Array.from({ length: 6 }, (_, i) =>
      new Promise((r) => setTimeout(r, 2 * i)).then(() => s3.send(new UploadPartCommand(part)).then((r) => r.ETag, (e: Error) => e.name)),
    );
    await new Promise((r) => setTimeout(r, round % 8));
    const complete = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: etag }] } })).then(() => 'ok', (e: Error) => e.name);
    for (const a of await Promise.all(again)) if (a !== etag && a !== 'NoSuchUpload') refused.push(`round ${round}: UploadPart ${a}`);
    if (complete !== 'ok') {
      refused.push(`round ${round}: Complete ${complete}`);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId }));
    } else {
      completed.push({ key, body });
      if (!(await getBytes(s3, { Bucket: BUCKET, Key: key })).equals(body)) refused.push(`round ${round}: other bytes`);
    }
  }
  t.same(refused, [], 'every Complete succeeds with the part\u2019s bytes; every repeated UploadPart has the same ETag or finds the upload completed');
  // The replaced parts' files were queued for deletion: an object pointing at one reads until the
  // reaper comes. A file replaced after the last round, gone from disk, shows the reaper has been.
  const gone = testBytes(200_000, seed++);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'same-part-sentinel', Body: gone }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'same-part-sentinel', Body: 'replaced' }));
  const needle = gone.subarray(50_000, 50_064);
  await pollUntil(() => filesContaining(objectsDir(d.dataDir), needle).length, (n) => n === 0, 25_000, 250);
  t.same(filesContaining(objectsDir(d.dataDir), needle), [], 'the reaper ran after the last round');
  const unreadable: string[] = [];
  for (const c of completed) {
    const got = await getBytes(s3, { Bucket: BUCKET, Key: c.key }).catch((e: Error) => e.name);
    if (typeof got === 'string' || !got.equals(c.body)) unreadable.push(`${c.key}: ${typeof got === 'string' ? got : 'other bytes'}`);
  }
  t.same(unreadable, [], `every completed object (${completed.length}) still reads after the reaper ran`);
});

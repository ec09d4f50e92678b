// The largest legal request documents, against the built daemon, while a small request goes on
// and on beside them: a CompleteMultipartUpload of 10,000 Parts and a DeleteObjects of 1,000 keys
// written as character references (~6 MiB). fast-xml-parser parsed each in one synchronous stretch
// of ~100-400 ms, every other request waiting meanwhile; they are parsed on a thread of their own
// now (daemon/ops/xml-thread.ts), and give the same answers.

import t from 'tap';
import { request, Agent } from 'node:http';
import { CreateMultipartUploadCommand, GetBucketLifecycleConfigurationCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { errorCode, send, signedHeaders, xmlField, type RawResponse } from '../helpers/http.js';
import { createBucket, s3Code } from '../helpers/s3.js';
import type { S3Error } from '../../daemon/errors.js';
import { parseXml, toXml } from '../../daemon/ops/xml.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const BUCKET = await createBucket(s3, 'bigdoc');

/**
 * Runs `big` `times` times in a row while GET /minio/health/live goes out again and again on one
 * kept-alive connection (`together`: all at once); returns the answers, how many probes were
 * answered per second meanwhile and, first (unless `baseline` is false), for BASELINE_MS with
 * nothing else to do (`served`: whether the first is at least PROBE_SHARE of the second), and when each probe over
 * SLOW_PROBE_MS went out and came back (performance.now()). A probe in flight when the daemon's
 * event loop stalls waits out the stall.
 */
async function probedDuring<T>(times: number, big: () => Promise<T>, together = false, measureBaseline = true): Promise<{ results: T[]; perSecond: number; served: boolean; slowSpans: Array<[number, number]>; seen: string }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  let longest = 0;
  let probes = 0;
  const slowSpans: Array<[number, number]> = [];
  const probe = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: d.port, path: '/minio/health/live', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  await probe(); // the connection, opened before anything is measured
  const baselineStart = performance.now();
  let baselineProbes = 0;
  while (measureBaseline && performance.now() - baselineStart < BASELINE_MS) {
    await probe();
    baselineProbes++;
  }
  const baseline = measureBaseline ? (baselineProbes * 1000) / (performance.now() - baselineStart) : Number.NaN;
  const loop = (async () => {
    while (running) {
      const at = performance.now();
      await probe();
      const took = performance.now() - at;
      longest = Math.max(longest, took);
      if (took > Math.min(SLOW_PROBE_MS, LISTING_STALL_MS)) slowSpans.push([at, at + took]);
      probes++;
    }
  })();
  const results: T[] = [];
  let elapsed = 0;
  try {
    const start = performance.now();
    if (together) results.push(...(await Promise.all(Array.from({ length: times }, big))));
    else for (let i = 0; i < times; i++) results.push(await big());
    elapsed = performance.now() - start;
  } finally {
    running = false;
    await loop;
    agent.destroy();
  }
  const perSecond = (probes * 1000) / elapsed;
  const against = measureBaseline ? ` against ${baseline.toFixed(0)} before (${((100 * perSecond) / baseline).toFixed(0)} %)` : '';
  const seen = `${probes} probes in ${elapsed.toFixed(0)} ms, ${perSecond.toFixed(0)} a second${against}, ${slowSpans.filter(([from, to]) => to - from > SLOW_PROBE_MS).length} over ${SLOW_PROBE_MS} ms, the longest ${longest.toFixed(1)} ms`;
  return { results, perSecond, served: perSecond >= PROBE_SHARE * baseline, slowSpans, seen };
}

/** `send`, and when the answer's headers arrived (performance.now()). */
function sendTimed(o: Parameters<typeof send>[1] & { body: string }): Promise<RawResponse & { answeredAt: number }> {
  const headers = { ...signedHeaders(d.port, o), 'content-length': String(Buffer.byteLength(o.body)) };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, method: o.method, path: `${o.path}?${o.query ?? ''}`, headers, agent: false }, (res) => {
      const answeredAt = performance.now();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), answeredAt }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

// Other requests were served while the big requests ran: PROBES_PER_SECOND probes answered a
// second, or PROBE_SHARE of the rate measured for BASELINE_MS just before. While each request
// held the event loop for its whole parse (~100-400 ms) some 10-90 were answered a second (a few
// % of the thousands answered before on a quiet machine); parsed on its own thread, thousands on a
// quiet 2-core machine (49-103 % of the rate before), and 170-450 in CI runs on a 2-core VM far slower than usual, with four
// other test files running (a fixed 250 failed there twice; the share holds however slow the
// machine, the fixed rate however the load comes and goes). The longest probe is shown, not
// judged: a machine busy with other work stretches it too.
const PROBES_PER_SECOND = 150;
const BASELINE_MS = 300;
const PROBE_SHARE = 0.1;

// A probe that waited this long met a stall of the event loop (or of a busy machine: a few may).
const SLOW_PROBE_MS = 80;

// The listings' bound (their stalls were ~77-140 ms, their slices' ~20-60 ms on a loaded machine).
const LISTING_STALL_MS = 70;

t.test('a CompleteMultipartUpload of 10,000 Parts: parsed while other requests are served; its answer unchanged', async (t) => {
  const key = 'big-complete';
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: 'part one' }));
  const parts = [`<Part><PartNumber>1</PartNumber><ETag>${p1.ETag}</ETag></Part>`];
  for (let n = 2; n <= 10_000; n++) parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>"${n.toString(16).padStart(32, '0')}"</ETag></Part>`);
  const body = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</CompleteMultipartUpload>`;
  // Twice (four times before): each the same document and answer, and the probes' rate is that of
  // one (a stall a request), however many; the probes ran flat out all along, ~1 s of CPU a second.
  const { results, perSecond, served, seen } = await probedDuring(2, () => send(d.port, { method: 'POST', path: `/${BUCKET}/${key}`, query: `uploadId=${up.UploadId}`, body }));
  for (const r of results) {
    // Part 2 was never uploaded: S3's InvalidPart naming it, as before.
    t.same([r.status, errorCode(r.body), xmlField(r.body, 'PartNumber')], [400, 'InvalidPart', '2'], 'InvalidPart for the first part not stored');
  }
  t.ok(perSecond >= PROBES_PER_SECOND || served, `other requests were served meanwhile (${seen})`);
});

t.test('a DeleteObjects of 1,000 keys of character references (~6 MiB): parsed while other requests are served; the keys deleted', async (t) => {
  const keyOf = (i: number): string => String(i).padStart(4, '0') + '\u001f'.repeat(1020);
  const objects: string[] = [];
  for (let i = 0; i < 1000; i++) objects.push(`<Object><Key>${String(i).padStart(4, '0')}${'&#x1F;'.repeat(1020)}</Key></Object>`);
  // Quiet: the answer names no deleted key.
  const body = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${objects.join('')}</Delete>`;
  const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('base64');
  const del = (): ReturnType<typeof send> => send(d.port, { method: 'POST', path: `/${BUCKET}`, query: 'delete=', headers: { 'content-md5': md5 }, body });
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyOf(7), Body: 'x' }));
  // Twice (three times before), as the CompleteMultipartUpload above.
  const { results, perSecond, served, seen } = await probedDuring(2, del);
  for (const r of results) t.same([r.status, /<(Deleted|Error)>/.test(r.body.toString())], [200, false], 'deleted, quietly, with no error');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keyOf(7) }))), 'NotFound/404', 'the object of one of the keys is gone');
  t.ok(perSecond >= PROBES_PER_SECOND || served, `other requests were served meanwhile (${seen})`);
});

t.test('large documents that are not well-formed: the same MalformedXML as ever', async (t) => {
  // Larger than what is parsed inline, with a tag left open.
  const parts = Array.from({ length: 900 }, (_, i) => `<Object><Key>${String(i).padStart(100, 'k')}</Key></Object>`).join('');
  const body = `<Delete>${parts}<Object><Key>open</Object></Delete>`;
  const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('base64');
  const r = await send(d.port, { method: 'POST', path: `/${BUCKET}`, query: 'delete=', headers: { 'content-md5': md5 }, body });
  let inline: S3Error | undefined;
  try {
    parseXml(body, { trim: false });
  } catch (err) {
    inline = err as S3Error;
  }
  t.same([r.status, errorCode(r.body), xmlField(r.body, 'Message')], [400, 'MalformedXML', inline?.message.replace(/'/g, '&apos;')], 'MalformedXML, in the words of a parse on the event loop');
});

t.test('a DeleteObjects of 1,000 keys of control characters, not quiet: answered while other requests are served; the answer toXml wrote', async (t) => {
  const keyOf = (i: number): string => String(i).padStart(4, '0') + '\u001f'.repeat(1020);
  const objects: string[] = [];
  for (let i = 0; i < 999; i++) objects.push(`<Object><Key>${String(i).padStart(4, '0')}${'&#x1F;'.repeat(1020)}</Key></Object>`);
  // One error among them: an id that cannot be a version's.
  objects.push(`<Object><Key>${'&#x1F;'.repeat(10)}&amp;</Key><VersionId>not-a-version</VersionId></Object>`);
  const body = `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${objects.join('')}</Delete>`;
  const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('base64');
  const del = (): ReturnType<typeof sendTimed> => sendTimed({ method: 'POST', path: `/${BUCKET}`, query: 'delete=', headers: { 'content-md5': md5 }, body });
  // Each held the event loop ~110-140 ms writing its answer (toXml): the probe in flight as it
  // was answered waited that out, 5 in 5. Written a slice at a time, none needs to.
  // Judged by the stalls alone: no rate before is needed.
  const { results, slowSpans, seen } = await probedDuring(5, del, false, false);
  // The answer as fast-xml-parser's builder wrote it (toXml), byte for byte.
  const expected = toXml('DeleteResult', {
    Deleted: Array.from({ length: 999 }, (_, i) => ({ Key: keyOf(i) })),
    Error: [{ Key: '\u001f'.repeat(10) + '&', VersionId: 'not-a-version', Code: 'NoSuchVersion', Message: 'The specified version does not exist.' }],
  });
  for (const r of results) t.same([r.status, r.body.toString() === expected], [200, true], 'the DeleteResult toXml writes');
  // Judged at the moment each answer came, not over the whole run: a busy machine (CI runs four
  // test files and their daemons on two cores) stalls the daemon now and then, 3-10 probes over
  // 80 ms in a run, anywhere; a stall of the writing ends as its answer goes out, every time, and
  // with it the probe that waited (seen up to ~20 ms apart on a loaded machine).
  const stalledBy = results.map((r) => slowSpans.filter(([from, to]) => to - from > SLOW_PROBE_MS && Math.abs(to - r.answeredAt) <= 30).map(([from, to]) => to - from));
  const stalled = stalledBy.filter((spans) => spans.length > 0).length;
  const near = stalledBy.map((spans) => (spans.length > 0 ? `${Math.max(...spans).toFixed(0)} ms` : '-')).join(' ');
  t.ok(stalled <= 2, `no stall of the event loop while the answers were written: ${stalled} of 5 came with a probe over ${SLOW_PROBE_MS} ms (${near}; ${seen})`);
});

t.test('a PutBucketLifecycleConfiguration of 1,000 Rules (~1 MiB): parsed while other requests are served; the rules stored', async (t) => {
  const rules: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const tags = Array.from({ length: 8 }, (_, j) => `<Tag><Key>${`tag${j}-`.padEnd(16, 'k')}</Key><Value>${'v'.repeat(8)}</Value></Tag>`).join('');
    rules.push(
      `<Rule><ID>${String(i).padStart(100, 'r')}</ID><Filter><And><Prefix>${String(i).padStart(120, 'p')}/</Prefix>${tags}<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter>` +
        '<Status>Enabled</Status><Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>',
    );
  }
  const body = `<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules.join('')}</LifecycleConfiguration>`;
  const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('base64');
  const put = (): ReturnType<typeof send> => send(d.port, { method: 'PUT', path: `/${BUCKET}`, query: 'lifecycle=', headers: { 'content-md5': md5 }, body });
  // Four at once: one alone held the event loop ~70-170 ms, little more than the time between two.
  const { results, perSecond, served, seen } = await probedDuring(4, put, true);
  for (const r of results) t.equal(r.status, 200, 'stored');
  const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
  t.same([got.Rules?.length, got.Rules?.[999]?.ID, got.Rules?.[999]?.Filter?.And?.Tags?.length], [1000, '999'.padStart(100, 'r'), 8], 'GetBucketLifecycleConfiguration gives the 1,000 rules');
  t.ok(perSecond >= PROBES_PER_SECOND || served, `other requests were served meanwhile (${seen})`);
});

t.test('bucket configuration documents of up to 1 MiB (versioning, default encryption, CreateBucket): parsed while other requests are served', async (t) => {
  // The most each reads; a legal one is a few KiB, but the parse of 1 MiB of character references
  // held the event loop ~60-155 ms each, a CreateBucket's two parses (trimmed, then exact for
  // its Tags) longer: four at once, every other request waited out some 0.3-0.6 s.
  const refs = '&#1;'.repeat(16_000);
  const versioning = `<VersioningConfiguration><Status>Enabled</Status>${`<ExcludedPrefixes><Prefix>${refs}</Prefix></ExcludedPrefixes>`.repeat(16)}</VersioningConfiguration>`;
  const encryption = `<ServerSideEncryptionConfiguration>${`<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>${refs}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule>`.repeat(16)}</ServerSideEncryptionConfiguration>`;
  const create = `<CreateBucketConfiguration><Tags>${`<Tag><Key>${refs}</Key><Value>v</Value></Tag>`.repeat(16)}</Tags></CreateBucketConfiguration>`;
  const md5 = async (body: string): Promise<string> => (await import('node:crypto')).createHash('md5').update(body).digest('base64');
  const cases: Array<[string, string, string, string, number, string]> = [
    ['versioning', 'PUT', `/${BUCKET}`, 'versioning=', 501, versioning],
    ['encryption', 'PUT', `/${BUCKET}`, 'encryption=', 400, encryption],
    ['CreateBucket', 'PUT', '/bigdoc-tagged', '', 400, create],
  ];
  for (const [what, method, path, query, status, body] of cases) {
    const headers = { 'content-md5': await md5(body) };
    const { results, perSecond, served, seen } = await probedDuring(4, () => send(d.port, { method, path, query, headers, body }), true);
    for (const r of results) t.equal(r.status, status, `${what}: refused as before (${errorCode(r.body)})`);
    t.ok(perSecond >= PROBES_PER_SECOND || served, `${what}: other requests were served meanwhile (${seen})`);
  }
});

t.test('listings of 1,000 objects of 1 KiB keys and 2 KB of metadata (metadata=true, ~3.8 MB): written while other requests are served', async (t) => {
  const bucket = await createBucket(s3, 'bigmeta');
  const meta: Record<string, string> = {};
  for (let i = 0; i < 20; i++) meta[`x-amz-meta-m${i}`] = 'v'.repeat(90);
  const keyOf = (i: number): string => String(i).padStart(4, '0') + 'k'.repeat(1020);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < 1000) {
        const r = await send(d.port, { method: 'PUT', path: `/${bucket}/${keyOf(next++)}`, headers: meta, body: 'x' });
        if (r.status !== 200) throw new Error(`PutObject: ${r.status}`);
      }
    }),
  );
  for (const query of ['list-type=2&metadata=true', 'versions=&metadata=true']) {
    const list = (): ReturnType<typeof sendTimed> => sendTimed({ method: 'GET', path: `/${bucket}`, query, body: '' });
    // Each held the event loop ~85-140 ms building its answer (the metadata of 1,000 objects as
    // elements): the probe in flight as it was answered waited that out, 5 in 5. Written a slice
    // at a time, the longest such wait was ~20-40 ms. Judged as the DeleteResults above, at the
    // moment each answer came, against a bound of their own between the two.
    const { results, slowSpans, seen } = await probedDuring(5, list, false, false);
    for (const r of results) {
      t.equal(r.status, 200, `${query}: 200`);
      t.equal(r.body.toString().split(query.startsWith('versions') ? '<Version>' : '<Contents>').length - 1, 1000, `${query}: 1,000 entries`);
      t.match(r.body.toString(), `<Key>${keyOf(999)}</Key>`, `${query}: the last key`);
      t.match(r.body.toString(), `<X-Amz-Meta-M19>${'v'.repeat(90)}</X-Amz-Meta-M19>`, `${query}: the metadata`);
    }
    const stalledBy = results.map((r) => slowSpans.filter(([from, to]) => to - from > LISTING_STALL_MS && Math.abs(to - r.answeredAt) <= 30).map(([from, to]) => to - from));
    const stalled = stalledBy.filter((spans) => spans.length > 0).length;
    const near = stalledBy.map((spans) => (spans.length > 0 ? `${Math.max(...spans).toFixed(0)} ms` : '-')).join(' ');
    t.ok(stalled <= 2, `${query}: no stall of the event loop while the answers were written: ${stalled} of 5 came with a probe over ${LISTING_STALL_MS} ms (${near}; ${seen})`);
  }
});

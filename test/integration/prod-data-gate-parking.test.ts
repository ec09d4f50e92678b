// Requests whose clients are slow give their S3_DATA_REQUESTS_MAX places back (they are parked):
// a download waiting on its socket, an upload receiving too little. Stalled and slow transfers
// used to hold their places as long as their clients took, so a few of them made every other
// large request wait and then fail with SlowDown. What a parked transfer moves must arrive
// intact: a download resumes where its client is, an upload's MD5 and data cover every byte.
import t from 'tap';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { encodeKey, openPut, raw, signedRequestText } from '../helpers/http.js';
import { parseHttpResponse, responseLength } from '../helpers/tcp.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { bodyBytes, createBucket } from '../helpers/s3.js';
import { pollUntil, sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;

/**
 * A raw GET whose reader takes nothing until resume(), or (with `pauses`) pauses `pauseMs` after
 * every `every` bytes: the body when the response is complete (or what came before a cut).
 */
function heldGet(port: number, path: string, opts: { every?: number; pauseMs?: number } = {}): { resume(): void; done: Promise<{ status: number; body: Buffer; cut: boolean }> } {
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let got = 0;
  let want = -1;
  let nextPause = opts.every ?? Infinity;
  const done = new Promise<{ status: number; body: Buffer; cut: boolean }>((resolve) => {
    const finish = (cut: boolean): void => {
      sock.destroy();
      const data = Buffer.concat(chunks);
      const res = parseHttpResponse(data.subarray(0, data.indexOf('\r\n\r\n') + 4));
      resolve({ status: res?.status ?? 0, body: data.subarray(data.indexOf('\r\n\r\n') + 4), cut });
    };
    sock.on('connect', () => {
      sock.write(signedRequestText(port, { method: 'GET', path }));
      if (opts.every === undefined) sock.pause();
    });
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (want < 0) want = responseLength(Buffer.concat(chunks));
      if (want >= 0 && got >= want) return finish(false);
      if (got >= nextPause) {
        nextPause += opts.every!;
        sock.pause();
        setTimeout(() => sock.resume(), opts.pauseMs);
      }
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
  });
  return { resume: () => sock.resume(), done };
}

t.test('slow downloads give their places back while they wait on their clients', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '2', S3_DATA_REQUESTS_WAIT: '2s' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'parked');
  // Larger than what loopback's socket buffers absorb, so a reader that takes nothing blocks the response.
  const sse = testBytes(24 * MiB + 123, 31);
  const plain = testBytes(24 * MiB + 7, 32);
  // More parts than a GET opens up front (four): the later ones are opened as the read reaches them.
  const parts = Array.from({ length: 6 }, (_, i) => testBytes(5 * MiB + i * 1001, 33 + i));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse', Body: sse, ServerSideEncryption: 'AES256' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: plain }));
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ServerSideEncryption: 'AES256' }));
  const done = [];
  for (const [i, part] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: i + 1, Body: part }));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  const mp = Buffer.concat(parts);

  // Three readers that take nothing: more than the two places.
  const held = ['sse', 'plain', 'mp'].map((key) => heldGet(d.port, `/${bucket}/${encodeKey(key)}`));
  // Each parks once it has waited 1 s on its full socket (the readers must resume within 10 s).
  let m = await pollUntil(() => scrape(d.endpoint), (m) => metricSample(m, 's3d_data_requests_parked') === 3, 5000, 100);
  t.equal(metricSample(m, 's3d_data_requests_parked'), 3, 'the three stalled responses are parked');
  t.equal(metricSample(m, 's3d_data_requests_in_flight'), 0, 'and hold no place');
  // Other large requests go on meanwhile.
  const started = Date.now();
  const other = await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sse' })));
  t.ok(other.equals(sse), `another GET of a large object is served at once (${Date.now() - started} ms)`);
  const put = await raw(d.port, { method: 'PUT', path: `/${bucket}/during`, body: plain.subarray(0, 3 * MiB) });
  t.equal(put.status, 200, 'and so is a large PUT');
  m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_data_requests_refused_total'), 0, 'nothing was refused');

  // The stalled readers read on (well within the 10 s a client may take nothing) and get every byte.
  for (const h of held) h.resume();
  const [a, b, c] = await Promise.all(held.map((h) => h.done));
  t.ok(a!.status === 200 && !a!.cut && a!.body.equals(sse), `the SSE-S3 object arrives whole (${a!.status}, ${a!.body.length} bytes)`);
  t.ok(b!.status === 200 && !b!.cut && b!.body.equals(plain), `the plain object arrives whole (${b!.status}, ${b!.body.length} bytes)`);
  t.ok(c!.status === 200 && !c!.cut && c!.body.equals(mp), `the multipart object arrives whole (${c!.status}, ${c!.body.length} bytes)`);

  // Readers that stop again and again: each stop parks the response, each resumption restarts
  // its read where the client is, at offsets inside a package and in another part.
  const stuttering = ['sse', 'mp'].map((key) => heldGet(d.port, `/${bucket}/${encodeKey(key)}`, { every: 5 * MiB + 77_777, pauseMs: 1500 }));
  const [x, y] = await Promise.all(stuttering.map((h) => h.done));
  t.ok(x!.status === 200 && !x!.cut && x!.body.equals(sse), `a stuttering reader gets the SSE-S3 object whole (${x!.body.length} bytes)`);
  t.ok(y!.status === 200 && !y!.cut && y!.body.equals(mp), `and the multipart one (${y!.body.length} bytes)`);
  m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_data_requests_parked'), 0, 'nothing is parked at the end');
  t.equal(metricSample(m, 's3d_data_requests_in_flight'), 0, 'every place is free again');
});

t.test('slow and stalled uploads give their places back; what they send arrives intact', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_DATA_REQUESTS_MAX: '2', S3_DATA_REQUESTS_WAIT: '2s' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'parkedup');
  const md5 = (b: Buffer): string => `"${createHash('md5').update(b).digest('hex')}"`;
  // Stalled part-way through a batch (the write holds a partly filled slot), SSE-S3 (the sealer) and
  // plain (the write batch and the MD5 hasher).
  const stalled = [
    { key: 'stalled-sse', body: testBytes(3 * MiB + 4567, 41), headers: { 'x-amz-server-side-encryption': 'AES256' } },
    { key: 'stalled-plain', body: testBytes(3 * MiB + 89, 42), headers: {} as Record<string, string> },
  ].map((o) => ({ ...o, up: openPut(d.port, `/${bucket}/${o.key}`, o.body.length, { headers: o.headers }) }));
  const first = MiB + 300_001;
  for (const s of stalled) await s.up.write(s.body.subarray(0, first));
  let m = await pollUntil(() => scrape(d.endpoint), (m) => metricSample(m, 's3d_data_requests_parked') === 2, 6000, 100);
  t.equal(metricSample(m, 's3d_data_requests_parked'), 2, 'the two stalled uploads are parked');
  // A steady uploader at ~128 KiB/s (under the 256 KiB/s below which an upload is parked).
  const trickle = testBytes(MiB + 999, 43);
  const slow = openPut(d.port, `/${bucket}/trickle`, trickle.length, { headers: { 'x-amz-server-side-encryption': 'AES256' } });
  const trickling = (async () => {
    for (let p = 0; p < trickle.length; p += 32 * 1024) {
      await slow.write(trickle.subarray(p, Math.min(p + 32 * 1024, trickle.length)));
      await sleep(250);
    }
    slow.end();
  })();

  m = await pollUntil(() => scrape(d.endpoint), (m) => metricSample(m, 's3d_data_requests_parked') === 3, 6000, 100);
  t.equal(metricSample(m, 's3d_data_requests_parked'), 3, 'and the slow one too');
  t.equal(metricSample(m, 's3d_data_requests_in_flight'), 0, 'and hold no place');
  const big = testBytes(3 * MiB, 44);
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other', Body: big, ServerSideEncryption: 'AES256' }));
  t.equal(put.ETag, md5(big), 'another large upload is served meanwhile');
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'other' })))).equals(big), 'and read back');
  t.equal(metricSample(await scrape(d.endpoint), 's3d_data_requests_refused_total'), 0, 'nothing was refused');

  // The stalled uploads go on in pieces with pauses: each pause parks them again.
  const rest = async (s: (typeof stalled)[number]): Promise<void> => {
    const cuts = [first, 2 * MiB + 12_345, 2 * MiB + 700_000, s.body.length];
    for (let i = 1; i < cuts.length; i++) {
      await s.up.write(s.body.subarray(cuts[i - 1]!, cuts[i]!));
      if (i < cuts.length - 1) await sleep(2200);
    }
    s.up.end();
  };
  await Promise.all([...stalled.map(rest), trickling]);
  for (const s of stalled) {
    const r = await s.up.response;
    t.equal(r.status, 200, `${s.key}: 200`);
    t.equal(r.headers.etag, md5(s.body), `${s.key}: the ETag is the MD5 of every byte sent`);
    t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: s.key })))).equals(s.body), `${s.key}: reads back whole`);
  }
  const r = await slow.response;
  t.equal(r.status, 200, 'the slow upload: 200');
  t.equal(r.headers.etag, md5(trickle), 'its ETag is the MD5 of its body');
  t.ok((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'trickle' })))).equals(trickle), 'and it reads back whole');
  m = await scrape(d.endpoint);
  t.equal(metricSample(m, 's3d_data_requests_parked'), 0, 'nothing is parked at the end');
  t.equal(metricSample(m, 's3d_data_requests_in_flight'), 0, 'every place is free again');
});

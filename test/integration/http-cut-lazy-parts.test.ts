// A GET of a multipart object of more than four data files opens each part's file only when the read
// reaches it (ops/object.ts openFiles), after the status line and Content-Length went out. A part
// file lost meanwhile (removed under the record, say by an operator or a failing disk) must end the
// response cut short, never complete-looking: the client sees fewer bytes than announced, every byte
// it got is the object's, the access line and s3d_responses_cut_total say `failed`, and the daemon
// keeps no descriptor of it; the log says, as an error, that the object's data is missing.
// Driven for real: a client that reads the first bytes, pauses while the
// last part's file is removed, then reads on.

import t from 'tap';
import type { Test } from 'tap';
import { readdirSync, rmSync } from 'node:fs';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths } from '../helpers/files.js';
import { cutAwareGet, send, signedHeaders, type CutAwareGet } from '../helpers/http.js';
import { metricSample } from '../helpers/kes.js';
import { pollUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
/** Six parts: one more than ops/object.ts opens up front (OPEN_AHEAD_MAX, 4). */
const PARTS = [5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB, 300_000];

const d: TestDaemon = await startDaemon({ env: { S3_ACCESS_LOG: 'all' } });
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});
const bucket = `cutparts-${Date.now().toString(16)}`;
if ((await send(d.port, { method: 'PUT', path: `/${bucket}` })).status !== 200) throw new Error('CreateBucket failed');

/** Uploads a multipart object of PARTS; its bytes and each part's data file. */
async function putMultipart(key: string, sse: Record<string, string>): Promise<{ body: Buffer; files: string[] }> {
  const path = `/${bucket}/${key}`;
  const created = await send(d.port, { method: 'POST', path, query: 'uploads=', headers: sse });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body.toString())?.[1];
  if (uploadId === undefined) throw new Error(`CreateMultipartUpload: HTTP ${created.status}`);
  const q = `uploadId=${encodeURIComponent(uploadId)}`;
  const bodies = PARTS.map((n, i) => testBytes(n, 40 + i));
  const files: string[] = [];
  const etags: string[] = [];
  for (const [i, body] of bodies.entries()) {
    const before = new Set(dataFilePaths(d.dataDir));
    const r = await send(d.port, { method: 'PUT', path, query: `partNumber=${i + 1}&${q}`, body });
    if (r.status !== 200) throw new Error(`UploadPart ${i + 1}: HTTP ${r.status}`);
    etags.push(String(r.headers.etag));
    const file = dataFilePaths(d.dataDir).find((f) => !before.has(f));
    if (file === undefined) throw new Error(`UploadPart ${i + 1}: no data file`);
    files.push(file);
  }
  const xml = etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('');
  const done = await send(d.port, { method: 'POST', path, query: q, body: `<CompleteMultipartUpload>${xml}</CompleteMultipartUpload>` });
  if (done.status !== 200 || done.body.toString().includes('<Error>')) throw new Error(`CompleteMultipartUpload: HTTP ${done.status}`);
  return { body: Buffer.concat(bodies), files };
}

interface Got extends CutAwareGet {
  /** The Content-Length promised (NaN when no head arrived). */
  length: number;
}

/** A GET that reads its first bytes, then pauses while `meanwhile` runs, then reads to the end or the cut. */
async function pausedGet(key: string, meanwhile: () => void): Promise<Got> {
  const path = `/${bucket}/${key}`;
  const got = await cutAwareGet(d.port, {
    path,
    headers: signedHeaders(d.port, { method: 'GET', path }),
    timeoutMs: 30_000,
    onResponse: (res) =>
      res.once('data', () => {
        res.pause();
        // Long enough for the daemon to fill the socket and stop reading ahead.
        setTimeout(() => {
          meanwhile();
          res.resume();
        }, 500);
      }),
  });
  return { ...got, length: Number(got.headers['content-length']) };
}

const openDescriptors = (): number => readdirSync(`/proc/${d.proc.pid}/fd`).length;
const cutFailed = async (): Promise<number> => {
  const text = (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false })).body.toString();
  return metricSample(text, 's3d_responses_cut_total', { op: 'GetObject', reason: 'failed' }) ?? 0;
};

async function lostLastPart(t: Test, kind: string, sse: Record<string, string>): Promise<void> {
  const key = `lost-${kind}`;
  const { body, files } = await putMultipart(key, sse);
  // Warm up (every descriptor the pool and the read path keep for good), then count.
  const whole = await pausedGet(key, () => undefined);
  t.ok(whole.complete && whole.body.equals(body), `${kind}: the intact object reads whole`);
  const fds = openDescriptors();
  const cutBefore = await cutFailed();
  const g = await pausedGet(key, () => rmSync(files[files.length - 1]!));
  t.not(g.error, 'timeout: the GET hung', `${kind}: answered, did not hang`);
  t.equal(g.status, 200, `${kind}: the status line was out before the last part was reached`);
  t.equal(g.length, body.length, `${kind}: Content-Length announced the whole object`);
  t.equal(g.complete, false, `${kind}: cut short, not completed (${g.body.length} of ${body.length} bytes: ${g.error})`);
  const before = body.length - PARTS[PARTS.length - 1]!;
  t.ok(g.body.length <= before, `${kind}: nothing of the lost part (${g.body.length} ≤ ${before})`);
  t.ok(g.body.equals(body.subarray(0, g.body.length)), `${kind}: every byte sent is the object's`);
  const line = await pollUntil(() => d.jsonLogs().find((l) => l.msg === 'request' && l.key === key && l.cut !== undefined), (l) => l !== undefined, 5_000, 20);
  t.equal(line?.cut, 'failed', `${kind}: the access line says the response was cut`);
  t.equal(line?.status, 200, `${kind}: under the status that went out`);
  t.equal((await cutFailed()) - cutBefore, 1, `${kind}: s3d_responses_cut_total{reason="failed"} counts it`);
  // Data missing under its record is an error however far the response got: found before the
  // head (ops/object.ts openFiles), it is a 500 logged as an error; it was a warning here.
  const lost = d.jsonLogs().find((l) => l.key === key && typeof l.msg === 'string' && l.msg.includes('connection closed') && l.msg !== 'request');
  t.ok(lost !== undefined, `${kind}: a line names the object (${lost?.msg})`);
  t.equal(lost?.level, 50, `${kind}: logged as an error (pino level 50), not a warning`);
  t.match(lost?.msg, /data is missing/, `${kind}: it says the data is missing`);
  const settled = await pollUntil(openDescriptors, (n) => n <= fds, 5_000, 50);
  t.ok(settled <= fds, `${kind}: no descriptor left open (${settled}, ${fds} before)`);
}

t.test('a part file lost after the response began, SSE-S3: the response is cut', (t) => lostLastPart(t, 'SSE-S3', { 'x-amz-server-side-encryption': 'AES256' }));
t.test('a part file lost after the response began, unencrypted: the response is cut', (t) => lostLastPart(t, 'plain', {}));

t.test('the daemon still serves', async (t) => {
  t.equal(d.proc.exitCode, null, 'running');
  t.equal((await send(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2' })).status, 200, 'ListObjectsV2 answers');
});

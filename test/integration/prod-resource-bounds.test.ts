// Resource bounds under hostile or careless clients: request documents that list far more than S3
// allows are refused before they are parsed whole (a parse of a few MiB of XML holds the event
// loop, and so every other request, for a second or more), with S3's error, and the daemon's CPU
// and resident memory stay bounded. CPU is read from /proc (utime + stime of the daemon), not
// timed by the wall clock: the bounds hold on a loaded machine with a wide margin. A document of
// more elements and attributes than any legal one of its kind is refused the same way (parseXml's
// MAX_MARKUP, or the reader's own bound).

import t, { type Test } from 'tap';
import { CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { rssKiB, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { errorCode, send, type RawResponse } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';

let d: TestDaemon;
let bucket: string;

t.before(async () => {
  d = await startDaemon();
  bucket = await createBucket(d.s3(), 'bounds');
});
t.teardown(async () => {
  await d.stop('SIGKILL');
  d.cleanup();
});

/** CPU time (user + system, ms) the daemon has used so far. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10;
}

/** The daemon's open sockets (its listening socket, connections, any KMS or webhook client). */
function socketCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

function expectError(t: Test, r: RawResponse, status: number, code: string, what: string): void {
  t.equal(r.status, status, `${what}: HTTP ${status}`);
  t.equal(errorCode(r.body), code, `${what}: ${code}`);
}

t.test('CompleteMultipartUpload listing tens of thousands of parts is refused before the parse', async (t) => {
  const s3 = d.s3();
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'many-parts' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'many-parts', UploadId: up.UploadId, PartNumber: 1, Body: 'hello' }));
  const query = `uploadId=${encodeURIComponent(up.UploadId!)}`;
  const list = (n: number): string => `<CompleteMultipartUpload>${Array.from({ length: n }, (_, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>a</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const complete = (body: string): Promise<RawResponse> => send(d.port, { method: 'POST', path: `/${bucket}/many-parts`, query, body });

  // 10,000 parts is legal: read whole, part 2 is not there.
  expectError(t, await complete(list(10_000)), 400, 'InvalidPart', '10,000 parts (legal; part 2 never uploaded)');
  // 100,000 parts cannot fit the body limit: refused as it is read.
  expectError(t, await complete(list(100_000)), 400, 'EntityTooLarge', '100,000 parts (past the 4 MiB body limit)');

  // 70,000 parts fit in the 4 MiB the daemon reads (~4 MB): parsed whole, each took ~1 s of the
  // event loop's CPU and ~70 MiB of heap. Counted first, they cost a scan of the bytes.
  const body = list(70_000);
  t.ok(body.length < 4 * 1024 * 1024, `the document fits the body limit (${body.length} bytes)`);
  const pid = d.proc.pid!;
  const cpu0 = cpuMs(pid);
  const rss0 = rssKiB(pid);
  const answers = await Promise.all(Array.from({ length: 4 }, () => complete(body)));
  const cpu = cpuMs(pid) - cpu0;
  const grown = (rssKiB(pid) - rss0) / 1024;
  for (const r of answers) expectError(t, r, 400, 'MalformedXML', '70,000 parts');
  // Parsed: ≥ 4 s of CPU on this machine (more elsewhere); counted: ~0.1 s.
  t.ok(cpu < 1500, `four such requests took ${cpu} ms of the daemon's CPU (< 1500)`);
  t.ok(grown < 60, `resident memory grew ${grown.toFixed(0)} MiB (< 60)`);

  // The upload is still there and completes.
  const done = await complete(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part></CompleteMultipartUpload>`);
  t.equal(done.status, 200, 'the upload completes with its one part afterwards');
  t.equal(d.proc.exitCode, null, 'daemon still running');
});

t.test('PutBucketLifecycleConfiguration of tens of thousands of rules is refused before the parse', async (t) => {
  const put = (body: string): Promise<RawResponse> => send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'lifecycle=', body, headers: { 'content-md5': createHash('md5').update(body).digest('base64') } });
  const rules = (n: number): string => `<LifecycleConfiguration>${'<Rule><Status>Enabled</Status></Rule>'.repeat(n)}</LifecycleConfiguration>`;
  // ~28,000 Rules fit the 1 MiB read: parsed whole, ~0.3-0.7 s of the event loop's CPU each.
  const body = rules(28_000);
  t.ok(body.length < 1024 * 1024, `the document fits the body limit (${body.length} bytes)`);
  const pid = d.proc.pid!;
  const cpu0 = cpuMs(pid);
  const answers = await Promise.all(Array.from({ length: 6 }, () => put(body)));
  const cpu = cpuMs(pid) - cpu0;
  for (const r of answers) expectError(t, r, 400, 'MalformedXML', '28,000 rules');
  t.ok(cpu < 700, `six such requests took ${cpu} ms of the daemon's CPU (< 700)`);
  // 1000 rules are legal (each needs a filter and an action to be stored).
  const legal = `<LifecycleConfiguration>${Array.from({ length: 1000 }, (_, i) => `<Rule><ID>r${i}</ID><Filter><Prefix>p${i}/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`).join('')}</LifecycleConfiguration>`;
  t.equal((await put(legal)).status, 200, '1000 rules are stored');
  expectError(t, await put(legal.replace('</LifecycleConfiguration>', '<Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>')), 400, 'MalformedXML', '1001 rules');
});

t.test('documents of hundreds of thousands of elements are refused before the parse, by whoever may send them', async (t) => {
  const s3 = d.s3();
  const pid = d.proc.pid!;
  const empties = (n: number): string => '<a/>'.repeat(n);
  /** The daemon's CPU (ms) for `n` of the request at once, each answered 400 with `code`. */
  const cost = async (what: string, n: number, request: () => Promise<RawResponse>, code = 'MalformedXML'): Promise<number> => {
    const cpu0 = cpuMs(pid);
    const answers = await Promise.all(Array.from({ length: n }, request));
    const cpu = cpuMs(pid) - cpu0;
    for (const r of answers) expectError(t, r, 400, code, what);
    return cpu;
  };
  // Each was parsed whole (~3 µs of the event loop per element) before it was refused.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tagged', Body: 'x' }));
  const del = `<Delete><Object><Key>tagged</Key></Object>${empties(2_000_000)}</Delete>`;
  t.ok(del.length < 8 * 1024 * 1024, 'DeleteObjects: the document fits the 8 MiB read');
  const delCpu = await cost('DeleteObjects', 1, () => send(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete=', body: del }));
  t.ok(delCpu < 1000, `DeleteObjects of 2,000,000 elements took ${delCpu} ms of the daemon's CPU (< 1000; parsed: ~4,500)`);

  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'elements' }));
  const complete = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>${empties(1_000_000)}</CompleteMultipartUpload>`;
  t.ok(complete.length < 4 * 1024 * 1024, 'CompleteMultipartUpload: the document fits the 4 MiB read');
  const query = `uploadId=${encodeURIComponent(up.UploadId!)}`;
  const completeCpu = await cost('CompleteMultipartUpload', 1, () => send(d.port, { method: 'POST', path: `/${bucket}/elements`, query, body: complete }));
  t.ok(completeCpu < 400, `CompleteMultipartUpload of 1,000,000 elements took ${completeCpu} ms of the daemon's CPU (< 400; parsed: ~1,700)`);

  const versioning = `<VersioningConfiguration>${empties(260_000)}<Status>Enabled</Status></VersioningConfiguration>`;
  const versioningCpu = await cost('PutBucketVersioning', 4, () => send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'versioning=', body: versioning }));
  t.ok(versioningCpu < 500, `four PutBucketVersioning of 260,000 elements took ${versioningCpu} ms of the daemon's CPU (< 500; parsed: ~1,700)`);

  const tagging = `<Tagging><TagSet>${empties(16_000)}</TagSet></Tagging>`;
  const taggingCpu = await cost('PutObjectTagging', 30, () => send(d.port, { method: 'PUT', path: `/${bucket}/tagged`, query: 'tagging=', body: tagging }));
  t.ok(taggingCpu < 250, `thirty PutObjectTagging of 16,000 elements took ${taggingCpu} ms of the daemon's CPU (< 250; parsed: ~800)`);

  // The largest legal documents are still read: a Delete of 1,000 Objects with every field
  // (~6,000 elements), and a Complete of 10,000 Parts with every field (80,000; the seven checksums
  // are refused after the parse).
  const fields = '<VersionId>null</VersionId><ETag>"e"</ETag><LastModifiedTime>2020-01-01T00:00:00.000Z</LastModifiedTime><Size>1</Size>';
  const fullDelete = `<Delete><Quiet>true</Quiet>${Array.from({ length: 1000 }, (_, i) => `<Object><Key>k${i}</Key>${fields}</Object>`).join('')}</Delete>`;
  t.equal((await send(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete=', body: fullDelete })).status, 200, 'a Delete of 1,000 Objects with every field');
  const checksums = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'].map((a) => `<Checksum${a}>AAAAAA==</Checksum${a}>`).join('');
  const fullComplete = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${Array.from({ length: 10_000 }, (_, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>a</ETag>${checksums}</Part>`).join('')}</CompleteMultipartUpload>`;
  expectError(t, await send(d.port, { method: 'POST', path: `/${bucket}/elements`, query, body: fullComplete }), 400, 'InvalidArgument', 'a Complete of 10,000 Parts with every field (parsed)');
  t.equal(d.proc.exitCode, null, 'daemon still running');
});

t.test('slowloris: hundreds of connections that send part of a head and stall are timed out; others are served meanwhile', async (t) => {
  const pid = d.proc.pid!;
  const sockets0 = socketCount(pid);
  const rss0 = rssKiB(pid);
  const stalled: Socket[] = [];
  const closed = new Set<Socket>();
  for (let i = 0; i < 300; i++) {
    const s = connect(d.port, '127.0.0.1');
    s.on('error', () => {});
    s.on('close', () => closed.add(s));
    // A head without its blank line (half of them with a long header still being "typed").
    s.write(i % 2 === 0 ? `GET /${bucket}/x HTTP/1.1\r\nHost: a\r\n` : `PUT /${bucket}/x HTTP/1.1\r\nHost: a\r\nx-amz-meta-a: ${'v'.repeat(1000)}`);
    stalled.push(s);
  }
  t.teardown(() => stalled.forEach((s) => s.destroy()));
  await sleep(500);
  t.ok(socketCount(pid) >= sockets0 + 250, `the daemon holds the stalled connections (${socketCount(pid) - sockets0})`);
  const ok = await send(d.port, { method: 'PUT', path: `/${bucket}/meanwhile`, body: 'served' });
  t.equal(ok.status, 200, 'another client is served while they stall');
  t.equal((await send(d.port, { method: 'GET', path: `/${bucket}/meanwhile` })).body.toString(), 'served', 'and reads it back');
  // uWS's 10-second idle timeout closes each; 25 s is room for a loaded machine.
  const deadline = Date.now() + 25_000;
  while (Date.now() < deadline && closed.size < stalled.length) await sleep(250);
  t.equal(stalled.length - closed.size, 0, 'every stalled connection was closed by the daemon');
  t.ok(socketCount(pid) <= sockets0 + 2, `the daemon's sockets are back to ${socketCount(pid)} (was ${sockets0})`);
  const grown = (rssKiB(pid) - rss0) / 1024;
  t.ok(grown < 50, `resident memory grew ${grown.toFixed(0)} MiB (< 50)`);
  t.equal(d.proc.exitCode, null, 'daemon still running');
});

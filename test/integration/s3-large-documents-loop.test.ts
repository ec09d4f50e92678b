// The largest legal request documents, against the built daemon, while a small request goes on
// and on beside them: a CompleteMultipartUpload of 10,000 Parts and a DeleteObjects of 1,000 keys
// written as character references (~6 MiB). fast-xml-parser parsed each in one synchronous stretch
// of ~100-400 ms, every other request waiting meanwhile; they are parsed on a thread of their own
// now (daemon/ops/xml-thread.ts), and give the same answers.

import t from 'tap';
import { request, Agent } from 'node:http';
import { CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { errorCode, send, xmlField } from '../helpers/http.js';
import { createBucket, s3Code } from '../helpers/s3.js';
import type { S3Error } from '../../daemon/errors.js';
import { parseXml, toXml } from '../../daemon/ops/xml.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const BUCKET = await createBucket(s3, 'bigdoc');

/**
 * Runs `big` `times` times in a row while GET /minio/health/live goes out again and again on one
 * kept-alive connection; returns the answers and the longest any probe took (ms). A probe in
 * flight when the daemon's event loop stalls waits out the stall.
 */
async function probedDuring<T>(times: number, big: () => Promise<T>): Promise<{ results: T[]; longest: number; probes: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  let longest = 0;
  let probes = 0;
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
  const loop = (async () => {
    await probe(); // the connection, opened before anything is measured
    while (running) {
      const at = performance.now();
      await probe();
      longest = Math.max(longest, performance.now() - at);
      probes++;
    }
  })();
  const results: T[] = [];
  try {
    for (let i = 0; i < times; i++) results.push(await big());
  } finally {
    running = false;
    await loop;
    agent.destroy();
  }
  return { results, longest, probes };
}

// The bound on the longest probe: far below the parse's stretch (measured ~100-280 ms for the
// Complete, ~350-400 ms for the Delete, on a loaded 2-core machine), far above a probe's time.
const LONGEST_PROBE_MS = 80;

t.test('a CompleteMultipartUpload of 10,000 Parts: parsed while other requests are served; its answer unchanged', async (t) => {
  const key = 'big-complete';
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: 'part one' }));
  const parts = [`<Part><PartNumber>1</PartNumber><ETag>${p1.ETag}</ETag></Part>`];
  for (let n = 2; n <= 10_000; n++) parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>"${n.toString(16).padStart(32, '0')}"</ETag></Part>`);
  const body = `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('')}</CompleteMultipartUpload>`;
  const { results, longest, probes } = await probedDuring(4, () => send(d.port, { method: 'POST', path: `/${BUCKET}/${key}`, query: `uploadId=${up.UploadId}`, body }));
  for (const r of results) {
    // Part 2 was never uploaded: S3's InvalidPart naming it, as before.
    t.same([r.status, errorCode(r.body), xmlField(r.body, 'PartNumber')], [400, 'InvalidPart', '2'], 'InvalidPart for the first part not stored');
  }
  t.ok(longest < LONGEST_PROBE_MS, `no probe waited long (${probes} probes, the longest ${longest.toFixed(1)} ms)`);
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
  const { results, longest, probes } = await probedDuring(3, del);
  for (const r of results) t.same([r.status, /<(Deleted|Error)>/.test(r.body.toString())], [200, false], 'deleted, quietly, with no error');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keyOf(7) }))), 'NotFound/404', 'the object of one of the keys is gone');
  t.ok(longest < LONGEST_PROBE_MS, `no probe waited long (${probes} probes, the longest ${longest.toFixed(1)} ms)`);
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
  const del = (): ReturnType<typeof send> => send(d.port, { method: 'POST', path: `/${BUCKET}`, query: 'delete=', headers: { 'content-md5': md5 }, body });
  const { results, longest, probes } = await probedDuring(3, del);
  // The answer as fast-xml-parser's builder wrote it (toXml), byte for byte.
  const expected = toXml('DeleteResult', {
    Deleted: Array.from({ length: 999 }, (_, i) => ({ Key: keyOf(i) })),
    Error: [{ Key: '\u001f'.repeat(10) + '&', VersionId: 'not-a-version', Code: 'NoSuchVersion', Message: 'The specified version does not exist.' }],
  });
  for (const r of results) t.same([r.status, r.body.toString() === expected], [200, true], 'the DeleteResult toXml writes');
  t.ok(longest < LONGEST_PROBE_MS, `no probe waited long (${probes} probes, the longest ${longest.toFixed(1)} ms)`);
});

// A tampered object record (its sealed object key or sealed checksums do not open: the record was
// modified, or moved to another key) is refused with 500 XMinioObjectTampered, as damaged data is,
// and told apart the same way: counted in s3d_tampered_reads_total under the request's op, and an
// error-level log line names the object (once per object per 10 s). Against the real daemon, its
// store edited while it is stopped.

import t from 'tap';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectAttributesCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MetaStore } from '../../daemon/meta/store.js';
import { bucketName, s3Client, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { metricSample } from '../helpers/kes.js';
import { s3Code } from '../helpers/s3.js';

const bucket = bucketName('tamprec');
let d: TestDaemon = await startDaemon();
t.teardown(async () => {
  await d.stop('SIGKILL');
  d.cleanup();
});

const c = d.s3();
await c.send(new CreateBucketCommand({ Bucket: bucket }));
for (const Key of ['moved', 'donor', 'sums']) {
  await c.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `body of ${Key}`, ServerSideEncryption: 'AES256', ChecksumAlgorithm: 'CRC32' }));
}
if ((await d.stop()) !== 0) throw new Error('the daemon did not stop cleanly');
const m = new MetaStore(join(d.dataDir, '.s3d'));
try {
  // Another object's sealed object key in this one's record (edited): it does not open with this
  // object's key-encryption key. (A whole record moved fails at the KMS, an InternalError.)
  const donor = m.getObject(bucket, 'donor')!;
  await m.updateObject(bucket, 'moved', (r) => ({ ...r, sse: { ...r.sse!, sealedKey: donor.sse!.sealedKey, iv: donor.sse!.iv } }));
  // The donor's sealed checksums on another object: they do not open under its object key.
  await m.updateObject(bucket, 'sums', (r) => ({ ...r, sealedChecksums: donor.sealedChecksums! }));
} finally {
  await m.close();
}
d = await startDaemon({ dataDir: d.dataDir });
// One attempt: an SDK retries a 500, and each try is a read counted.
const s3 = s3Client(d.endpoint, d.caCert, true, { maxAttempts: 1 });

const metrics = async (): Promise<string> => (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster', sign: false })).body.toString();
const tampered = (text: string, op: string): number => metricSample(text, 's3d_tampered_reads_total', { op }) ?? 0;
const errorLine = (key: string) => (l: Record<string, unknown>): boolean => l.level === 50 && l.bucket === bucket && l.key === key;
const errorLines = (key: string): Array<Record<string, unknown>> => d.jsonLogs().filter(errorLine(key));

t.test('a sealed object key that does not open: XMinioObjectTampered, counted and logged as tampered data is', async (t) => {
  const before = await metrics();
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'moved' }))), 'XMinioObjectTampered/500', 'GET: refused');
  const after = await metrics();
  t.equal(tampered(after, 'GetObject') - tampered(before, 'GetObject'), 1, 's3d_tampered_reads_total{op="GetObject"} counts it');
  // The log is written asynchronously: the line may follow the response.
  await d.waitForLog(errorLine('moved'), 5_000);
  t.equal(errorLines('moved').length, 1, 'an error-level line names the object');
  for (let i = 0; i < 3; i++) await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'moved' })));
  t.equal(tampered(await metrics(), 'GetObject') - tampered(after, 'GetObject'), 3, 'each refusal is counted');
  t.equal(errorLines('moved').length, 1, 'logged once per 10 s');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'donor' }))), 'ok', 'the donor reads as before');
});

t.test('sealed checksums that do not open: XMinioObjectTampered, counted under the op that read them', async (t) => {
  const before = await metrics();
  const code = await s3Code(s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'sums', ObjectAttributes: ['Checksum'] })));
  t.equal(code, 'XMinioObjectTampered/500', 'GetObjectAttributes Checksum: refused');
  t.equal(tampered(await metrics(), 'GetObjectAttributes') - tampered(before, 'GetObjectAttributes'), 1, 's3d_tampered_reads_total{op="GetObjectAttributes"} counts it');
  // The log is written asynchronously: the line may follow the response.
  await d.waitForLog(errorLine('sums'), 5_000);
  t.equal(errorLines('sums').length, 1, 'an error-level line names the object');
});

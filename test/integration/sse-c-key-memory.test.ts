// The customer key of an SSE-C request is wiped from the daemon's memory once the request is
// done (its base64 text in the request's header strings is out of reach, its raw bytes are not):
// after the SSE-C operations, each with keys of its own (refused requests too), none of the raw
// 32-byte keys is found anywhere in the daemon process's writable memory (/proc/<pid>/mem).
import t from 'tap';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { bucketName, SECRET_KEY, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { bodyBytes, clientWithoutResponseChecksums } from '../helpers/s3.js';
import { ssec, ssecCopy } from '../helpers/sse.js';
import { md5Base64 } from '../helpers/hash.js';
import { postForm, signedForm, type Field } from '../helpers/post-object.js';

/** The labels of the `needles` that occur in the process's writable memory. */
function foundInMemory(pid: number, needles: Map<string, Buffer>): string[] {
  const found = new Set<string>();
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw/.exec(line);
      if (m === null) continue;
      const start = parseInt(m[1]!, 16);
      const end = parseInt(m[2]!, 16);
      // Overlapping windows, so that a key across a window's end is seen.
      for (let at = start; at < end; at += WINDOW - 32) {
        const len = Math.min(WINDOW, end - at);
        const buf = Buffer.alloc(len);
        let n = 0;
        try {
          n = readSync(fd, buf, 0, len, at);
        } catch {
          continue; // a guard page, or a mapping gone meanwhile
        }
        const view = buf.subarray(0, n);
        for (const [label, k] of needles) if (view.indexOf(k) >= 0) found.add(label);
        if (at + len >= end) break;
      }
    }
  } finally {
    closeSync(fd);
  }
  return [...found].sort();
}
const WINDOW = 64 << 20;

/** Whether this process may read the daemon's memory (a parent may, unless ptrace is locked down further). */
function memoryReadable(pid: number): boolean {
  try {
    closeSync(openSync(`/proc/${pid}/mem`, 'r'));
    return true;
  } catch {
    return false;
  }
}

t.test('SSE-C customer keys do not stay in the daemon memory after their requests', async (t) => {
  const d = await startDaemonFor(t, { tls: true });
  const s3 = clientWithoutResponseChecksums(d);
  const bucket = bucketName('ckmem');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = new Map<string, Buffer>();
  const k = (label: string): Buffer => {
    const key = randomBytes(32);
    keys.set(label, key);
    return key;
  };
  const small = Buffer.alloc(1000, 1);
  const large = testBytes(300_000, 2); // a data file of its own, sealed on the workers

  const put = k('PutObject');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: small, ...ssec(put) }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'large', Body: large, ...ssec(put) }));
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'large', ...ssec(put) })))).length, large.length, 'GET');
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'small', ...ssec(put) }));
  // A PUT refused after its key was parsed (a malformed tag set).
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'refused', Body: small, Tagging: 'a=b&a=c', ...ssec(k('PutObject refused')) })), 'a refused PUT');
  await t.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'large', ...ssec(k('GetObject wrong key')) })), 'a GET with the wrong key');

  const copied = k('CopyObject');
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/large`, ...ssecCopy(put), ...ssec(copied) }));
  // Key rotation in place: the old key copies, the new one seals the object key again.
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/copy`, ...ssecCopy(copied), ...ssec(k('CopyObject rotation')) }));

  const mp = k('multipart');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ...ssec(mp) }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: testBytes(5 << 20, 3), ...ssec(mp) }));
  const p2 = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 2, CopySource: `${bucket}/large`, ...ssecCopy(put), ...ssec(mp) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.CopyPartResult?.ETag }] }, ...ssec(mp) }));
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp', ...ssec(mp) })))).length, (5 << 20) + large.length, 'multipart GET');

  // Form uploads (POST Object): one stored, one refused after its key was parsed (an Object Lock
  // field in a bucket without Object Lock).
  const forms: Array<[string, Field[], number]> = [
    ['POST', [], 204],
    ['POST refused', [['x-amz-object-lock-mode', 'GOVERNANCE']], 400],
  ];
  for (const [label, extra, status] of forms) {
    const key = k(label);
    const fields: Field[] = [
      ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
      ['x-amz-server-side-encryption-customer-key', key.toString('base64')],
      ['x-amz-server-side-encryption-customer-key-MD5', md5Base64(key)],
      ...extra,
    ];
    const conditions = [{ key: label }, ...fields.map(([n]) => ['starts-with', `$${n}`, ''])];
    const res = await postForm(d, bucket, signedForm(bucket, label, fields, { conditions }, { data: small }));
    t.equal(res.status, status, `${label}: ${res.status}`);
  }

  const readable = memoryReadable(d.proc.pid!);
  const skip = readable ? {} : { skip: '/proc/<pid>/mem of the daemon is not readable here (ptrace restrictions)' };
  // A control the daemon holds for good (its root secret key, in its environment and its
  // configuration): a scan that read nothing (unreadable mappings, a maps format it does not
  // parse) would find no key either, and pass.
  const CONTROL = 'control: the root secret key';
  const found = readable ? foundInMemory(d.proc.pid!, new Map([...keys, [CONTROL, Buffer.from(SECRET_KEY)]])) : [CONTROL];
  t.ok(found.includes(CONTROL), 'the scan finds what the daemon holds', skip);
  t.same(found.filter((l) => l !== CONTROL), [], 'no customer key is left in the daemon memory', skip);
});

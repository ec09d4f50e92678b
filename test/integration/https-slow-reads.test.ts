// A slow but steady reader over TLS gets the whole body (found by a sweep): a GET of a 20 MB object
// read at 700 KB/s over HTTPS was cut after 14 s, with the client's buffers long empty. The
// response writer offered the socket the rest of a 1 MiB chunk from a timer, corked; uWS splits a
// corked write longer than its 16 KiB cork buffer into two SSL_writes, and OpenSSL, which had part
// of the earlier 1 MiB write pending, refused that retry (and every one after it) until the
// writer's stall rule closed the connection. Over plain HTTP the same reader was fine.
//
// Also: a fast reader over TLS gets every byte of plain, SSE-S3 and SSE-C objects (SSE-C needs
// TLS), and a reader that stops is still cut.
import t from 'tap';
import { CreateMultipartUploadCommand, CompleteMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { connect } from 'node:tls';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { encodeKey, signedRequestText } from '../helpers/http.js';
import { clientFor, createBucket } from '../helpers/s3.js';
import { readSlowly } from '../helpers/tcp.js';

const MiB = 1024 * 1024;

const d = await startDaemonFor(t, { tls: true, env: { S3_KMS_SECRET_KEY: `tls-slow:${Buffer.alloc(32, 3).toString('base64')}` } });
const s3 = clientFor(d);
const bucket = await createBucket(s3, 'tls-slow');

const customerKey = Buffer.alloc(32, 0x5a);
const ssec = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': customerKey.toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(customerKey).digest('base64'),
};

/** A raw GET over TLS read at `rate` bytes/s for `slowMs` (see readSlowly). */
function tlsGet(key: string, rate: number, slowMs: number, headers: Record<string, string> = {}): ReturnType<typeof readSlowly> {
  const sock = connect({ host: '127.0.0.1', port: d.port, ca: d.caCert, servername: 'localhost' });
  return readSlowly(sock, 'secureConnect', signedRequestText(d.port, { method: 'GET', path: `/${bucket}/${encodeKey(key)}`, headers }), rate, slowMs);
}

const plain = testBytes(12 * MiB + 777, 41);
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain', Body: plain }));
const sse = testBytes(5 * MiB + 1234, 43);
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sse-s3', Body: sse, ServerSideEncryption: 'AES256' }));
const customer = testBytes(3 * MiB + 99, 47);
await s3.send(new PutObjectCommand({
  Bucket: bucket, Key: 'sse-c', Body: customer,
  SSECustomerAlgorithm: 'AES256', SSECustomerKey: customerKey.toString('base64'), SSECustomerKeyMD5: ssec['x-amz-server-side-encryption-customer-key-md5'],
}));
// Two parts, so the body streams from two DARE streams with a short write between them.
const parts = [testBytes(5 * MiB + 1000, 51), testBytes(2 * MiB + 3, 53)];
const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multipart', ServerSideEncryption: 'AES256' }));
const etags = [];
for (const [i, part] of parts.entries()) {
  const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'multipart', UploadId: up.UploadId, PartNumber: i + 1, Body: part }));
  etags.push({ PartNumber: i + 1, ETag: r.ETag });
}
await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'multipart', UploadId: up.UploadId, MultipartUpload: { Parts: etags } }));

t.test('fast readers over TLS get every byte', async (t) => {
  const cases: Array<[string, Buffer, Record<string, string>]> = [
    ['plain', plain, {}],
    ['sse-s3', sse, {}],
    ['sse-c', customer, ssec],
    ['multipart', Buffer.concat(parts), {}],
  ];
  const got = await Promise.all(cases.map(([key, , headers]) => tlsGet(key, 1e12, 0, headers)));
  for (const [i, [key, body]] of cases.entries()) {
    t.equal(got[i]!.status, 200, `${key}: 200`);
    t.ok(got[i]!.body.equals(body), `${key}: all ${body.length} bytes, unchanged (${got[i]!.body.length})`);
  }
});

t.test('a slow but steady reader over TLS gets the whole body; one that stops reading is cut', async (t) => {
  // 12 MiB at 600 KB/s is ~21 s: well past the 14 s at which the first such reader was cut.
  const [steady, sseSteady, stopped] = await Promise.all([
    tlsGet('plain', 600_000, 30_000),
    tlsGet('sse-c', 150_000, 30_000, ssec),
    // It stops after its first MiB and would read on after 30 s: the server must have cut it by then
    // (no byte taken for 10 s, checked every 2 s, and over TLS up to ~16 s: docs/operations.md,
    // Known limitations). 18 s left too little room: one clean-clone CI run on 2 cores saw the cut
    // come later, the reader read on and got every byte.
    tlsGet('plain', 0, 30_000),
  ]);
  t.equal(steady.closedAfterMs, undefined, 'the server never closed the connection of the reader at 600 KB/s');
  t.ok(steady.body.equals(plain), `and it got all ${plain.length} bytes, unchanged (${steady.body.length})`);
  t.equal(sseSteady.closedAfterMs, undefined, 'nor that of an SSE-C reader at 150 KB/s');
  t.ok(sseSteady.body.equals(customer), `which got all ${customer.length} bytes, unchanged (${sseSteady.body.length})`);
  t.ok(stopped.body.length < plain.length, `the reader that stopped got ${stopped.body.length} bytes: cut, not finished`);
  // (The paused reader sees the close only when it reads on, at 30 s: closedAfterMs is no cut time.)
  t.ok(stopped.closedAfterMs !== undefined, 'by the server');
});

// minio-py's request shapes (its functional tests, which MinIO's mint runs), replayed as its
// source sends them (minio-py is not installed here; PyPI is out of reach): over https it signs
// UNSIGNED-PAYLOAD and sends Content-MD5 with every body; its compose_object (copy_object of a
// range) HEADs each source with the source's SSE-C key and then copies each range with
// UploadPartCopy, `x-amz-copy-source-if-match` the ETag from that HEAD without its quotes, the
// source's and the destination's SSE-C keys on every part and none on the completion; its
// CopySource conditions write the ETag bare too, and the dates as RFC 1123. S3 answers each the
// way checked here (AWS API reference: UploadPartCopy, CopyObject; minio-py's own test accepts
// only PreconditionFailed for the failed conditions).

import t from 'tap';
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { raw, xmlField, type RawResponse } from '../helpers/http.js';
import { ssecHeaders } from '../helpers/sse.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t, { tls: true });
const agent = new Agent({ ca: d.caCert, keepAlive: false });
t.teardown(() => agent.destroy());
const bucket = 'minio-py-functional';
const key = Buffer.from('AABBCCDDAABBCCDDAABBCCDDAABBCCDD');

/** A request as minio-py sends it over https: UNSIGNED-PAYLOAD, and Content-MD5 beside any body. */
function mpy(method: string, path: string, opts: { query?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<RawResponse> {
  const headers = { ...(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['content-md5'] = createHash('md5').update(opts.body).digest('base64');
  return raw(d.port, { method, path, agent, headers, ...(opts.query !== undefined ? { query: opts.query } : {}), ...(opts.body !== undefined ? { body: opts.body } : {}) });
}

const data = testBytes(6 * MiB + 1000, 7);
for (const [what, r] of [
  ['make_bucket', await mpy('PUT', `/${bucket}`)],
  ['put_object with SSE-C', await mpy('PUT', `/${bucket}/source`, { headers: { 'content-type': 'application/octet-stream', 'x-amz-meta-testing': 'value', ...ssecHeaders(key) }, body: data })],
] as const) {
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.body.toString()}`);
}

t.test('compose_object of an SSE-C source into an SSE-C object: bare ETag as if-match on each ranged UploadPartCopy', async (t) => {
  const stat = await mpy('HEAD', `/${bucket}/source`, { headers: ssecHeaders(key) });
  t.equal(stat.status, 200, 'stat_object with the key');
  t.equal(stat.headers['content-length'], String(data.length));
  const etag = String(stat.headers.etag).replace(/"/g, '');
  const init = await mpy('POST', `/${bucket}/composed`, { query: 'uploads=', headers: { 'content-type': 'application/octet-stream', ...ssecHeaders(key) } });
  t.equal(init.status, 200, 'CreateMultipartUpload with the destination key');
  const uploadId = xmlField(init.body, 'UploadId')!;
  const ranges = [`bytes=0-${5 * MiB - 1}`, `bytes=${5 * MiB}-${data.length - 1}`];
  const parts: string[] = [];
  for (const [i, range] of ranges.entries()) {
    const copied = await mpy('PUT', `/${bucket}/composed`, {
      query: `partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`,
      headers: {
        'x-amz-copy-source': `/${bucket}/source`,
        'x-amz-copy-source-if-match': etag,
        'x-amz-copy-source-range': range,
        ...ssecHeaders(key, 'x-amz-copy-source-server-side-encryption-customer-'),
        ...ssecHeaders(key),
      },
    });
    t.equal(copied.status, 200, `UploadPartCopy ${range}: ${copied.body.toString()}`);
    parts.push(xmlField(copied.body, 'ETag')!.replace(/&quot;|"/g, ''));
  }
  const stale = await mpy('PUT', `/${bucket}/composed`, {
    query: `partNumber=3&uploadId=${encodeURIComponent(uploadId)}`,
    headers: { 'x-amz-copy-source': `/${bucket}/source`, 'x-amz-copy-source-if-match': 'd41d8cd98f00b204e9800998ecf8427e', ...ssecHeaders(key, 'x-amz-copy-source-server-side-encryption-customer-'), ...ssecHeaders(key) },
  });
  t.equal(stale.status, 412, 'another bare ETag: 412');
  t.equal(xmlField(stale.body, 'Code'), 'PreconditionFailed');
  const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.map((p, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${p}"</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = await mpy('POST', `/${bucket}/composed`, { query: `uploadId=${encodeURIComponent(uploadId)}`, headers: { 'content-type': 'application/xml' }, body });
  t.equal(done.status, 200, `CompleteMultipartUpload without the key: ${done.body.toString()}`);
  const got = await mpy('GET', `/${bucket}/composed`, { headers: ssecHeaders(key) });
  t.equal(got.status, 200);
  t.ok(got.body.equals(data), 'the composed object reads back byte for byte');
  const tail = await mpy('GET', `/${bucket}/composed`, { headers: { ...ssecHeaders(key), range: `bytes=${data.length - 1000}-` } });
  t.equal(tail.status, 206, 'get_object with an offset and no length');
  t.ok(tail.body.equals(data.subarray(data.length - 1000)));
});

t.test('copy_object with CopySource conditions as minio-py writes them', async (t) => {
  const etag = String((await mpy('HEAD', `/${bucket}/source`, { headers: ssecHeaders(key) })).headers.etag).replace(/"/g, '');
  const copy = (conditions: Record<string, string>): Promise<RawResponse> =>
    mpy('PUT', `/${bucket}/copy`, { headers: { 'x-amz-copy-source': `/${bucket}/source`, ...ssecHeaders(key, 'x-amz-copy-source-server-side-encryption-customer-'), ...ssecHeaders(key), ...conditions } });
  const april2014 = 'Tue, 01 Apr 2014 00:00:00 GMT';
  t.equal((await copy({ 'x-amz-copy-source-if-match': etag })).status, 200, 'match_etag: the bare ETag');
  t.equal((await copy({ 'x-amz-copy-source-if-modified-since': april2014 })).status, 200, 'modified_since 2014');
  for (const [name, conditions] of [
    ['match_etag test-etag', { 'x-amz-copy-source-if-match': 'test-etag' }],
    ['not_match_etag: the bare ETag', { 'x-amz-copy-source-if-none-match': etag }],
    ['unmodified_since 2014', { 'x-amz-copy-source-if-unmodified-since': april2014 }],
  ] as const) {
    const r = await copy(conditions);
    t.equal(`${r.status} ${xmlField(r.body, 'Code')}`, '412 PreconditionFailed', name);
  }
  const stat = await mpy('HEAD', `/${bucket}/copy`, { headers: ssecHeaders(key) });
  t.equal(stat.headers['x-amz-meta-testing'], 'value', 'the copy keeps the metadata (COPY directive)');
});

// Data-lake clients' S3 requests, replayed as their sources build them (none of them can run here):
// - Rust object_store (Polars, DataFusion, delta-rs; src/aws/client.rs): CompleteMultipartUpload
//   signed first and `If-None-Match: *` added after, so unsigned (PutMode::Create over multipart,
//   and copy_if_not_exists=multipart: UploadPartCopy of `bucket/key`, no leading slash, into an
//   upload with x-amz-checksum-algorithm SHA256, the part's ChecksumSHA256 read from
//   CopyPartResult); DeleteObjects with Content-MD5 and x-amz-checksum-sha256 both, each <Error>
//   needing Key, Code and Message; queries form-encoded (a space as `+`) but signed as `%20`.
// - DuckDB httpfs (s3fs.cpp): its own SigV4 signer, `content-type: application/octet-stream`
//   signed on CreateMultipartUpload (`uploads=`), UploadPart and the completion, whose body holds
//   the parts' ETags with their quotes as raw `"`; globbing by ListObjectsV2 with
//   `encoding-type=url`, `delimiter=%2F`, hive partitions (`p=0/`) as CommonPrefixes, and the
//   continuation token sent back percent-encoded.
// - Arrow C++ / PyArrow S3FileSystem (s3fs.cc): directories as empty `dir/` objects; HEAD `dir`
//   404, HEAD `dir/` 200 of length 0, ListObjectsV2 `prefix=dir/&delimiter=/&max-keys=1` read by
//   KeyCount and CommonPrefixes; HeadBucket of a missing bucket 404 (not 403).
import t from 'tap';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { buildHeaders, raw, type RawOptions, type RawResponse } from '../helpers/http.js';

const MiB = 1024 * 1024;
const b64 = (alg: string, b: Buffer | string): string => createHash(alg).update(b).digest('base64');
const tag = (xml: Buffer, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml.toString())?.[1];
const allTags = (xml: Buffer, name: string): string[] => [...xml.toString().matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!);
const signed = { payloadHash: 'hash' } as const;

/** A signed request with `extra` headers added after signing, as object_store adds If-None-Match. */
function unsignedExtra(port: number, opts: RawOptions & { body: string }, extra: Record<string, string>): Promise<RawResponse> {
  const headers = { ...buildHeaders(port, opts), ...extra };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method, path: `${opts.path}?${opts.query}`, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

t.test('object_store: conditional multipart completion, copy-if-not-exists by multipart, bulk delete, form-encoded list', async (t) => {
  const d = await startDaemonFor(t);
  const p = d.port;
  t.equal((await raw(p, { method: 'PUT', path: '/os-lake', sign: signed })).status, 200);
  const src = testBytes(300 * 1024, 1);
  t.equal((await raw(p, { method: 'PUT', path: '/os-lake/a%20b/src.parquet', headers: { 'x-amz-checksum-sha256': b64('sha256', src) }, body: src, sign: signed })).status, 200);

  const copyCreate = async (to: string): Promise<RawResponse> => {
    const init = await raw(p, { method: 'POST', path: `/os-lake/${to}`, query: 'uploads=', headers: { 'x-amz-checksum-algorithm': 'SHA256', 'content-length': '0' }, sign: signed });
    const uploadId = encodeURIComponent(tag(init.body, 'UploadId')!);
    const part = await raw(p, { method: 'PUT', path: `/os-lake/${to}`, query: `partNumber=1&uploadId=${uploadId}`, headers: { 'x-amz-copy-source': 'os-lake/a%20b/src.parquet' }, sign: signed });
    t.equal(tag(part.body, 'ChecksumSHA256'), b64('sha256', src), 'CopyPartResult carries the part\'s ChecksumSHA256');
    // quick_xml writes the quotes of the ETag as &quot;, and no xmlns.
    const body = `<CompleteMultipartUpload><Part><ETag>${tag(part.body, 'ETag')}</ETag><PartNumber>1</PartNumber><ChecksumSHA256>${tag(part.body, 'ChecksumSHA256')}</ChecksumSHA256></Part></CompleteMultipartUpload>`;
    const done = await unsignedExtra(p, { method: 'POST', path: `/os-lake/${to}`, query: `uploadId=${uploadId}`, body, sign: signed }, { 'if-none-match': '*' });
    if (done.status !== 200) await raw(p, { method: 'DELETE', path: `/os-lake/${to}`, query: `uploadId=${uploadId}` });
    return done;
  };
  const first = await copyCreate('dst');
  t.equal(first.status, 200, 'completes onto a free key with an unsigned If-None-Match');
  t.match(tag(first.body, 'ETag'), /^&quot;[0-9a-f]{32}-1&quot;$/, 'CompleteMultipartUploadResult has its ETag');
  const second = await copyCreate('dst');
  t.equal(second.status, 412, 'the same onto the key it made: 412, which object_store reads as AlreadyExists');
  t.equal(tag(second.body, 'Code'), 'PreconditionFailed');
  t.same((await raw(p, { method: 'GET', path: '/os-lake/dst' })).body, src, 'the copy is the source');

  // list_with_offset: reqwest writes the space as `+`; the signature has it as `%20`.
  const listed = await raw(p, { method: 'GET', path: '/os-lake', query: 'list-type=2&prefix=a+b%2F&start-after=a+b%2Fa', sign: signed });
  t.equal(listed.status, 200, 'a form-encoded query signed canonically');
  t.same(allTags(listed.body, 'Key'), ['a b/src.parquet'], 'start-after and prefix read with `+` as a space');

  const del = '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>dst</Key></Object><Object><Key>never</Key></Object></Delete>';
  const deleted = await raw(p, { method: 'POST', path: '/os-lake', query: 'delete', headers: { 'content-md5': b64('md5', del), 'x-amz-checksum-sha256': b64('sha256', del), 'content-type': 'application/xml' }, body: del, sign: signed });
  t.equal(deleted.status, 200, 'DeleteObjects with Content-MD5 and x-amz-checksum-sha256');
  t.same(allTags(deleted.body, 'Key'), ['dst', 'never'], 'each key <Deleted>, a missing one too');
  t.notMatch(deleted.body.toString(), /<Error>/, 'no <Error> entries');
});

t.test('DuckDB httpfs: COPY TO by multipart, then a hive-partitioned glob', async (t) => {
  const d = await startDaemonFor(t);
  const p = d.port;
  const ct = { 'content-type': 'application/octet-stream' };
  await raw(p, { method: 'PUT', path: '/duck-lake', sign: signed });
  const key = '/duck-lake/out/data_0.parquet';
  const init = await raw(p, { method: 'POST', path: key, query: 'uploads=', headers: ct, body: '', sign: signed });
  t.equal(init.status, 200);
  const uploadId = encodeURIComponent(tag(init.body, 'UploadId')!);
  const parts = [testBytes(5 * MiB, 1), testBytes(1000, 2)];
  const etags: string[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await raw(p, { method: 'PUT', path: key, query: `partNumber=${i + 1}&uploadId=${uploadId}`, headers: ct, body: part, sign: signed });
    etags.push(r.headers.etag as string);
  }
  const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${etags.map((e, i) => `<Part><ETag>${e}</ETag><PartNumber>${i + 1}</PartNumber></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = await raw(p, { method: 'POST', path: key, query: `uploadId=${uploadId}`, headers: ct, body, sign: signed });
  t.equal(done.status, 200, 'completion with raw-quoted ETags and a signed octet-stream type');
  t.match(done.body.toString(), '<CompleteMultipartUploadResult', 'the answer DuckDB looks for');
  const ranged = await raw(p, { method: 'GET', path: key, headers: { range: `bytes=${5 * MiB}-${5 * MiB + 999}` }, sign: signed });
  t.equal(ranged.status, 206);
  t.equal(ranged.headers['content-range'], `bytes ${5 * MiB}-${5 * MiB + 999}/${5 * MiB + 1000}`);
  t.same(ranged.body, parts[1], 'a ranged read of the footer');

  for (let i = 0; i < 3; i++) await raw(p, { method: 'PUT', path: `/duck-lake/out/p%3D${i}/x%2By%20z.parquet`, headers: ct, body: 'x', sign: signed });
  const prefixes: string[] = [];
  let token = '';
  for (let n = 0; n < 5; n++) {
    // DuckDB sorts its parameters and percent-encodes each value (the token too) itself.
    const query = [token ? `continuation-token=${encodeURIComponent(token)}` : '', 'delimiter=%2F', 'encoding-type=url', 'list-type=2', 'max-keys=2', 'prefix=out%2F'].filter((s) => s !== '').join('&');
    const page = await raw(p, { method: 'GET', path: '/duck-lake', query, sign: signed });
    t.equal(page.status, 200);
    prefixes.push(...allTags(page.body, 'Prefix').filter((s) => s !== 'out/'));
    token = tag(page.body, 'NextContinuationToken') ?? '';
    if (token === '') break;
  }
  t.same(prefixes, ['out/p%3D0/', 'out/p%3D1/', 'out/p%3D2/'], 'every partition over the pages, URL-encoded');
  const inner = await raw(p, { method: 'GET', path: '/duck-lake', query: 'encoding-type=url&list-type=2&prefix=out%2Fp%3D1%2F', sign: signed });
  t.same(allTags(inner.body, 'Key'), ['out/p%3D1/x%2By+z.parquet'], 'a key as S3 encodes it: `+` as %2B, a space as +');
});

t.test('Arrow S3FileSystem: directory markers and bucket existence', async (t) => {
  const d = await startDaemonFor(t);
  const p = d.port;
  t.equal((await raw(p, { method: 'HEAD', path: '/arrow-lake', sign: signed })).status, 404, 'HeadBucket of a missing bucket: 404');
  await raw(p, { method: 'PUT', path: '/arrow-lake', sign: signed });
  t.equal((await raw(p, { method: 'PUT', path: '/arrow-lake/dir/', headers: { 'content-type': 'application/x-directory' }, body: '', sign: signed })).status, 200, 'CreateDir: an empty dir/ object');
  t.equal((await raw(p, { method: 'HEAD', path: '/arrow-lake/dir', sign: signed })).status, 404, 'HEAD of the name without its slash');
  const marker = await raw(p, { method: 'HEAD', path: '/arrow-lake/dir/', sign: signed });
  t.equal(marker.status, 200, 'HEAD of the marker');
  t.equal(marker.headers['content-length'], '0');
  t.equal(marker.headers['content-type'], 'application/x-directory');
  const probe = (prefix: string): Promise<RawResponse> => raw(p, { method: 'GET', path: '/arrow-lake', query: `delimiter=%2F&list-type=2&max-keys=1&prefix=${encodeURIComponent(prefix)}`, sign: signed });
  t.equal(tag((await probe('dir/')).body, 'KeyCount'), '1', 'the empty directory lists its marker');
  await raw(p, { method: 'PUT', path: '/arrow-lake/dir/sub/f.parquet', body: 'x', sign: signed });
  const nonEmpty = (await probe('dir/')).body;
  t.equal(tag(nonEmpty, 'KeyCount'), '1', 'max-keys=1 counts one entry');
  t.equal(tag(nonEmpty, 'IsTruncated'), 'true', 'and says there is more');
  t.equal(tag((await probe('nodir/')).body, 'KeyCount'), '0', 'a missing directory: KeyCount 0, no error');
});

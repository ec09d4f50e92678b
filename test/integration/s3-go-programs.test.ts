// Request shapes of Go programs that talk S3 (docs/clients.md), replayed as their source sends
// them (Go is not installed here): the Docker/OCI registry's s3-aws driver (distribution: a
// resumed blob upload that completes its upload, starts another without the KMS key id and copies
// the object back as part 1; moves by CopyObject and by ranged UploadPartCopy; a commit of no
// data; its reader past the end; directory stats; prefix deletes; its own Signature V2 signer),
// WAL-G (ListObjects V1 paging by NextMarker; its SDK v2 server-side copy with a wholly escaped
// copy source, versionId and x-amz-copy-source-if-match), minio-go as thanos-io/objstore drives
// it (SSE-KMS with an empty encryption context, its ListObjectsV2 query, a streaming-signed empty
// object sent chunked) and Velero's AWS plugin (a CRC32 multipart upload with tags and SSE-KMS,
// the presigned GET its CLI downloads, ObjectExists' NotFound); Loki's own client's default region.
// Bytes are compared whole.

import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemonFor, testBytes } from '../helpers/daemon.js';
import { buildHeaders, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { createBucket, expectS3Error, getBytes } from '../helpers/s3.js';
import { KMS_KEY_ID } from '../helpers/sse.js';
import { chunkStringToSign, deriveSigningKey, sha256Hex, signatureHex, STREAMING_SIGNED_PAYLOAD } from '../../daemon/auth/sigv4.js';

const MiB = 1024 * 1024;
const d = await startDaemonFor(t);
const s3 = d.s3();

/** The registry's writer options on every write (ACL, type, storage class, SSE-KMS with its key). */
const REGISTRY_PUT = { ContentType: 'application/octet-stream', ACL: 'private', StorageClass: 'STANDARD', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID } as const;

t.test('registry: a resumed upload, moves by copy and by ranged part copies, an empty commit', async (t) => {
  const bucket = await createBucket(s3, 'registry');
  const data = testBytes(11 * MiB + 123, 71);
  const key = 'docker/registry/v2/repositories/app/_uploads/u1/data';
  // First PATCH: one full chunk flushed, the rest on Close (a last part under 5 MiB).
  const first = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...REGISTRY_PUT }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: first.UploadId, PartNumber: 1, Body: data.subarray(0, 5 * MiB) }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: first.UploadId, PartNumber: 2, Body: data.subarray(5 * MiB, 6 * MiB) }));
  // Second PATCH: Writer(append) finds the upload by prefix and lists its parts ...
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  t.same(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [[key, first.UploadId]], 'the upload is found by its key as prefix');
  const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: first.UploadId }));
  t.same(parts.Parts?.map((p) => p.Size), [5 * MiB, MiB], 'its parts and sizes');
  // ... completes it (last part < 5 MiB), starts another (SSE without the key id: the driver
  // leaves it out there) and copies the object back as part 1, whole (no range).
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: first.UploadId, MultipartUpload: { Parts: parts.Parts!.map((p) => ({ ETag: p.ETag, PartNumber: p.PartNumber })) } }));
  const second = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream', ACL: 'private', StorageClass: 'STANDARD', ServerSideEncryption: 'aws:kms' }));
  const copied = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: second.UploadId, PartNumber: 1, CopySource: `${bucket}/${key}` }));
  const rest = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: second.UploadId, PartNumber: 2, Body: data.subarray(6 * MiB) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: second.UploadId, MultipartUpload: { Parts: [{ ETag: copied.CopyPartResult!.ETag, PartNumber: 1 }, { ETag: rest.ETag, PartNumber: 2 }] } }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: key })).equals(data), 'the resumed upload holds every byte');

  // Move above the multipart-copy threshold: ranged UploadPartCopy in parallel, then the delete.
  const blob = 'docker/registry/v2/blobs/sha256/ab/abcd/data';
  const move = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: blob, ...REGISTRY_PUT }));
  const chunk = 5 * MiB;
  const moved = await Promise.all(
    Array.from({ length: Math.ceil(data.length / chunk) }, async (_, i) => {
      const range = `bytes=${i * chunk}-${Math.min((i + 1) * chunk, data.length) - 1}`;
      const r = await s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: blob, UploadId: move.UploadId, PartNumber: i + 1, CopySource: `${bucket}/${key}`, CopySourceRange: range }));
      return { ETag: r.CopyPartResult!.ETag, PartNumber: i + 1 };
    }),
  );
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: blob, UploadId: move.UploadId, MultipartUpload: { Parts: moved } }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: blob })).equals(data), 'moved by ranged part copies');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: blob }))).ContentLength, data.length, 'Stat (HEAD) has the size');
  // Below the threshold: one CopyObject carrying the write options (no metadata directive).
  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'docker/registry/v2/blobs/sha256/cd/cdef/data', CopySource: `${bucket}/${blob}`, ...REGISTRY_PUT }));
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'docker/registry/v2/blobs/sha256/cd/cdef/data' })).equals(data), 'moved by CopyObject');

  // Reader(offset) at the end is InvalidRange, which the driver reads as an empty stream.
  await expectS3Error(t, getBytes(s3, { Bucket: bucket, Key: blob, Range: `bytes=${data.length}-` }), 'InvalidRange', 416, 'Range from the size on');
  // Commit with nothing written: an empty part 1, then the completion.
  const empty = 'docker/registry/v2/repositories/app/_uploads/u2/data';
  const none = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: empty, ...REGISTRY_PUT }));
  const zero = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: empty, UploadId: none.UploadId, PartNumber: 1, Body: Buffer.alloc(0) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: empty, UploadId: none.UploadId, MultipartUpload: { Parts: [{ ETag: zero.ETag, PartNumber: 1 }] } }));
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: empty }))).ContentLength, 0, 'an empty commit is a 0-byte object');
  await expectS3Error(t, getBytes(s3, { Bucket: bucket, Key: empty, Range: 'bytes=0-' }), 'InvalidRange', 416, 'Reader(0) of the empty object');

  // Stat of a directory: HEAD is 404 (NotFound), then ListObjectsV2 with MaxKeys 1 finds a child.
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'docker/registry/v2/repositories/app' })), 'NotFound', 404, 'HEAD of a directory');
  const child = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'docker/registry/v2/repositories/app', MaxKeys: 1 }));
  t.equal(child.Contents?.length, 1, 'its first child is listed');
  // Walk from the root: ListObjectsV2 with an empty start-after.
  const walk = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&max-keys=1000&prefix=&start-after=' });
  t.equal(xmlField(walk.body, 'KeyCount'), '4', 'an empty start-after lists from the start');
  // With a rootdirectory it sends `start-after=<root>` beside `prefix=<root>/<path>/`: a marker
  // that sorts before the prefix excludes nothing (SeaweedFS listed nothing, seaweedfs#11321).
  const rooted = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&max-keys=1000&prefix=docker%2Fregistry%2Fv2%2Frepositories%2F&start-after=docker' });
  t.equal(xmlField(rooted.body, 'KeyCount'), '2', 'start-after the root directory lists the whole path');
});

t.test('registry: Delete pages by StartAfter and deletes with Quiet false', async (t) => {
  const bucket = await createBucket(s3, 'regdel');
  const prefix = 'docker/registry/v2/repositories/app/_uploads/u3';
  const keys = [`${prefix}/data`, `${prefix}/hashstates/sha256/0`, `${prefix}/startedat`, `${prefix}x/other`];
  for (const k of keys) await raw(d.port, { method: 'PUT', path: `/${bucket}/${k}`, body: 'x' });
  let startAfter = '';
  const deleted: string[] = [];
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 2, ...(startAfter ? { StartAfter: startAfter } : {}) }));
    // Keys that only share the prefix (".../u3x/...") are skipped, as the driver skips them.
    const own = page.Contents!.map((c) => c.Key!).filter((k) => k.length === prefix.length || k[prefix.length] === '/');
    const xml = `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${own.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}<Quiet>false</Quiet></Delete>`;
    if (own.length > 0) {
      const res = await raw(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete=', headers: { 'content-md5': createHash('md5').update(xml).digest('base64') }, body: xml });
      deleted.push(...[...res.body.toString().matchAll(/<Deleted><Key>([^<]*)<\/Key>/g)].map((m) => m[1]!));
    }
    startAfter = page.Contents!.at(-1)!.Key!;
    if (!page.IsTruncated) break;
  }
  t.same(deleted, keys.slice(0, 3), 'every key under the path is reported deleted');
  t.same((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((c) => c.Key), [`${prefix}x/other`], 'the neighbour is kept');
});

/**
 * distribution's Signature V2 signer (s3_v2_signer.go, `v4auth: false`): a lower-case `date`
 * in Go's RFC 1123 with the zone `UTC`, every x-amz-* header, and its own sub-resource list
 * with values as decoded.
 */
function registryV2(method: string, path: string, query: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  const SIGNED = new Set(['partNumber', 'uploadId', 'uploads', 'delete', 'versionId', 'versions', 'location', 'acl']);
  const h: Record<string, string> = { ...headers, date: new Date().toUTCString().replace('GMT', 'UTC') };
  const amz = Object.keys(h).filter((k) => k.startsWith('x-amz-')).sort().map((k) => `${k}:${h[k]}\n`).join('');
  const sub = [...new URLSearchParams(query)].filter(([k]) => SIGNED.has(k)).map(([k, v]) => (v === '' ? k : `${k}=${v}`)).sort();
  const resource = decodeURIComponent(path) + (sub.length > 0 ? `?${sub.join('&')}` : '');
  const toSign = [method, h['content-md5'] ?? '', h['content-type'] ?? '', h.date, amz + resource].join('\n');
  h.authorization = `AWS ${ACCESS_KEY}:${createHmac('sha1', SECRET_KEY).update(toSign).digest('base64')}`;
  return raw(d.port, { method, path, query, headers: h, sign: false, ...(body !== undefined ? { body } : {}) });
}

t.test("registry: its Signature V2 signer (Go's UTC date) through an upload", async (t) => {
  const bucket = await createBucket(s3, 'regv2');
  const key = `/${bucket}/docker/registry/v2/repositories/app/_uploads/u4/data`;
  const opts = { 'content-type': 'application/octet-stream', 'x-amz-acl': 'private', 'x-amz-storage-class': 'STANDARD', 'x-amz-server-side-encryption': 'AES256' };
  const started = await registryV2('POST', key, 'uploads=', opts);
  t.equal(started.status, 200, 'CreateMultipartUpload');
  const id = xmlField(started.body, 'UploadId')!;
  const part = await registryV2('PUT', key, `partNumber=1&uploadId=${id}`, {}, 'blob bytes');
  t.equal(part.status, 200, 'UploadPart');
  t.equal((await registryV2('GET', key, `uploadId=${id}`, {})).status, 200, 'ListParts');
  const xml = `<CompleteMultipartUpload><Part><ETag>${part.headers.etag}</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`;
  t.equal((await registryV2('POST', key, `uploadId=${id}`, {}, xml)).status, 200, 'CompleteMultipartUpload');
  // The SDK (v1) asks every GetObject for `x-amz-te: append-md5`, which the signer signs.
  const got = await registryV2('GET', key, '', { 'x-amz-te': 'append-md5', range: 'bytes=5-' });
  t.equal(got.status, 206, 'a ranged GET');
  t.equal(got.body.toString(), 'bytes', 'the bytes from the offset');
});

t.test('WAL-G: ListObjects V1 pages by NextMarker; server-side copy as its SDK v2 code sends it', async (t) => {
  const bucket = await createBucket(s3, 'walg');
  for (const k of ['basebackups_005/a/part_1.tar.br', 'basebackups_005/b/part_1.tar.br', 'basebackups_005/c_backup_stop_sentinel.json', 'wal_005/0001.br']) {
    await raw(d.port, { method: 'PUT', path: `/${bucket}/${k}`, headers: { 'x-amz-storage-class': 'STANDARD' }, body: k });
  }
  // aws-sdk-go v1's ListObjectsPages continues from NextMarker (a common prefix here).
  const seen: string[] = [];
  let marker = '';
  for (let i = 0; i < 10; i++) {
    const page = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: `delimiter=%2F&marker=${encodeURIComponent(marker)}&max-keys=1&prefix=basebackups_005%2F` });
    seen.push(...[...page.body.toString().matchAll(/<(?:Key|Prefix)>(basebackups_005\/[^<]+)</g)].map((m) => m[1]!));
    if (xmlField(page.body, 'IsTruncated') !== 'true') break;
    marker = xmlField(page.body, 'NextMarker')!;
  }
  t.same(seen, ['basebackups_005/a/', 'basebackups_005/b/', 'basebackups_005/c_backup_stop_sentinel.json'], 'every prefix and key once');

  // CopyObjectFrom: url.PathEscape(bucket/key) (its slashes too), ?versionId when HEAD gave one,
  // If-Match on the source's ETag, metadata and tagging replaced.
  await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'versioning=', body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>' });
  const src = 'basebackups_005/d/part_1.tar.br';
  const put = await raw(d.port, { method: 'PUT', path: `/${bucket}/${src}`, body: 'version one' });
  await raw(d.port, { method: 'PUT', path: `/${bucket}/${src}`, body: 'version two' });
  const copySource = `${encodeURIComponent(`${bucket}/${src}`)}?versionId=${encodeURIComponent(String(put.headers['x-amz-version-id']))}`;
  const copy = await raw(d.port, {
    method: 'PUT',
    path: `/${bucket}/copied/part_1.tar.br`,
    headers: { 'x-amz-copy-source': copySource, 'x-amz-copy-source-if-match': String(put.headers.etag), 'x-amz-metadata-directive': 'REPLACE', 'x-amz-tagging-directive': 'REPLACE', 'x-amz-storage-class': 'STANDARD' },
  });
  t.equal(copy.status, 200, 'CopyObject with an escaped source and its version');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/copied/part_1.tar.br` })).body.toString(), 'version one', 'the named version is copied');
  const stale = await raw(d.port, { method: 'PUT', path: `/${bucket}/copied/stale`, headers: { 'x-amz-copy-source': encodeURIComponent(`${bucket}/${src}`), 'x-amz-copy-source-if-match': String(put.headers.etag) } });
  t.equal(xmlField(stale.body, 'Code'), 'PreconditionFailed', 'the current version no longer matches the ETag HEAD gave');
});

/** A streaming-signed (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) body of `data` in 64 KiB chunks, as minio-go signs it. */
function streamingBody(signed: Record<string, string>, data: Buffer): Buffer {
  const amzDate = signed['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const key = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
  let previous = /Signature=([0-9a-f]{64})/.exec(signed.authorization!)![1]!;
  const out: Buffer[] = [];
  const chunks: Buffer[] = [];
  for (let off = 0; off < data.length; off += 65_536) chunks.push(data.subarray(off, off + 65_536));
  for (const c of [...chunks, Buffer.alloc(0)]) {
    previous = signatureHex(key, chunkStringToSign(amzDate, scope, previous, sha256Hex(c)));
    out.push(Buffer.from(`${c.length.toString(16)};chunk-signature=${previous}\r\n`), c, Buffer.from('\r\n'));
  }
  return Buffer.concat(out);
}

/** Sends `body` with Transfer-Encoding: chunked, as Go's client does when a body's length is unknown. */
function putChunked(path: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, method: 'PUT', path, headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.write(body.subarray(0, 1));
    req.end(body.subarray(1));
  });
}

t.test('minio-go as objstore drives it (Thanos, Mimir, Cortex, Loki): SSE-KMS with an empty context, its list query, an empty streaming upload', async (t) => {
  const bucket = await createBucket(s3, 'thanos');
  // Thanos makes a nil KMS encryption context an empty map, which minio-go sends as base64 "{}".
  const kms = { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ID, 'x-amz-server-side-encryption-context': 'e30=' };
  const meta = await raw(d.port, { method: 'PUT', path: `/${bucket}/01HBLOCK/meta.json`, headers: { ...kms, 'content-type': 'application/octet-stream' }, body: '{"ulid":"01HBLOCK"}' });
  t.equal(meta.status, 200, 'PutObject with the context {}');
  const mp = await raw(d.port, { method: 'POST', path: `/${bucket}/01HBLOCK/chunks/000001`, query: 'uploads=', headers: kms });
  t.equal(mp.status, 200, 'CreateMultipartUpload with the context {}');
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}/01HBLOCK/meta.json`, headers: { range: 'bytes=2-' } })).body.toString(), 'ulid":"01HBLOCK"}', 'GetRange(off, -1) reads from the offset');

  // minio-go 0-byte PutObject over http: streaming signature, Content-Length 0 in its request,
  // so Go's client sends the one empty signed chunk with Transfer-Encoding: chunked.
  const signed = buildHeaders(d.port, { method: 'PUT', path: `/${bucket}/01HBLOCK/tombstones`, headers: { 'x-amz-decoded-content-length': '0', 'content-type': 'application/octet-stream' }, sign: { payloadHash: STREAMING_SIGNED_PAYLOAD } });
  t.equal(await putChunked(`/${bucket}/01HBLOCK/tombstones`, signed, streamingBody(signed, Buffer.alloc(0))), 200, 'the empty streaming upload is stored');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: '01HBLOCK/tombstones' }))).ContentLength, 0, 'as an empty object');

  // Iter (not recursive) and IterWithAttributes: ListObjectsV2 as minio-go writes the query.
  const list = await raw(d.port, { method: 'GET', path: `/${bucket}/`, query: 'delimiter=%2F&encoding-type=url&fetch-owner=true&list-type=2&max-keys=1000&metadata=true&prefix=01HBLOCK%2F' });
  t.equal(list.status, 200, 'ListObjectsV2 with fetch-owner and MinIO\'s metadata=true');
  t.same([...list.body.toString().matchAll(/<(?:Key|Prefix)>([^<]+)</g)].map((m) => m[1]), ['01HBLOCK/', '01HBLOCK/meta.json', '01HBLOCK/tombstones'], 'the prefix and keys (an upload in progress is not listed; URL encoding keeps `/`, as S3 and MinIO do)');
});

t.test("Velero: a CRC32 multipart upload with tags and SSE-KMS, a presigned download, ObjectExists", async (t) => {
  const bucket = await createBucket(s3, 'velero');
  const key = 'velero/backups/nightly/nightly.tar.gz';
  const data = testBytes(6 * MiB + 7, 73);
  // feature/s3/manager copies the PutObjectInput (Tagging, SSE, ChecksumAlgorithm) onto the upload.
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Tagging: 'velero.io/backup=nightly', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ID, ChecksumAlgorithm: 'CRC32' }));
  const parts = [];
  for (const [i, body] of [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)].entries()) {
    const p = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body: body, ChecksumAlgorithm: 'CRC32' }));
    parts.push({ ETag: p.ETag, PartNumber: i + 1, ChecksumCRC32: p.ChecksumCRC32 });
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: parts } }));
  t.match(done.ChecksumCRC32, /-2$/, 'a composite CRC32 of two parts');
  t.same((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet, [{ Key: 'velero.io/backup', Value: 'nightly' }], 'the tags of the upload');
  // CreateSignedURL: a presigned GET the velero CLI downloads without credentials.
  const url = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 600 }));
  const got = await raw(d.port, { method: 'GET', path: url.pathname, query: url.search.slice(1), sign: false });
  t.equal(got.status, 200, 'the presigned GET');
  t.ok(got.body.equals(data), 'every byte');
  await expectS3Error(t, s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'velero/backups/none/velero-backup.json' })), 'NotFound', 404, 'ObjectExists of a missing key');
});

t.test("Loki's own S3 client: signed for the region `dummy` unless `region` is set, refused naming the right one", async (t) => {
  const bucket = await createBucket(s3, 'loki');
  const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&prefix=index%2F', sign: { region: 'dummy' } });
  t.equal(res.status, 400, 'a request signed for `dummy` is refused, as S3 refuses it');
  t.equal(xmlField(res.body, 'Code'), 'AuthorizationHeaderMalformed', 'AuthorizationHeaderMalformed');
  t.equal(xmlField(res.body, 'Region'), REGION, 'naming the region to set');
});

// Router: every Operation from method + path + query (+ copy-source header), path-style and
// virtual-host-style addressing, percent-decoding, key length, and unsupported sub-resources.
import t from 'tap';
import { S3Error } from '../../../../daemon/errors.js';
import { ANONYMOUS_OPERATIONS, BODY_OPERATIONS, MAX_KEY_BYTES, bucketFromHost, bucketOf, route, type Route } from '../../../../daemon/http/router.js';

const DOMAINS = ['s3.example.com', 'localhost'];

function r(method: string, target: string, opts: { host?: string; headers?: Record<string, string>; domains?: readonly string[] } = {}): Route {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  const headers = opts.headers ?? {};
  return route({ method, rawPath, query, host: opts.host ?? '127.0.0.1:9000', headers }, opts.domains ?? DOMAINS);
}

/** The S3 error code route() throws, or 'no error'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
  return 'no error';
}

/** The error's code and, for a 405, the methods its Allow header names. */
function errorOf(fn: () => unknown): { code: string; allow?: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err.headers.allow === undefined ? { code: err.code } : { code: err.code, allow: err.headers.allow };
    throw err;
  }
  return { code: 'no error' };
}

t.test('service and bucket operations (path-style)', async (t) => {
  const cases: Array<[string, string, Route]> = [
    ['GET', '/', { op: 'ListBuckets' }],
    ['PUT', '/bkt', { op: 'CreateBucket', bucket: 'bkt' }],
    ['PUT', '/bkt/', { op: 'CreateBucket', bucket: 'bkt' }],
    ['HEAD', '/bkt', { op: 'HeadBucket', bucket: 'bkt' }],
    ['DELETE', '/bkt', { op: 'DeleteBucket', bucket: 'bkt' }],
    ['GET', '/bkt?location', { op: 'GetBucketLocation', bucket: 'bkt' }],
    ['GET', '/bkt?location=', { op: 'GetBucketLocation', bucket: 'bkt' }],
    ['GET', '/bkt', { op: 'ListObjects', bucket: 'bkt' }],
    ['GET', '/bkt/', { op: 'ListObjects', bucket: 'bkt' }],
    ['GET', '/bkt?prefix=a&delimiter=%2F', { op: 'ListObjects', bucket: 'bkt' }],
    ['GET', '/bkt?list-type=1', { op: 'ListObjects', bucket: 'bkt' }],
    ['GET', '/bkt?list-type=2', { op: 'ListObjectsV2', bucket: 'bkt' }],
    ['GET', '/bkt?list-type=2&continuation-token=x&start-after=y', { op: 'ListObjectsV2', bucket: 'bkt' }],
    ['GET', '/bkt?versions', { op: 'ListObjectVersions', bucket: 'bkt' }],
    ['GET', '/bkt?versioning', { op: 'GetBucketVersioning', bucket: 'bkt' }],
    ['PUT', '/bkt?versioning', { op: 'PutBucketVersioning', bucket: 'bkt' }],
    ['GET', '/bkt?encryption', { op: 'GetBucketEncryption', bucket: 'bkt' }],
    ['PUT', '/bkt?encryption', { op: 'PutBucketEncryption', bucket: 'bkt' }],
    ['DELETE', '/bkt?encryption', { op: 'DeleteBucketEncryption', bucket: 'bkt' }],
    ['GET', '/bkt?uploads', { op: 'ListMultipartUploads', bucket: 'bkt' }],
    ['POST', '/bkt?delete', { op: 'DeleteObjects', bucket: 'bkt' }],
  ];
  for (const [method, target, want] of cases) t.strictSame(r(method, target), want, `${method} ${target}`);
});

t.test('object operations (path-style)', async (t) => {
  const copy = { 'x-amz-copy-source': '/src/key' };
  const cases: Array<[string, string, Record<string, string>, Route]> = [
    ['PUT', '/bkt/k', {}, { op: 'PutObject', bucket: 'bkt', key: 'k' }],
    ['PUT', '/bkt/k', copy, { op: 'CopyObject', bucket: 'bkt', key: 'k' }],
    ['GET', '/bkt/k', {}, { op: 'GetObject', bucket: 'bkt', key: 'k' }],
    ['GET', '/bkt/k?partNumber=1', {}, { op: 'GetObject', bucket: 'bkt', key: 'k' }],
    ['GET', '/bkt/k?response-content-type=text%2Fplain', {}, { op: 'GetObject', bucket: 'bkt', key: 'k' }],
    ['HEAD', '/bkt/k', {}, { op: 'HeadObject', bucket: 'bkt', key: 'k' }],
    ['DELETE', '/bkt/k', {}, { op: 'DeleteObject', bucket: 'bkt', key: 'k' }],
    ['POST', '/bkt/k?uploads', {}, { op: 'CreateMultipartUpload', bucket: 'bkt', key: 'k' }],
    ['PUT', '/bkt/k?partNumber=2&uploadId=u', {}, { op: 'UploadPart', bucket: 'bkt', key: 'k' }],
    ['PUT', '/bkt/k?partNumber=2&uploadId=u', copy, { op: 'UploadPartCopy', bucket: 'bkt', key: 'k' }],
    ['POST', '/bkt/k?uploadId=u', {}, { op: 'CompleteMultipartUpload', bucket: 'bkt', key: 'k' }],
    ['DELETE', '/bkt/k?uploadId=u', {}, { op: 'AbortMultipartUpload', bucket: 'bkt', key: 'k' }],
    ['GET', '/bkt/k?uploadId=u', {}, { op: 'ListParts', bucket: 'bkt', key: 'k' }],
    ['GET', '/bkt/k?uploadId=u&max-parts=2&part-number-marker=1', {}, { op: 'ListParts', bucket: 'bkt', key: 'k' }],
    ['GET', '/bkt/dir/sub/k', {}, { op: 'GetObject', bucket: 'bkt', key: 'dir/sub/k' }],
    ['GET', '/bkt/dir/', {}, { op: 'GetObject', bucket: 'bkt', key: 'dir/' }],
    ['GET', '/bkt//lead', {}, { op: 'GetObject', bucket: 'bkt', key: '/lead' }],
  ];
  for (const [method, target, headers, want] of cases) t.strictSame(r(method, target, { headers }), want, `${method} ${target} ${JSON.stringify(headers)}`);
});

t.test('admin and health routes', async (t) => {
  t.strictSame(r('GET', '/minio/health/live'), { op: 'HealthLive' });
  t.strictSame(r('HEAD', '/minio/health/live'), { op: 'HealthLive' });
  t.strictSame(r('GET', '/minio/health/ready'), { op: 'HealthReady' });
  // MinIO's cluster probes: write quorum (with ?maintenance=true: may this node be taken down?) and read quorum.
  t.strictSame(r('GET', '/minio/health/cluster'), { op: 'HealthCluster' });
  t.strictSame(r('HEAD', '/minio/health/cluster'), { op: 'HealthCluster' });
  t.strictSame(r('GET', '/minio/health/cluster?maintenance=true'), { op: 'HealthCluster' });
  t.strictSame(r('GET', '/minio/health/cluster/read'), { op: 'HealthClusterRead' }, 'not an object of bucket "minio"');
  t.strictSame(r('HEAD', '/minio/health/cluster/read'), { op: 'HealthClusterRead' });
  t.strictSame(r('GET', '/minio/v2/metrics/cluster'), { op: 'Metrics' });
  t.strictSame(r('GET', '/minio/v2/metrics/node'), { op: 'Metrics' }, "MinIO's node job path");
  t.strictSame(r('GET', '/minio/v2/metrics/bucket'), { op: 'Metrics' }, "MinIO's bucket job path");
  t.strictSame(r('GET', '/minio/admin/v3/kms/status'), { op: 'AdminKmsStatus' });
  t.strictSame(r('GET', '/minio/admin/v3/kms/key/status'), { op: 'AdminKmsKeyStatus' });
  t.ok(ANONYMOUS_OPERATIONS.has('HealthLive') && ANONYMOUS_OPERATIONS.has('HealthReady') && ANONYMOUS_OPERATIONS.has('Metrics'));
  t.ok(ANONYMOUS_OPERATIONS.has('HealthCluster') && ANONYMOUS_OPERATIONS.has('HealthClusterRead'), 'the cluster probes need no credentials, as MinIO\u2019s');
  t.notOk(ANONYMOUS_OPERATIONS.has('AdminKmsStatus'), 'admin KMS status needs a signature');
  t.notOk(ANONYMOUS_OPERATIONS.has('GetObject'));
  // A PUT on a health path is not a health probe: it is an object write in bucket "minio".
  t.strictSame(r('PUT', '/minio/health/live'), { op: 'PutObject', bucket: 'minio', key: 'health/live' });
  // Anonymous GET /metrics is the Prometheus scrape; signed, it lists the bucket named "metrics".
  t.strictSame(r('GET', '/metrics'), { op: 'Metrics' });
  t.strictSame(r('GET', '/metrics', { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } }), { op: 'ListObjects', bucket: 'metrics' });
  t.strictSame(r('GET', '/metrics?X-Amz-Credential=abc'), { op: 'ListObjects', bucket: 'metrics' });
  // An X-Amz-Signature without X-Amz-Algorithm is unsigned, as S3 reads it: the scrape.
  t.strictSame(r('GET', '/metrics?X-Amz-Signature=abc'), { op: 'Metrics' });
  t.strictSame(r('GET', '/metrics?AWSAccessKeyId=k&Expires=1&Signature=abc'), { op: 'ListObjects', bucket: 'metrics' }, 'a V2 presigned URL (boto3\'s default)');
  t.strictSame(r('PUT', '/metrics'), { op: 'CreateBucket', bucket: 'metrics' });
});

t.test('body operations are the ones that read a request body', async (t) => {
  for (const op of ['PutObject', 'UploadPart', 'CompleteMultipartUpload', 'DeleteObjects', 'PutBucketEncryption', 'PutBucketVersioning', 'CreateBucket', 'PutBucketAcl', 'PutObjectAcl', 'STS'] as const) {
    t.ok(BODY_OPERATIONS.has(op), op);
  }
  for (const op of ['GetObject', 'HeadObject', 'DeleteObject', 'ListBuckets', 'CopyObject', 'GetBucketAcl', 'GetObjectAcl'] as const) t.notOk(BODY_OPERATIONS.has(op), op);
});

t.test('methods a resource does not support → MethodNotAllowed; a bucket POST without a known sub-resource → PreconditionFailed', async (t) => {
  t.equal(codeOf(() => r('PUT', '/')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('DELETE', '/')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('POST', '/')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('PATCH', '/bkt')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('OPTIONS', '/bkt/k')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('PATCH', '/bkt/k')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('POST', '/bkt')), 'PreconditionFailed', 'as S3: a bucket POST must be a multipart form');
  t.equal(codeOf(() => r('POST', '/bkt', { headers: { 'content-type': 'application/x-www-form-urlencoded' } })), 'PreconditionFailed', 'only multipart forms upload');
  t.strictSame(r('POST', '/bkt', { headers: { 'content-type': 'multipart/form-data; boundary=xyz' } }), { op: 'PostObject', bucket: 'bkt' }, 'form upload to the bucket URL');
  t.strictSame(r('POST', '/', { host: 'bkt.localhost', headers: { 'content-type': 'Multipart/Form-Data; boundary=x' } }), { op: 'PostObject', bucket: 'bkt', virtualHost: true }, 'virtual-host form upload');
  t.strictSame(r('POST', '/bkt?delete', { headers: { 'content-type': 'multipart/form-data; boundary=x' } }), { op: 'DeleteObjects', bucket: 'bkt' }, '?delete wins');
  t.equal(codeOf(() => r('POST', '/bkt/k')), 'MethodNotAllowed', 'as S3: an object has no plain POST (form uploads go to the bucket URL)');
});

t.test('unsupported sub-resources answer NotImplemented on buckets and objects, for every method', async (t) => {
  const subs = ['restore', 'select'];
  for (const sub of subs) {
    for (const method of ['GET', 'PUT', 'DELETE', 'HEAD', 'POST']) {
      t.equal(codeOf(() => r(method, `/bkt?${sub}`)), 'NotImplemented', `${method} /bkt?${sub}`);
      t.equal(codeOf(() => r(method, `/bkt/key?${sub}`)), 'NotImplemented', `${method} /bkt/key?${sub}`);
    }
  }
  // Analytics, inventory, metrics and Intelligent-Tiering: a GET at a bucket reads them (none, as
  // S3 answers a bucket without one), by id or as a list; their PUT and DELETE, and any method at
  // a key, stay NotImplemented, but for ?inventory, which S3 reads at a key as the bucket's.
  for (const [sub, name] of [['analytics', 'Analytics'], ['inventory', 'Inventory'], ['metrics', 'Metrics'], ['intelligent-tiering', 'IntelligentTiering']] as const) {
    t.strictSame(r('GET', `/bkt?${sub}`), { op: `ListBucket${name}Configurations`, bucket: 'bkt' }, `GET /bkt?${sub}: the list`);
    t.strictSame(r('GET', `/bkt?${sub}&id=`), { op: `ListBucket${name}Configurations`, bucket: 'bkt' }, `GET /bkt?${sub}&id=: the list`);
    t.strictSame(r('GET', `/bkt?${sub}&id=x`), { op: `GetBucket${name}Configuration`, bucket: 'bkt' }, `GET /bkt?${sub}&id=x: one`);
    for (const method of ['PUT', 'DELETE']) t.equal(codeOf(() => r(method, `/bkt?${sub}&id=x`)), 'NotImplemented', `${method} /bkt?${sub}`);
    for (const method of ['HEAD', 'POST']) t.equal(codeOf(() => r(method, `/bkt?${sub}`)), 'MethodNotAllowed', `${method} /bkt?${sub}`);
    for (const method of ['GET', 'PUT', 'DELETE', 'HEAD', 'POST']) {
      if (sub === 'inventory' && (method === 'GET' || method === 'HEAD')) continue;
      t.equal(codeOf(() => r(method, `/bkt/key?${sub}`)), 'NotImplemented', `${method} /bkt/key?${sub}`);
    }
  }
  t.equal(codeOf(() => r('HEAD', '/bkt/key?inventory')), 'MethodNotAllowed', 'HEAD /bkt/key?inventory: the bucket\'s, which has no HEAD');
  // ?torrent: GET is GetObjectTorrent (S3's 405 after the bucket), HEAD the 405 at once, the rest NotImplemented.
  t.strictSame(r('GET', '/bkt/key?torrent'), { op: 'GetObjectTorrent', bucket: 'bkt', key: 'key' });
  t.strictSame(r('GET', '/bkt?torrent'), { op: 'GetObjectTorrent', bucket: 'bkt' });
  t.equal(codeOf(() => r('HEAD', '/bkt/key?torrent')), 'MethodNotAllowed');
  t.equal(codeOf(() => r('HEAD', '/bkt/key?torrent&versionId=x')), 'InvalidArgument');
  t.equal(codeOf(() => r('GET', '/bkt/key?torrent&versionId=x')), 'InvalidArgument');
  for (const method of ['PUT', 'DELETE', 'POST']) {
    t.equal(codeOf(() => r(method, '/bkt?torrent')), 'NotImplemented', `${method} /bkt?torrent`);
    t.equal(codeOf(() => r(method, '/bkt/key?torrent')), 'NotImplemented', `${method} /bkt/key?torrent`);
  }
  t.equal(codeOf(() => r('GET', '/?torrent')), 'NotImplemented', 'the service has no torrent');
  t.strictSame(r('GET', '/bkt/key?='), { op: 'GetObject', bucket: 'bkt', key: 'key' }, 'a parameter with an empty name is ignored');
  // Also with a value and next to a supported parameter.
  t.equal(codeOf(() => r('PUT', '/bkt/key?cors=&x=1')), 'NotImplemented');
  t.strictSame(r('GET', '/bkt?list-type=2&website'), { op: 'GetBucketWebsite', bucket: 'bkt' }, 'a configuration sub-resource wins over listing parameters');
  // The router passes version ids on to the handlers (which answer NoSuchVersion for unknown ones).
  t.strictSame(r('GET', '/bkt/k?versionId=abc'), { op: 'GetObject', bucket: 'bkt', key: 'k' }, 'any versionId routes to the operation');
  t.equal(codeOf(() => r('GET', '/bkt/a%00b')), 'InvalidArgument', 'a NUL in a key is refused');
  t.strictSame(r('GET', '/bkt/k?versionId=null'), { op: 'GetObject', bucket: 'bkt', key: 'k' }, 'versionId=null is the object');
  for (const [m, target, op] of [['HEAD', '/bkt/k', 'HeadObject'], ['DELETE', '/bkt/k', 'DeleteObject'], ['GET', '/bkt/k?tagging', 'GetObjectTagging'], ['PUT', '/bkt/k?tagging', 'PutObjectTagging'], ['GET', '/bkt/k?attributes', 'GetObjectAttributes']] as const) {
    const sep = target.includes('?') ? '&' : '?';
    t.strictSame(r(m, `${target}${sep}versionId=null`), { op, bucket: 'bkt', key: 'k' }, `${m} ${target} versionId=null`);
    t.strictSame(r(m, `${target}${sep}versionId=3HL4kqtJlcpXroDTDmJ`), { op, bucket: 'bkt', key: 'k' }, `${m} ${target} with another version`);
  }
  for (const target of ['/bkt/k', '/bkt/k?uploadId=u&partNumber=1', '/bkt?tagging', '/bkt']) {
    t.equal(codeOf(() => r('PUT', `${target}${target.includes('?') ? '&' : '?'}versionId=null`)), 'InvalidArgument', `PUT ${target}: no versionId (S3's InvalidArgument)`);
  }
  for (const [m, target] of [['POST', '/bkt/k?uploadId=u'], ['POST', '/bkt/k?uploads'], ['PUT', '/bkt/k']] as const) {
    t.equal(codeOf(() => r(m, `${target}${target.includes('?') ? '&' : '?'}versionId=`)), 'InvalidArgument', `${m} ${target}: an empty versionId too`);
  }
  // Names that merely start like a sub-resource are plain parameters.
  t.strictSame(r('GET', '/bkt/k?aclx=1'), { op: 'GetObject', bucket: 'bkt', key: 'k' });
  t.strictSame(r('GET', '/bkt?prefix=acl'), { op: 'ListObjects', bucket: 'bkt' });
});

t.test('percent-decoding of keys and bucket segments', async (t) => {
  t.strictSame(r('GET', '/bkt/a%20b'), { op: 'GetObject', bucket: 'bkt', key: 'a b' });
  t.strictSame(r('GET', '/bkt/a+b'), { op: 'GetObject', bucket: 'bkt', key: 'a+b' }, '+ in a path is a literal plus');
  t.strictSame(r('GET', '/bkt/a%2Bb'), { op: 'GetObject', bucket: 'bkt', key: 'a+b' });
  t.strictSame(r('GET', '/bkt/100%25'), { op: 'GetObject', bucket: 'bkt', key: '100%' });
  t.strictSame(r('GET', '/bkt/a%2Fb'), { op: 'GetObject', bucket: 'bkt', key: 'a/b' }, 'encoded slash');
  t.strictSame(r('GET', '/bkt/%E2%9C%93%20%F0%9F%98%80'), { op: 'GetObject', bucket: 'bkt', key: '✓ 😀' });
  t.strictSame(r('GET', '/bkt/..%2F..%2Fetc%2Fpasswd'), { op: 'GetObject', bucket: 'bkt', key: '../../etc/passwd' });
  t.strictSame(r('GET', '/bkt/../../etc/passwd'), { op: 'GetObject', bucket: 'bkt', key: '../../etc/passwd' }, 'dot segments are not resolved');
  t.strictSame(r('GET', '/bkt/a/../../b'), { op: 'GetObject', bucket: 'bkt', key: 'a/../../b' });
  t.strictSame(r('GET', '/bkt/%3F%23%26'), { op: 'GetObject', bucket: 'bkt', key: '?#&' });
  t.strictSame(r('HEAD', '/my%2Dbkt'), { op: 'HeadBucket', bucket: 'my-bkt' }, 'bucket segment decoded');
  t.equal(codeOf(() => r('GET', '/bkt/%ZZ')), 'InvalidURI', 'bad escape');
  t.equal(codeOf(() => r('GET', '/bkt/%C3')), 'InvalidURI', 'truncated UTF-8');
  t.equal(codeOf(() => r('GET', '/bkt/%FF%FE')), 'InvalidURI', 'not UTF-8');
  t.equal(codeOf(() => r('GET', '/b%ZZ/k')), 'InvalidURI', 'bad escape in bucket');
});

t.test('key length is measured in UTF-8 bytes after decoding', async (t) => {
  t.equal(MAX_KEY_BYTES, 1024);
  t.equal(r('PUT', '/bkt/' + 'k'.repeat(1024)).key?.length, 1024);
  t.equal(codeOf(() => r('PUT', '/bkt/' + 'k'.repeat(1025))), 'KeyTooLongError');
  // 512 two-byte characters = 1024 bytes (6 raw chars each on the wire).
  t.equal(r('GET', '/bkt/' + '%C3%A9'.repeat(512)).key, 'é'.repeat(512));
  t.equal(codeOf(() => r('GET', '/bkt/' + '%C3%A9'.repeat(512) + 'x')), 'KeyTooLongError');
  // Encoded length does not count: 1024 raw "%41" escapes decode to 1024 bytes.
  t.equal(r('GET', '/bkt/' + '%41'.repeat(1024)).key, 'A'.repeat(1024));
  t.equal(codeOf(() => r('GET', '/bkt/' + '😀'.repeat(256) + 'x')), 'KeyTooLongError');
  const kte = (() => {
    try {
      r('GET', '/bkt/' + 'k'.repeat(1025));
    } catch (err) {
      return err as S3Error;
    }
    return undefined;
  })();
  t.equal(kte?.status, 400);
});

t.test('virtual-host-style addressing', async (t) => {
  const vh = (method: string, target: string, host: string, headers: Record<string, string> = {}): Route => r(method, target, { host, headers });
  t.strictSame(vh('GET', '/', 'bkt.s3.example.com'), { op: 'ListObjects', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('GET', '/?list-type=2', 'bkt.s3.example.com:9000'), { op: 'ListObjectsV2', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('PUT', '/', 'bkt.localhost:9000'), { op: 'CreateBucket', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('HEAD', '/', 'bkt.localhost'), { op: 'HeadBucket', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('DELETE', '/', 'bkt.localhost'), { op: 'DeleteBucket', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('GET', '/?location', 'bkt.localhost'), { op: 'GetBucketLocation', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('PUT', '/dir/k', 'bkt.localhost:1234'), { op: 'PutObject', bucket: 'bkt', key: 'dir/k', virtualHost: true });
  t.strictSame(vh('PUT', '/k', 'bkt.localhost', { 'x-amz-copy-source': 'a/b' }), { op: 'CopyObject', bucket: 'bkt', key: 'k', virtualHost: true });
  t.strictSame(vh('GET', '/a%20b%2Bc', 'bkt.localhost'), { op: 'GetObject', bucket: 'bkt', key: 'a b+c', virtualHost: true });
  t.strictSame(vh('GET', '//k', 'bkt.localhost'), { op: 'GetObject', bucket: 'bkt', key: '/k', virtualHost: true });
  t.strictSame(vh('GET', '/other/k', 'my.dotted.bkt.localhost'), { op: 'GetObject', bucket: 'my.dotted.bkt', key: 'other/k', virtualHost: true }, 'dotted bucket names');
  t.strictSame(vh('GET', '/K', 'BKT.LocalHost:9000'), { op: 'GetObject', bucket: 'bkt', key: 'K', virtualHost: true }, 'host is case-insensitive, key is not');
  // The bare domain, another host, and IP literals are path-style.
  t.strictSame(vh('GET', '/', 'localhost:9000'), { op: 'ListBuckets' });
  t.strictSame(vh('GET', '/bkt/k', 'localhost:9000'), { op: 'GetObject', bucket: 'bkt', key: 'k' });
  t.strictSame(vh('GET', '/bkt/k', 's3.example.com'), { op: 'GetObject', bucket: 'bkt', key: 'k' });
  t.strictSame(vh('GET', '/bkt/k', 'bkt.other.org'), { op: 'GetObject', bucket: 'bkt', key: 'k' });
  t.strictSame(vh('GET', '/bkt/k', 'notlocalhost'), { op: 'GetObject', bucket: 'bkt', key: 'k' }, 'suffix must follow a dot');
  t.strictSame(vh('GET', '/bkt/k', '[::1]:9000'), { op: 'GetObject', bucket: 'bkt', key: 'k' });
  // A fully qualified host (trailing dot), with or without a port, is the same host: it was
  // path-style, and a PutObject of `/k` created bucket k, a DeleteObject deleted one.
  t.strictSame(vh('PUT', '/k', 'bkt.localhost.'), { op: 'PutObject', bucket: 'bkt', key: 'k', virtualHost: true });
  t.strictSame(vh('DELETE', '/k', 'bkt.localhost.:9000'), { op: 'DeleteObject', bucket: 'bkt', key: 'k', virtualHost: true });
  t.strictSame(vh('PUT', '/k', 'bkt.localhost:'), { op: 'PutObject', bucket: 'bkt', key: 'k', virtualHost: true }, 'an empty port');
  t.strictSame(vh('PUT', '/bkt/k', 'localhost.:9000'), { op: 'PutObject', bucket: 'bkt', key: 'k' }, 'the bare domain with its dot is path-style');
  // Virtual-host style the whole path is the key: admin, health and scrape paths are objects.
  t.strictSame(vh('GET', '/minio/health/live', 'bkt.localhost'), { op: 'GetObject', bucket: 'bkt', key: 'minio/health/live', virtualHost: true });
  t.strictSame(vh('GET', '/minio/admin/v3/kms/status', 'bkt.localhost'), { op: 'GetObject', bucket: 'bkt', key: 'minio/admin/v3/kms/status', virtualHost: true });
  t.strictSame(vh('GET', '/minio/v2/metrics/cluster', 'bkt.localhost'), { op: 'GetObject', bucket: 'bkt', key: 'minio/v2/metrics/cluster', virtualHost: true });
  t.strictSame(vh('GET', '/metrics', 'bkt.localhost'), { op: 'GetObject', bucket: 'bkt', key: 'metrics', virtualHost: true }, 'an anonymous GET /metrics too');
  t.strictSame(vh('GET', '/minio/health/live', 'localhost:9000'), { op: 'HealthLive' }, 'on the bare domain they stay what they are');
  t.strictSame(vh('GET', '/metrics', 'localhost'), { op: 'Metrics' });
  // Without S3_DOMAIN, nothing is virtual-host-style.
  t.strictSame(r('GET', '/k', { host: 'bkt.localhost', domains: [] }), { op: 'ListObjects', bucket: 'k' });
  // Sub-resources and key length rules apply the same way.
  t.strictSame(vh('GET', '/?website', 'bkt.localhost'), { op: 'GetBucketWebsite', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('PUT', '/?lifecycle', 'bkt.localhost'), { op: 'PutBucketLifecycleConfiguration', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('GET', '/?policy', 'bkt.localhost'), { op: 'GetBucketPolicy', bucket: 'bkt', virtualHost: true });
  t.strictSame(vh('GET', '/?acl', 'bkt.localhost'), { op: 'GetBucketAcl', bucket: 'bkt', virtualHost: true });
  t.equal(codeOf(() => vh('PUT', '/k?cors', 'bkt.localhost')), 'NotImplemented');
  t.strictSame(vh('PUT', '/k?tagging', 'bkt.localhost'), { op: 'PutObjectTagging', bucket: 'bkt', key: 'k', virtualHost: true });
  t.equal(codeOf(() => vh('PUT', '/' + 'k'.repeat(1025), 'bkt.localhost')), 'KeyTooLongError');
  t.strictSame(vh('PUT', '/' + 'k'.repeat(1024), 'bkt.localhost').key?.length, 1024);
});

t.test('?tagging is its own resource on buckets and objects: GET, PUT and DELETE only', async (t) => {
  for (const [method, verb] of [['GET', 'Get'], ['PUT', 'Put'], ['DELETE', 'Delete']] as const) {
    t.strictSame(r(method, '/bkt?tagging'), { op: `${verb}BucketTagging`, bucket: 'bkt' }, `${method} /bkt?tagging`);
    t.strictSame(r(method, '/bkt/a/b?tagging='), { op: `${verb}ObjectTagging`, bucket: 'bkt', key: 'a/b' }, `${method} /bkt/a/b?tagging=`);
  }
  // A PUT with uploadId is never a part upload: two selectors are S3's conflict (an upload id is
  // one, as S3 answers `?uploads&uploadId`, and a part number is, beside ?tagging: recorded).
  t.equal(codeOf(() => r('PUT', '/bkt/k?tagging&uploadId=1')), 'InvalidArgument');
  t.equal(codeOf(() => r('PUT', '/bkt/k?tagging&uploadId=1', { headers: { 'x-amz-copy-source': 'a/b' } })), 'InvalidArgument');
  // With x-amz-copy-source it is refused, as S3 refuses a copy source on anything but a copy.
  t.equal(codeOf(() => r('PUT', '/bkt/k?tagging', { headers: { 'x-amz-copy-source': 'a/b' } })), 'InvalidArgument');
  for (const method of ['POST', 'HEAD', 'PATCH']) {
    t.equal(codeOf(() => r(method, '/bkt?tagging')), 'MethodNotAllowed', `${method} /bkt?tagging`);
    t.equal(codeOf(() => r(method, '/bkt/k?tagging')), 'MethodNotAllowed', `${method} /bkt/k?tagging`);
  }
  t.ok(BODY_OPERATIONS.has('PutObjectTagging') && BODY_OPERATIONS.has('PutBucketTagging'));
});

t.test('?policy and ?policyStatus are bucket resources', async (t) => {
  t.strictSame(r('GET', '/bkt?policy'), { op: 'GetBucketPolicy', bucket: 'bkt' });
  t.strictSame(r('PUT', '/bkt?policy='), { op: 'PutBucketPolicy', bucket: 'bkt' });
  t.strictSame(r('DELETE', '/bkt?policy'), { op: 'DeleteBucketPolicy', bucket: 'bkt' });
  t.strictSame(r('GET', '/bkt?policyStatus'), { op: 'GetBucketPolicyStatus', bucket: 'bkt' });
  for (const m of ['HEAD', 'POST']) t.equal(codeOf(() => r(m, '/bkt?policy')), 'MethodNotAllowed', `${m} ?policy`);
  for (const m of ['PUT', 'DELETE', 'POST']) t.equal(codeOf(() => r(m, '/bkt?policyStatus')), 'MethodNotAllowed', `${m} ?policyStatus`);
  for (const m of ['PUT', 'DELETE']) t.equal(codeOf(() => r(m, '/bkt/k?policy')), 'NotImplemented', `${m} on an object: objects have no policy`);
  t.strictSame(r('GET', '/bkt/k?policy'), { op: 'GetBucketPolicy', bucket: 'bkt' }, 'GET at a key: the bucket\'s, as S3 answers it');
  t.ok(BODY_OPERATIONS.has('PutBucketPolicy'));
});

t.test('?lifecycle is a bucket resource', async (t) => {
  t.strictSame(r('GET', '/bkt?lifecycle'), { op: 'GetBucketLifecycleConfiguration', bucket: 'bkt' });
  t.strictSame(r('PUT', '/bkt?lifecycle='), { op: 'PutBucketLifecycleConfiguration', bucket: 'bkt' });
  t.strictSame(r('DELETE', '/bkt?lifecycle'), { op: 'DeleteBucketLifecycle', bucket: 'bkt' });
  for (const m of ['HEAD', 'POST']) t.equal(codeOf(() => r(m, '/bkt?lifecycle')), 'MethodNotAllowed', `${m} ?lifecycle`);
  t.equal(codeOf(() => r('PUT', '/bkt/k?lifecycle')), 'NotImplemented', 'objects have no lifecycle');
  t.strictSame(r('GET', '/bkt/k?lifecycle'), { op: 'GetBucketLifecycleConfiguration', bucket: 'bkt' }, 'GET at a key: the bucket\'s, as S3 answers it');
  t.ok(BODY_OPERATIONS.has('PutBucketLifecycleConfiguration'));
});

t.test('?cors is a bucket resource: GET, PUT and DELETE', async (t) => {
  t.strictSame(r('GET', '/bkt?cors'), { op: 'GetBucketCors', bucket: 'bkt' });
  t.strictSame(r('PUT', '/bkt?cors='), { op: 'PutBucketCors', bucket: 'bkt' });
  t.strictSame(r('DELETE', '/bkt?cors'), { op: 'DeleteBucketCors', bucket: 'bkt' });
  t.strictSame(r('PUT', '/?cors', { host: 'bkt.localhost' }), { op: 'PutBucketCors', bucket: 'bkt', virtualHost: true });
  t.strictSame(r('GET', '/bkt?list-type=2&cors'), { op: 'GetBucketCors', bucket: 'bkt' }, 'cors wins over listing parameters');
  for (const m of ['HEAD', 'POST']) t.equal(codeOf(() => r(m, '/bkt?cors')), 'MethodNotAllowed', `${m} ?cors`);
  for (const m of ['PUT', 'DELETE']) t.equal(codeOf(() => r(m, '/bkt/k?cors')), 'NotImplemented', `${m} on an object: objects have no CORS rules`);
  t.strictSame(r('GET', '/bkt/k?cors'), { op: 'GetBucketCors', bucket: 'bkt' }, 'GET at a key: the bucket\'s, as S3 answers it');
  t.equal(codeOf(() => r('PUT', '/?cors')), 'NotImplemented', 'nor has the service');
  t.ok(BODY_OPERATIONS.has('PutBucketCors'));
});

t.test('bucketOf names the bucket before routing', async (t) => {
  t.equal(bucketOf('/bkt/a/b', '127.0.0.1:9000', ['localhost']), 'bkt');
  t.equal(bucketOf('/bkt', '127.0.0.1:9000', []), 'bkt');
  t.equal(bucketOf('/bkt/', '127.0.0.1:9000', []), 'bkt');
  t.equal(bucketOf('/a/b', 'bkt.localhost:9000', ['localhost']), 'bkt', 'virtual-host style');
  t.equal(bucketOf('/', '127.0.0.1', []), undefined, 'the service');
  t.equal(bucketOf('/b%ZZ/k', '127.0.0.1', []), undefined, 'not percent-encoding');
  t.equal(bucketOf('/b%2Dx/k', '127.0.0.1', []), 'b-x');
});

t.test('bucketFromHost', async (t) => {
  t.equal(bucketFromHost('a.localhost', ['localhost']), 'a');
  t.equal(bucketFromHost('a.localhost:80', ['localhost']), 'a');
  t.equal(bucketFromHost('A.B.S3.Example.com', ['s3.example.com']), 'a.b');
  t.equal(bucketFromHost('b.s3.example.com', ['example.com', 's3.example.com']), 'b', 'the longest matching domain decides, whatever the order');
  t.equal(bucketFromHost('b.s3.example.com', ['s3.example.com', 'example.com']), 'b');
  t.equal(bucketFromHost('b.example.com', ['s3.example.com', 'example.com']), 'b');
  t.equal(bucketFromHost('localhost', ['localhost']), undefined);
  t.equal(bucketFromHost('s3.example.com', ['example.com', 's3.example.com']), undefined, 'a host that is a configured domain is the endpoint, not bucket "s3" of a shorter one');
  t.equal(bucketFromHost('objects.test:9000', ['objects.test', 'test']), undefined);
  t.equal(bucketFromHost('s3.example.com', ['example.com']), 's3', 'unless only the shorter domain is configured');
  t.equal(bucketFromHost('.localhost', ['localhost']), undefined, 'an empty label is not a bucket');
  t.equal(bucketFromHost('a.localhost', []), undefined);
  t.equal(bucketFromHost('a.localhost.', ['localhost']), 'a', 'a trailing dot');
  t.equal(bucketFromHost('a.localhost.:9000', ['localhost']), 'a');
  t.equal(bucketFromHost('localhost.', ['localhost']), undefined);
  t.equal(bucketFromHost('a.localhost..', ['localhost']), undefined, 'only one dot is a fully qualified name');
});

t.test('?acl: GET and PUT on buckets and objects, nothing else (never a delete)', async (t) => {
  t.strictSame(r('GET', '/bkt?acl'), { op: 'GetBucketAcl', bucket: 'bkt' });
  t.strictSame(r('PUT', '/bkt?acl'), { op: 'PutBucketAcl', bucket: 'bkt' });
  t.strictSame(r('GET', '/bkt/k?acl'), { op: 'GetObjectAcl', bucket: 'bkt', key: 'k' });
  t.strictSame(r('PUT', '/bkt/k?acl='), { op: 'PutObjectAcl', bucket: 'bkt', key: 'k' });
  t.strictSame(r('GET', '/bkt?list-type=2&acl'), { op: 'GetBucketAcl', bucket: 'bkt' }, 'acl wins over other parameters');
  for (const method of ['DELETE', 'HEAD', 'POST']) {
    t.equal(codeOf(() => r(method, '/bkt?acl')), 'MethodNotAllowed', `${method} /bkt?acl`);
    t.equal(codeOf(() => r(method, '/bkt/k?acl')), 'MethodNotAllowed', `${method} /bkt/k?acl`);
  }
});

t.test('configurations s3d does not keep: reads, deletes and off-value PUTs route; methods S3 lacks are 405, ones s3d lacks NotImplemented', async (t) => {
  const bucketOps: Array<[string, string, string]> = [
    ['GET', 'website', 'GetBucketWebsite'],
    ['DELETE', 'website', 'DeleteBucketWebsite'],
    ['GET', 'logging', 'GetBucketLogging'],
    ['PUT', 'logging', 'PutBucketLogging'],
    ['GET', 'notification', 'GetBucketNotificationConfiguration'],
    ['PUT', 'notification', 'PutBucketNotificationConfiguration'],
    ['GET', 'replication', 'GetBucketReplication'],
    ['DELETE', 'replication', 'DeleteBucketReplication'],
    ['GET', 'object-lock', 'GetObjectLockConfiguration'],
    ['GET', 'ownershipControls', 'GetBucketOwnershipControls'],
    ['PUT', 'ownershipControls', 'PutBucketOwnershipControls'],
    ['DELETE', 'ownershipControls', 'DeleteBucketOwnershipControls'],
    ['GET', 'publicAccessBlock', 'GetPublicAccessBlock'],
    ['PUT', 'publicAccessBlock', 'PutPublicAccessBlock'],
    ['DELETE', 'publicAccessBlock', 'DeletePublicAccessBlock'],
    ['GET', 'accelerate', 'GetBucketAccelerateConfiguration'],
    ['PUT', 'accelerate', 'PutBucketAccelerateConfiguration'],
    ['GET', 'requestPayment', 'GetBucketRequestPayment'],
    ['PUT', 'requestPayment', 'PutBucketRequestPayment'],
  ];
  for (const [method, sub, op] of bucketOps) t.strictSame(r(method, `/bkt?${sub}`), { op, bucket: 'bkt' }, `${method} /bkt?${sub}`);
  t.strictSame(r('PUT', '/bkt?object-lock'), { op: 'PutObjectLockConfiguration', bucket: 'bkt' }, 'PUT /bkt?object-lock');
  // PutBucketWebsite and PutBucketReplication exist on S3: not implemented here.
  for (const [method, sub] of [['PUT', 'website'], ['PUT', 'replication']]) {
    t.equal(codeOf(() => r(method!, `/bkt?${sub}`)), 'NotImplemented', `${method} /bkt?${sub}`);
  }
  // Methods S3 has not on a sub-resource: its 405, naming the ones it has (as for ?acl or ?tagging).
  const allowed: Array<[string, string, string]> = [
    ['DELETE', 'logging', 'GET, PUT'],
    ['DELETE', 'requestPayment', 'GET, PUT'],
    ['DELETE', 'accelerate', 'GET, PUT'],
    ['DELETE', 'object-lock', 'GET, PUT'],
    ['POST', 'ownershipControls', 'DELETE, GET, PUT'],
    ['POST', 'publicAccessBlock', 'DELETE, GET, PUT'],
    ['HEAD', 'website', 'DELETE, GET, PUT'],
    ['POST', 'replication', 'DELETE, GET, PUT'],
    ['HEAD', 'logging', 'GET, PUT'],
  ];
  for (const [method, sub, allow] of allowed) t.same(errorOf(() => r(method, `/bkt?${sub}`)), { code: 'MethodNotAllowed', allow }, `${method} /bkt?${sub}`);
  t.same(errorOf(() => r('DELETE', '/?logging', { host: 'bkt.localhost' })), { code: 'MethodNotAllowed', allow: 'GET, PUT' }, 'virtual-host style too');
  t.strictSame(r('GET', '/bkt/k?retention'), { op: 'GetObjectRetention', bucket: 'bkt', key: 'k' });
  t.strictSame(r('GET', '/bkt/k?attributes'), { op: 'GetObjectAttributes', bucket: 'bkt', key: 'k' });
  for (const m of ['PUT', 'DELETE', 'POST', 'HEAD']) t.same(errorOf(() => r(m, '/bkt/k?attributes')), { code: 'MethodNotAllowed', allow: 'GET' }, `${m} ?attributes is never a plain object operation`);
  t.strictSame(r('GET', '/bkt/k?legal-hold'), { op: 'GetObjectLegalHold', bucket: 'bkt', key: 'k' });
  t.strictSame(r('PUT', '/bkt/k?retention'), { op: 'PutObjectRetention', bucket: 'bkt', key: 'k' });
  t.strictSame(r('PUT', '/bkt/k?legal-hold'), { op: 'PutObjectLegalHold', bucket: 'bkt', key: 'k' });
  for (const method of ['DELETE', 'POST', 'HEAD']) {
    t.same(errorOf(() => r(method, '/bkt/k?retention')), { code: 'MethodNotAllowed', allow: 'GET, PUT' }, `${method} retention`);
    t.same(errorOf(() => r(method, '/bkt/k?legal-hold')), { code: 'MethodNotAllowed', allow: 'GET, PUT' }, `${method} legal-hold`);
  }
  // Bucket configurations on objects, object ones on buckets, and either on the service.
  for (const sub of ['object-lock', 'publicAccessBlock']) t.equal(codeOf(() => r('GET', `/bkt/k?${sub}`)), 'NotImplemented', `GET /bkt/k?${sub}`);
  // ?logging at a key is S3's own 400 on a GET and its 405 without Allow on a HEAD (recorded
  // 2026-09-29), as ?versions is on a HEAD; a PUT stays NotImplemented.
  t.equal(codeOf(() => r('GET', '/bkt/k?logging')), 'NoLoggingStatusForKey', 'GET /bkt/k?logging');
  for (const sub of ['logging', 'versions']) t.same(errorOf(() => r('HEAD', `/bkt/k?${sub}`)), { code: 'MethodNotAllowed' }, `HEAD /bkt/k?${sub}: no Allow`);
  t.equal(codeOf(() => r('PUT', '/bkt/k?logging')), 'NotImplemented', 'PUT /bkt/k?logging');
  for (const sub of ['cors', 'website']) t.equal(codeOf(() => r('PUT', `/bkt/k?${sub}`)), 'NotImplemented', `PUT /bkt/k?${sub}`);
  // What S3 reads at a key as the bucket's own (recorded 2026-09-29), and only alone.
  for (const [sub, op] of [['website', 'GetBucketWebsite'], ['replication', 'GetBucketReplication'], ['accelerate', 'GetBucketAccelerateConfiguration'], ['requestPayment', 'GetBucketRequestPayment'], ['versioning', 'GetBucketVersioning'], ['location', 'GetBucketLocation'], ['notification', 'GetBucketNotificationConfiguration']] as const) {
    t.strictSame(r('GET', `/bkt/k?${sub}`), { op, bucket: 'bkt' }, `GET /bkt/k?${sub}: the bucket's`);
    t.strictSame(r('GET', `/k?${sub}`, { host: 'bkt.localhost' }), { op, bucket: 'bkt', virtualHost: true }, `GET ?${sub} at a key, virtual-host style`);
  }
  // ?inventory too, as its List without an id and its Get with one (recorded 2026-09-29).
  t.strictSame(r('GET', '/bkt/k?inventory'), { op: 'ListBucketInventoryConfigurations', bucket: 'bkt' }, 'GET /bkt/k?inventory: the bucket\'s list');
  t.strictSame(r('GET', '/bkt/k?inventory&id=x'), { op: 'GetBucketInventoryConfiguration', bucket: 'bkt' }, 'GET /bkt/k?inventory&id=x: the bucket\'s');
  t.equal(codeOf(() => r('GET', '/bkt/k?versioning&uploadId=1')), 'InvalidArgument', 'beside an upload id: two selectors, S3\'s conflict');
  for (const sub of ['retention', 'legal-hold']) t.equal(codeOf(() => r('GET', `/bkt?${sub}`)), 'NotImplemented', `GET /bkt?${sub}`);
  for (const sub of ['cors', 'retention']) t.equal(codeOf(() => r('GET', `/?${sub}`)), 'NotImplemented', `GET /?${sub}`);
  t.ok(BODY_OPERATIONS.has('PutBucketLogging') && BODY_OPERATIONS.has('PutBucketNotificationConfiguration'), 'off-value PUTs read their documents');
});

t.test('?notification is a bucket resource: GET and PUT (an empty document removes it)', async (t) => {
  t.strictSame(r('GET', '/bkt?notification'), { op: 'GetBucketNotificationConfiguration', bucket: 'bkt' });
  t.strictSame(r('PUT', '/bkt?notification='), { op: 'PutBucketNotificationConfiguration', bucket: 'bkt' });
  t.strictSame(r('GET', '/?notification', { host: 'bkt.localhost' }), { op: 'GetBucketNotificationConfiguration', bucket: 'bkt', virtualHost: true });
  for (const m of ['DELETE', 'HEAD', 'POST']) t.equal(codeOf(() => r(m, '/bkt?notification')), 'MethodNotAllowed', `${m} ?notification`);
  t.equal(codeOf(() => r('PUT', '/bkt/k?notification')), 'NotImplemented', 'objects have none');
  t.equal(codeOf(() => r('GET', '/?notification')), 'NotImplemented', 'nor has the service');
  t.ok(BODY_OPERATIONS.has('PutBucketNotificationConfiguration'));
});

// A virtual-host request whose Host is not under S3_DOMAIN arrives as the service's: GET /?versioning
// was ListBuckets, which the SDK read as a bucket never versioned (GET /?versions as an empty
// version listing, GET /?policy as a policy made of the listing's XML).
t.test("the service has none of a bucket's sub-resources: GET of one is NotImplemented, not ListBuckets", async (t) => {
  const subs = ['acl', 'tagging', 'policy', 'policyStatus', 'lifecycle', 'location', 'versioning', 'versions', 'encryption', 'uploads', 'delete', 'website', 'object-lock', 'attributes'];
  for (const sub of subs) t.equal(codeOf(() => r('GET', `/?${sub}`)), 'NotImplemented', `GET /?${sub}`);
  t.strictSame(r('GET', '/?versioning', { host: 'bkt.localhost' }), { op: 'GetBucketVersioning', bucket: 'bkt', virtualHost: true }, 'a bucket named by the Host has it');
  t.strictSame(r('GET', '/?events'), { op: 'ListenNotification' }, "MinIO's service-wide event stream stays");
  t.strictSame(r('GET', '/?x-id=ListBuckets&max-buckets=5'), { op: 'ListBuckets' }, 'ListBuckets with its parameters');
});

t.test('sub-resources s3d does not know are NotImplemented, never the plain PUT, DELETE or GET they used to become', async (t) => {
  // What the SDK sends for S3's annotation, ABAC and metadata APIs.
  for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
    for (const q of ['annotation&annotationName=note', 'annotation&annotationName=n&versionId=v1', 'abac', 'metadataConfiguration', 'metadataJournalTable', 'metadataInventoryTable', 'metadataAnnotationTable']) {
      t.equal(codeOf(() => r(method, `/bkt/key?${q}`)), 'NotImplemented', `${method} /bkt/key?${q}`);
      t.equal(codeOf(() => r(method, `/bkt?${q}`)), 'NotImplemented', `${method} /bkt?${q}`);
    }
    // One S3 may add tomorrow: no value, not a parameter s3d reads.
    t.equal(codeOf(() => r(method, '/bkt/key?somethingNew')), 'NotImplemented', `${method} /bkt/key?somethingNew`);
    t.equal(codeOf(() => r(method, '/bkt?somethingNew=')), 'NotImplemented', `${method} /bkt?somethingNew=`);
  }
  // UpdateObjectEncryption: PUT /bucket/key?encryption; the other methods, and the other bucket-only sub-resources on a key, are not implemented.
  t.same(r('PUT', '/bkt/key?encryption'), { op: 'UpdateObjectEncryption', bucket: 'bkt', key: 'key' });
  t.same(r('PUT', '/bkt/key?encryption&versionId=v1'), { op: 'UpdateObjectEncryption', bucket: 'bkt', key: 'key' });
  for (const sub of ['encryption', 'versioning', 'location', 'events', 'delete']) {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      if (sub === 'encryption' && method === 'PUT') continue;
      // S3 reads these at a key as the bucket's (recorded 2026-09-29).
      if ((sub === 'versioning' || sub === 'location') && method === 'GET') continue;
      t.equal(codeOf(() => r(method, `/bkt/key?${sub}`)), 'NotImplemented', `${method} /bkt/key?${sub}`);
    }
  }
  // S3's own answers for a bucket's listings asked of a key.
  for (const method of ['GET', 'PUT', 'DELETE']) t.equal(codeOf(() => r(method, '/bkt/key?versions')), 'InvalidRequest', `${method} /bkt/key?versions`);
  t.equal(codeOf(() => r('GET', '/bkt/key?uploads')), 'InvalidRequest', 'GET /bkt/key?uploads (it was a GetObject)');
  t.equal(r('POST', '/bkt/key?uploads').op, 'CreateMultipartUpload');
  // A copy source on anything but a copy: S3's InvalidArgument (a DELETE with one deleted its object).
  for (const [method, path] of [['DELETE', '/bkt/key'], ['GET', '/bkt/key'], ['HEAD', '/bkt/key'], ['GET', '/bkt'], ['POST', '/bkt/key?uploadId=1'], ['DELETE', '/bkt/key?uploadId=1']]) {
    t.equal(codeOf(() => r(method!, path!, { headers: { 'x-amz-copy-source': 'bkt/other' } })), 'InvalidArgument', `${method} ${path} with x-amz-copy-source`);
  }
  t.equal(r('PUT', '/bkt/key', { headers: { 'x-amz-copy-source': 'bkt/other' } }).op, 'CopyObject');
  t.equal(r('PUT', '/bkt/key?partNumber=1&uploadId=1', { headers: { 'x-amz-copy-source': 'bkt/other' } }).op, 'UploadPartCopy');
  // partNumber without uploadId names no upload.
  t.equal(codeOf(() => r('PUT', '/bkt/key?partNumber=1')), 'InvalidArgument', 'PUT ?partNumber without uploadId (it was NoSuchUpload)');
  // uploadId without partNumber names the upload, which takes no PUT (S3's 405, ResourceType UPLOAD).
  for (const headers of [{}, { 'x-amz-copy-source': 'bkt/other' }] as Record<string, string>[]) {
    let err: unknown;
    try {
      r('PUT', '/bkt/key?uploadId=1', { headers });
    } catch (e) {
      err = e;
    }
    t.match(err, { code: 'MethodNotAllowed', headers: { allow: 'DELETE, POST, GET' }, fields: { ResourceType: 'UPLOAD' } }, `PUT ?uploadId without partNumber${'x-amz-copy-source' in headers ? ' (copy)' : ''}: 405 (it was InvalidArgument)`);
  }
  // An upload's parameters on the bucket: never DeleteBucket or CreateBucket.
  for (const method of ['GET', 'PUT', 'DELETE']) {
    t.equal(codeOf(() => r(method, '/bkt?uploadId=abc')), 'InvalidRequest', `${method} /bkt?uploadId=abc`);
    t.equal(codeOf(() => r(method, '/bkt?partNumber=1&uploadId=abc')), 'InvalidRequest', `${method} /bkt?partNumber=1&uploadId=abc`);
  }
  // What clients do send still routes: empty listing parameters, parameters with values s3d
  // does not read (the SDK's x-id, a cache buster), presigned URLs' parameters.
  t.equal(r('GET', '/bkt?list-type=2&prefix=&delimiter=%2F&encoding-type=url&continuation-token=&start-after=&fetch-owner=').op, 'ListObjectsV2');
  t.equal(r('GET', '/bkt?versions&key-marker=&version-id-marker=&prefix=').op, 'ListObjectVersions');
  t.equal(r('GET', '/bkt?uploads&key-marker=&upload-id-marker=&max-uploads=10').op, 'ListMultipartUploads');
  t.equal(r('GET', '/bkt/key?uploadId=u&max-parts=5&part-number-marker=').op, 'ListParts');
  t.equal(codeOf(() => r('GET', '/bkt/key?uploadId=u&partNumber=1')), 'NotImplemented', 'GetPart (uploadId with partNumber) is not ListParts');
  t.equal(r('PUT', '/bkt/key?x-id=PutObject&_=1733100000').op, 'PutObject');
  t.equal(r('GET', '/bkt/key?response-content-type=&response-content-disposition=').op, 'GetObject');
  t.equal(r('PUT', '/bkt/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=c&X-Amz-Date=d&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=s&x-amz-checksum-crc32=AAAAAA%3D%3D&x-amz-sdk-checksum-algorithm=CRC32').op, 'PutObject');
  t.equal(r('GET', '/bkt/key?AWSAccessKeyId=a&Expires=1&Signature=s').op, 'GetObject');
  t.equal(r('GET', '/bkt?events=s3:ObjectCreated:*&prefix=&suffix=&ping=10').op, 'ListenBucketNotification');
});

t.test('a method a bucket sub-resource does not take is 405 naming its methods, never the plain bucket or object operation', async (t) => {
  const allowOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      if (err instanceof S3Error && err.code === 'MethodNotAllowed') return err.headers.allow;
      throw err;
    }
    return undefined;
  };
  const cases: Array<[string, string, string]> = [
    ['DELETE', 'versioning', 'GET, PUT'],
    ['HEAD', 'versioning', 'GET, PUT'],
    ['POST', 'versioning', 'GET, PUT'],
    ['HEAD', 'encryption', 'DELETE, GET, PUT'],
    ['PUT', 'location', 'GET'],
    ['DELETE', 'location', 'GET'],
    ['PUT', 'versions', 'GET'],
    ['DELETE', 'versions', 'GET'],
    // S3 names the upload collection's POST too (HEAD /bucket?uploads: Allow: POST, GET; backlot#230).
    ['PUT', 'uploads', 'POST, GET'],
    ['DELETE', 'uploads', 'POST, GET'],
    ['HEAD', 'uploads', 'POST, GET'],
    ['DELETE', 'events', 'GET'],
  ];
  for (const [method, sub, allow] of cases) {
    t.equal(allowOf(() => r(method, `/bkt?${sub}`)), allow, `${method} /bkt?${sub}`);
    t.equal(allowOf(() => r(method, `/?${sub}`, { host: 'bkt.localhost' })), allow, `${method} ?${sub} virtual-host style`);
  }
  for (const method of ['PUT', 'DELETE', 'HEAD']) t.equal(allowOf(() => r(method, '/bkt/k?uploads')), 'POST', `${method} /bkt/k?uploads`);
  // DeleteObjects' resource: S3 names it and sends no Allow (recorded 2026-09-29).
  for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
    t.equal(allowOf(() => r(method, '/bkt?delete')), undefined, `${method} /bkt?delete: no Allow`);
    try {
      r(method, '/bkt?delete');
      t.fail(`${method} /bkt?delete routed`);
    } catch (err) {
      t.same([(err as S3Error).code, (err as S3Error).fields], ['MethodNotAllowed', { ResourceType: 'MULTI_OBJECT_DELETE' }], `${method} /bkt?delete: 405 naming the resource`);
    }
  }
  t.strictSame(r('POST', '/bkt/k?uploads'), { op: 'CreateMultipartUpload', bucket: 'bkt', key: 'k' });
  t.strictSame(r('DELETE', '/bkt?encryption'), { op: 'DeleteBucketEncryption', bucket: 'bkt' });
});

t.test('HEAD naming an upload (?uploadId) is the upload\'s 405, not HeadObject', async (t) => {
  for (const target of ['/bkt/k?uploadId=u', '/bkt/k?uploadId=u&partNumber=1']) {
    let err: unknown;
    try {
      r('HEAD', target);
    } catch (e) {
      err = e;
    }
    t.match(err, { code: 'MethodNotAllowed', headers: { allow: 'DELETE, POST, GET' }, fields: { ResourceType: 'UPLOAD' } }, `HEAD ${target}`);
  }
  t.strictSame(r('HEAD', '/bkt/k?partNumber=1'), { op: 'HeadObject', bucket: 'bkt', key: 'k' }, 'a part of a completed object still reads');
});

t.test('every 405 names the methods its resource takes in Allow, as S3 does', async (t) => {
  const refusal = (method: string, target: string): { allow?: string; type?: string } | undefined => {
    try {
      r(method, target);
    } catch (err) {
      if (err instanceof S3Error && err.code === 'MethodNotAllowed') return { allow: err.headers.allow, type: err.fields.ResourceType };
      throw err;
    }
    return undefined;
  };
  // S3's Allow for these, as measured against it (HEAD /bkt?acl: Allow GET, PUT; PATCH /bkt: Allow HEAD, DELETE, POST, GET, PUT).
  const cases: Array<[string, string, string, string?]> = [
    ['HEAD', '/bkt?acl', 'GET, PUT'],
    ['DELETE', '/bkt/k?acl', 'GET, PUT'],
    ['HEAD', '/bkt?tagging', 'DELETE, GET, PUT'],
    ['POST', '/bkt/k?tagging', 'DELETE, GET, PUT'],
    ['HEAD', '/bkt?policy', 'DELETE, GET, PUT'],
    ['PUT', '/bkt?policyStatus', 'GET'],
    ['HEAD', '/bkt?lifecycle', 'DELETE, GET, PUT'],
    ['POST', '/bkt?cors', 'DELETE, GET, PUT'],
    ['DELETE', '/bkt?notification', 'GET, PUT'],
    ['PATCH', '/bkt', 'HEAD, DELETE, POST, GET, PUT'],
    ['PATCH', '/bkt/k', 'HEAD, DELETE, POST, GET, PUT', 'OBJECT'],
    ['PUT', '/', 'GET, POST', 'SERVICE'],
  ];
  for (const [method, target, allow, type] of cases) t.strictSame(refusal(method, target), { allow, type }, `${method} ${target}`);
});

t.test('two selectors at a bucket or a key are S3\u2019s conflict, before anything else', async (t) => {
  const conflict = (target: string, method = 'GET', host?: string): { message: string; fields: Readonly<Record<string, string>> } | string => {
    try {
      r(method, target, host !== undefined ? { host } : {});
    } catch (err) {
      if (err instanceof S3Error && err.code === 'InvalidArgument') return { message: err.message, fields: err.fields };
      if (err instanceof S3Error) return err.code;
      throw err;
    }
    return 'no error';
  };
  const named = (...names: string[]) => ({ message: `Conflicting query string parameters: ${names.join(', ')}`, fields: { ArgumentName: 'ResourceType', ArgumentValue: names[0]! } });
  t.same(conflict('/bkt?versioning&acl'), named('acl', 'versioning'), 'sorted, the first named');
  t.same(conflict('/bkt?metrics&acl'), named('acl', 'metrics'), 'a sub-resource s3d does not implement counts, before its NotImplemented');
  t.same(conflict('/bkt/k?partNumber=1&uploadId=u&tagging', 'PUT'), named('partNumber', 'tagging', 'uploadId'), 'an upload\'s part beside a selector');
  t.same(conflict('/k?acl&tagging', 'DELETE', 'bkt.localhost'), named('acl', 'tagging'), 'virtual-host style');
  t.same(conflict('/bkt/k?partNumber=1&uploadId=u', 'PUT'), 'no error', 'UploadPart\'s pair is one operation');
  t.same(conflict('/bkt/k?annotation&annotationName=x'), 'NotImplemented', 'an annotation by name is one operation');
  t.same(conflict('/bkt?acl&acl&x-id=GetBucketAcl&prefix=&events=x'), 'no error', 'one selector twice, beside what selects nothing');
  t.same(conflict('/bkt/k?tagging&versionId=null'), 'no error', 'a version id selects nothing');
  t.same(conflict('/?acl&versioning'), 'NotImplemented', 'the service is no bucket: its own answer');
});

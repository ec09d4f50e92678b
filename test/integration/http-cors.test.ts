// Cross-origin requests against the real daemon, the way a browser page makes them: a preflight
// (OPTIONS, unsigned), then a presigned PUT and GET made by minio-js carrying Origin. Allowed
// origins read every response header (the ETag after an upload, x-amz-meta-* after a download,
// the S3 error of a refused request); other origins get no CORS header at all; S3_API_CORS_ALLOW_ORIGIN
// narrows the list or turns CORS off, and a bad value stops the daemon at start-up.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketName, MAIN, nodeChild, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { assertXmlError, raw, type RawResponse } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';

const APP = 'https://app.example.com';
let open: TestDaemon;
let narrow: TestDaemon;
let off: TestDaemon;

t.before(async () => {
  [open, narrow, off] = await Promise.all([
    startDaemon(),
    startDaemon({ env: { S3_API_CORS_ALLOW_ORIGIN: `${APP}, https://*.corp.example` } }),
    startDaemon({ env: { S3_API_CORS_ALLOW_ORIGIN: 'off' } }),
  ]);
});
t.teardown(async () => {
  for (const d of [open, narrow, off]) {
    await d.stop();
    d.cleanup();
  }
});

function preflight(d: TestDaemon, path: string, origin: string, method: string, requestHeaders?: string): Promise<RawResponse> {
  return raw(d.port, {
    method: 'OPTIONS',
    path,
    sign: false,
    headers: { origin, 'access-control-request-method': method, ...(requestHeaders ? { 'access-control-request-headers': requestHeaders } : {}) },
  });
}

function exposed(res: RawResponse): string[] {
  return String(res.headers['access-control-expose-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

/** A presigned URL from minio-js, as a browser page would receive it, split for `raw`. */
async function presigned(d: TestDaemon, method: 'PUT' | 'GET', bucket: string, key: string): Promise<{ path: string; query: string }> {
  const url = new URL(await minioClient(d).presignedUrl(method, bucket, key, 600));
  return { path: url.pathname, query: url.search.slice(1) };
}

t.test('a browser upload and download through presigned URLs, from any origin by default', async (t) => {
  const bucket = bucketName();
  await minioClient(open).makeBucket(bucket);

  const pre = await preflight(open, `/${bucket}/photo.jpg`, APP, 'PUT', 'content-type,x-amz-meta-album');
  t.equal(pre.status, 200, 'preflight allowed');
  t.equal(pre.headers['access-control-allow-origin'], APP, 'the origin is echoed');
  t.equal(pre.headers['access-control-allow-credentials'], 'true');
  t.match(pre.headers['access-control-allow-methods'], /\bPUT\b/);
  t.match(pre.headers['access-control-allow-methods'], /\bDELETE\b/);
  t.equal(pre.headers['access-control-allow-headers'], 'content-type,x-amz-meta-album', 'the requested headers are allowed');
  t.match(pre.headers.vary, /Origin/);
  t.ok(Number(pre.headers['access-control-max-age']) > 0, 'preflight answer may be cached');
  t.equal(pre.body.length, 0, 'no body');

  const put = await presigned(open, 'PUT', bucket, 'photo.jpg');
  // x-amz-* headers must be signed: the refusal reaches the page with its reason.
  const unsignedMeta = await raw(open.port, { method: 'PUT', ...put, sign: false, headers: { origin: APP, 'x-amz-meta-album': 'summer' }, body: 'jpeg bytes' });
  assertXmlError(t, unsignedMeta, 403, 'AccessDenied', 'presigned PUT with an unsigned x-amz-meta header');
  t.equal(unsignedMeta.headers['access-control-allow-origin'], APP, 'the refusal is readable by the page');
  const up = await raw(open.port, { method: 'PUT', ...put, sign: false, headers: { origin: APP, 'content-type': 'image/jpeg' }, body: 'jpeg bytes' });
  t.equal(up.status, 200, 'presigned PUT from the page');
  t.equal(up.headers['access-control-allow-origin'], APP);
  t.ok(up.headers.etag, 'an ETag was sent');
  t.ok(exposed(up).includes('etag'), 'the page can read the ETag (multipart uploads from a browser need it)');
  t.ok(exposed(up).includes('x-amz-request-id'));

  // User metadata set by a server-side client, read by the page.
  await minioClient(open).putObject(bucket, 'photo.jpg', Buffer.from('jpeg bytes'), 10, { 'Content-Type': 'image/jpeg', 'x-amz-meta-album': 'summer' });
  const get = await presigned(open, 'GET', bucket, 'photo.jpg');
  const down = await raw(open.port, { method: 'GET', ...get, sign: false, headers: { origin: APP } });
  t.equal(down.status, 200);
  t.equal(down.body.toString(), 'jpeg bytes');
  t.equal(down.headers['access-control-allow-origin'], APP);
  t.equal(down.headers['x-amz-meta-album'], 'summer');
  for (const h of ['etag', 'content-length', 'content-type', 'last-modified', 'x-amz-meta-album']) {
    if (h !== 'content-length') t.ok(exposed(down).includes(h), `${h} exposed`);
  }

  // Any origin is allowed by default (as on MinIO), and each response names the one that asked.
  const other = await raw(open.port, { method: 'GET', ...get, sign: false, headers: { origin: 'http://localhost:5173' } });
  t.equal(other.headers['access-control-allow-origin'], 'http://localhost:5173');

  // Errors are readable by the page too: the S3 error of a tampered URL, with its headers.
  const bad = await raw(open.port, { method: 'GET', path: get.path, query: get.query.replace(/X-Amz-Signature=[0-9a-f]/, 'X-Amz-Signature=x'), sign: false, headers: { origin: APP } });
  assertXmlError(t, bad, 403, 'SignatureDoesNotMatch', 'tampered presigned GET');
  t.equal(bad.headers['access-control-allow-origin'], APP, 'the error carries CORS headers');
  t.ok(exposed(bad).includes('content-type'));
  // A HEAD's error has no body: its code and message travel as headers, which the page can read
  // only when they are exposed like every other header of the response.
  const headMissing = await raw(open.port, { method: 'HEAD', path: `/${bucket}/nope`, headers: { origin: APP } });
  t.equal(headMissing.status, 404);
  t.equal(headMissing.headers['x-minio-error-code'], 'NoSuchKey');
  t.ok(exposed(headMissing).includes('x-minio-error-code'), "a HEAD's error code is exposed");
  t.ok(exposed(headMissing).includes('x-minio-error-desc'), "a HEAD's error message is exposed");

  // Without Origin nothing changes: no CORS header on ordinary S3 traffic.
  const plain = await raw(open.port, { method: 'GET', path: `/${bucket}/photo.jpg` });
  t.equal(plain.status, 200);
  t.equal(plain.headers['access-control-allow-origin'], undefined);
  t.equal(plain.headers['access-control-expose-headers'], undefined);
});

t.test('preflights: unsigned, any path, only the S3 methods; an OPTIONS without Origin or method is 400 BadRequest', async (t) => {
  const missing = await preflight(open, '/no-such-bucket/x', APP, 'GET');
  t.equal(missing.status, 200, 'preflight does not look at the bucket (the real request will)');
  const patch = await preflight(open, '/b/k', APP, 'PATCH');
  assertXmlError(t, patch, 400, 'BadRequest', 'preflight for PATCH: not a method S3 has');
  t.match(patch.body.toString(), '<Message>Invalid Access-Control-Request-Method: PATCH</Message>');
  const plainOptions = await raw(open.port, { method: 'OPTIONS', path: '/b/k', sign: false });
  assertXmlError(t, plainOptions, 400, 'BadRequest', 'OPTIONS without Origin: S3 requires it');
  t.match(plainOptions.body.toString(), '<Message>Insufficient information. Origin request header needed.</Message>');
  const noMethod = await raw(open.port, { method: 'OPTIONS', path: '/', sign: false, headers: { origin: APP } });
  assertXmlError(t, noMethod, 400, 'BadRequest', 'OPTIONS without Access-Control-Request-Method');
  t.match(noMethod.body.toString(), '<Message>Invalid Access-Control-Request-Method: null</Message>');
  for (const m of ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']) {
    t.equal((await preflight(open, '/b', APP, m)).status, 200, `preflight ${m}`);
  }
});

t.test('S3_API_CORS_ALLOW_ORIGIN narrows the origins; a wildcard entry matches subdomains', async (t) => {
  const bucket = bucketName();
  await minioClient(narrow).makeBucket(bucket);
  await minioClient(narrow).putObject(bucket, 'k', Buffer.from('v'));
  const get = await presigned(narrow, 'GET', bucket, 'k');

  t.equal((await preflight(narrow, `/${bucket}/k`, APP, 'GET')).status, 200, 'listed origin');
  t.equal((await preflight(narrow, `/${bucket}/k`, 'HTTPS://APP.EXAMPLE.COM', 'GET')).status, 200, 'origins compare case-insensitively');
  const sub = await preflight(narrow, `/${bucket}/k`, 'https://build.corp.example', 'GET');
  t.equal(sub.status, 200, 'wildcard entry');
  t.equal(sub.headers['access-control-allow-origin'], 'https://build.corp.example');

  for (const origin of ['https://evil.example', 'http://app.example.com', 'https://app.example.com.evil.example', 'https://corp.example.evil']) {
    const pre = await preflight(narrow, `/${bucket}/k`, origin, 'GET');
    assertXmlError(t, pre, 403, 'AccessForbidden', `preflight from ${origin}`);
    t.equal(pre.headers['access-control-allow-origin'], undefined, `no CORS header for ${origin}`);
    t.equal(pre.headers.vary, 'Origin', `the refused preflight varies on Origin too (${origin})`);
    const res = await raw(narrow.port, { method: 'GET', ...get, sign: false, headers: { origin } });
    t.equal(res.status, 200, 'the signed request itself still works (CORS is the browser\'s check)');
    t.equal(res.headers['access-control-allow-origin'], undefined, `a page from ${origin} cannot read it`);
    // A shared cache that kept this answer without Vary would hand it to APP's page, unreadable.
    t.equal(res.headers.vary, 'Origin', `but it says it varies on Origin (${origin})`);
  }
  const ok = await raw(narrow.port, { method: 'GET', ...get, sign: false, headers: { origin: APP } });
  t.equal(ok.headers['access-control-allow-origin'], APP);
  t.equal(ok.headers.vary, 'Origin');
});

t.test('S3_API_CORS_ALLOW_ORIGIN=off: no cross-origin access at all', async (t) => {
  assertXmlError(t, await preflight(off, '/b/k', APP, 'GET'), 403, 'AccessForbidden', 'preflight with CORS off');
  const res = await raw(off.port, { method: 'GET', path: '/', headers: { origin: APP } });
  t.equal(res.status, 200);
  t.equal(res.headers['access-control-allow-origin'], undefined);
  t.equal(res.headers.vary, undefined, 'nothing depends on Origin: no Vary');
});

t.test('a bad S3_API_CORS_ALLOW_ORIGIN stops the daemon at start-up, naming the variable', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-cors-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const value of ['app.example.com', 'https://*.*.example', 'https://app.example.com/path']) {
    const r = spawnSync(...nodeChild([MAIN, 'server', join(dir, 'data'), '--dev']), {
      env: { PATH: process.env.PATH, S3_ADDRESS: '127.0.0.1:0', S3_API_CORS_ALLOW_ORIGIN: value },
      encoding: 'utf8',
      timeout: 20_000,
    });
    t.not(r.status, 0, `${value}: exits non-zero`);
    t.match(r.stderr + r.stdout, /S3_API_CORS_ALLOW_ORIGIN/, `${value}: the error names the variable`);
  }
});

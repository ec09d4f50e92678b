// http/cors.ts on its own: the S3_API_CORS_ALLOW_ORIGIN grammar, origin matching (exact, one
// wildcard, case), the preflight answer, and the headers added to a response.
import t from 'tap';
import { allowedOrigin, isPreflight, parseCorsOrigins, preflight, withCorsHeaders } from '../../../../daemon/http/cors.js';

t.test('S3_API_CORS_ALLOW_ORIGIN values', async (t) => {
  t.strictSame(parseCorsOrigins(undefined), ['*'], 'unset: any origin, as MinIO');
  t.strictSame(parseCorsOrigins(' '), ['*']);
  t.strictSame(parseCorsOrigins('OFF'), [], 'off, any case');
  t.strictSame(parseCorsOrigins('https://A.example.com, http://localhost:5173 ,'), ['https://a.example.com', 'http://localhost:5173']);
  t.strictSame(parseCorsOrigins('https://a.example.com,*'), ['*'], 'a lone * anywhere allows every origin');
  for (const bad of ['a.example.com', 'https://', 'https://a.example.com/', 'https://a.example.com?x', 'https://*.*.example', 'https://a b.example']) {
    t.throws(() => parseCorsOrigins(bad), bad);
  }
});

t.test('origin matching', async (t) => {
  const list = parseCorsOrigins('https://app.example.com,https://*.corp.example,http://localhost:*');
  t.equal(allowedOrigin('https://app.example.com', list), 'https://app.example.com');
  t.equal(allowedOrigin('https://App.Example.COM', list), 'https://App.Example.COM', 'case-insensitive, echoed as sent');
  t.equal(allowedOrigin('https://x.corp.example', list), 'https://x.corp.example');
  t.equal(allowedOrigin('https://a.b.corp.example', list), 'https://a.b.corp.example');
  t.equal(allowedOrigin('http://localhost:3000', list), 'http://localhost:3000');
  for (const no of ['https://app.example.com:8443', 'http://app.example.com', 'https://corp.example', 'https://x.corp.example.evil', 'https://evilcorp.example', 'null', '']) {
    t.equal(allowedOrigin(no, list), undefined, `refused: ${JSON.stringify(no)}`);
  }
  t.equal(allowedOrigin(undefined, ['*']), undefined, 'no Origin, nothing to allow');
  t.equal(allowedOrigin('https://anything.example', ['*']), 'https://anything.example');
  t.equal(allowedOrigin('https://anything.example', []), undefined, 'off');
});

t.test('preflight answers and response headers', async (t) => {
  t.ok(isPreflight('OPTIONS', { origin: 'https://a', 'access-control-request-method': 'PUT' }));
  t.notOk(isPreflight('OPTIONS', { origin: 'https://a' }), 'no requested method: an ordinary OPTIONS');
  t.notOk(isPreflight('GET', { origin: 'https://a', 'access-control-request-method': 'PUT' }));
  const ok = preflight({ origin: 'https://a.example', 'access-control-request-method': 'put', 'access-control-request-headers': 'x-amz-date,authorization' }, ['*']);
  t.equal(ok.status, 200);
  t.equal(ok.headers?.['access-control-allow-headers'], 'x-amz-date,authorization');
  t.notOk('access-control-allow-headers' in (preflight({ origin: 'https://a', 'access-control-request-method': 'GET' }, ['*']).headers ?? {}));
  t.throws(() => preflight({ origin: 'https://a', 'access-control-request-method': 'PATCH' }, ['*']), { code: 'AccessForbidden' });
  t.throws(() => preflight({ origin: 'https://b', 'access-control-request-method': 'GET' }, ['https://a']), { code: 'AccessForbidden' });
  const h = withCorsHeaders('https://a', { etag: '"x"', 'x-amz-meta-k': 'v', vary: 'Origin, Access-Control-Request-Method' });
  t.equal(h['access-control-allow-origin'], 'https://a');
  t.equal(h.vary, 'Origin, Access-Control-Request-Method', 'an existing Vary is kept');
  t.strictSame(h['access-control-expose-headers']?.split(', ').sort(), ['etag', 'x-amz-meta-k', 'x-amz-request-id']);
  t.equal(withCorsHeaders('https://a', {}).vary, 'Origin');
});

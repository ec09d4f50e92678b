// http/cors.ts on its own: the S3_API_CORS_ALLOW_ORIGIN grammar, origin matching (exact, one
// wildcard, case), the preflight answer, and the headers added to a response; a bucket's own
// rules (first match by origin, method and requested headers) and the headers S3 answers with.
import t from 'tap';
import { allowedOrigin, matchBucketCors, parseCorsOrigins, preflight, responseCors, withCorsHeaders } from '../../../../daemon/http/cors.js';
import type { CorsRule } from '../../../../daemon/meta/records.js';

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
  // S3 requires both headers of every OPTIONS: 400 BadRequest without them, as S3 answers.
  t.throws(() => preflight({}, ['*']), { code: 'BadRequest', message: 'Insufficient information. Origin request header needed.' });
  t.throws(() => preflight({ origin: '', 'access-control-request-method': 'GET' }, ['*']), { code: 'BadRequest' }, 'an empty Origin');
  t.throws(() => preflight({ 'access-control-request-method': 'GET' }, ['*'], []), { code: 'BadRequest' }, 'no Origin, bucket rules or not');
  t.throws(() => preflight({ origin: 'https://a' }, ['*']), { code: 'BadRequest', message: 'Invalid Access-Control-Request-Method: null' });
  t.throws(() => preflight({ origin: 'https://a', 'access-control-request-method': 'PATCH' }, ['*']), { code: 'BadRequest', message: 'Invalid Access-Control-Request-Method: PATCH' });
  t.throws(() => preflight({ origin: 'https://a', 'access-control-request-method': 'PATCH' }, ['*'], []), { code: 'BadRequest' }, 'before any bucket rule');
  t.throws(() => preflight({ origin: 'https://a.example', 'access-control-request-method': 'put' }, ['*']), { code: 'BadRequest', message: 'Invalid Access-Control-Request-Method: put' }, 'methods are case-sensitive');
  t.throws(() => preflight({ origin: 'https://a.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-amz-date, invalid header' }, ['*']), { code: 'BadRequest', message: 'Access-Control-Request-Headers "invalid header" contains invalid character.' });
  const ok = preflight({ origin: 'https://a.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-amz-date,authorization' }, ['*']);
  t.equal(ok.status, 200);
  t.equal(ok.headers?.['access-control-allow-headers'], 'x-amz-date,authorization');
  t.notOk('access-control-allow-headers' in (preflight({ origin: 'https://a', 'access-control-request-method': 'GET' }, ['*']).headers ?? {}));
  t.throws(() => preflight({ origin: 'https://b', 'access-control-request-method': 'GET' }, ['https://a']), { code: 'AccessForbidden' });
  const h = withCorsHeaders('https://a', { etag: '"x"', 'x-amz-meta-k': 'v', vary: 'Origin, Access-Control-Request-Method' });
  t.equal(h['access-control-allow-origin'], 'https://a');
  t.equal(h.vary, 'Origin, Access-Control-Request-Method', 'an existing Vary is kept');
  t.strictSame(h['access-control-expose-headers']?.split(', ').sort(), ['etag', 'x-amz-id-2', 'x-amz-meta-k', 'x-amz-request-id']);
  t.equal(withCorsHeaders('https://a', {}).vary, 'Origin');
});

const RULES: CorsRule[] = [
  { id: 'app', allowedMethods: ['GET', 'PUT'], allowedOrigins: ['https://app.example.com', 'https://*.corp.example'], allowedHeaders: ['content-type', 'X-Amz-*'], exposeHeaders: ['ETag', 'x-amz-meta-album'], maxAgeSeconds: 600 },
  { allowedMethods: ['GET', 'HEAD'], allowedOrigins: ['*'] },
];
const ask = (origin: string, method: string, requestHeaders?: string): Record<string, string> => ({
  origin,
  'access-control-request-method': method,
  ...(requestHeaders !== undefined ? { 'access-control-request-headers': requestHeaders } : {}),
});

t.test('bucket rules: the first rule matching origin, method and every requested header', async (t) => {
  t.equal(matchBucketCors(RULES, 'OPTIONS', ask('https://app.example.com', 'PUT', 'Content-Type, x-amz-date'))?.id, 'app', 'headers compare case-insensitively, with wildcards');
  t.equal(matchBucketCors(RULES, 'OPTIONS', ask('https://build.corp.example', 'PUT'))?.id, 'app', 'wildcard origin');
  t.equal(matchBucketCors(RULES, 'OPTIONS', ask('HTTPS://APP.EXAMPLE.COM', 'PUT')), undefined, 'origins compare as sent, case and all (as on S3)');
  t.equal(matchBucketCors(RULES, 'OPTIONS', ask('https://build.CORP.example', 'PUT')), undefined, '… a wildcard rule\'s fixed part too');
  t.equal(matchBucketCors([{ allowedMethods: ['DELETE'], allowedOrigins: ['http://UPPERCASEEXAMPLE.com'] }], 'OPTIONS', ask('http://uppercaseexample.com', 'DELETE')), undefined, 'minio-go\'s case: an upper-case rule does not match the lower-case origin');
  t.ok(matchBucketCors([{ allowedMethods: ['DELETE'], allowedOrigins: ['http://UPPERCASEEXAMPLE.com'] }], 'OPTIONS', ask('http://UPPERCASEEXAMPLE.com', 'DELETE')), '… and matches itself');
  t.equal(matchBucketCors(RULES, 'OPTIONS', ask('https://evil.example', 'PUT')), undefined, 'no rule allows PUT from elsewhere');
  t.strictSame(matchBucketCors(RULES, 'OPTIONS', ask('https://evil.example', 'GET')), RULES[1], 'the * rule');
  t.strictSame(matchBucketCors(RULES, 'OPTIONS', ask('https://app.example.com', 'PUT', 'content-type,x-custom')), undefined, 'one header not allowed: no rule');
  t.strictSame(matchBucketCors(RULES, 'OPTIONS', ask('https://app.example.com', 'GET', 'x-custom')), undefined, 'the * rule allows no header');
  t.strictSame(matchBucketCors(RULES, 'OPTIONS', ask('https://app.example.com', 'DELETE')), undefined);
  t.strictSame(matchBucketCors(RULES, 'OPTIONS', ask('https://corp.example', 'PUT')), undefined, 'the wildcard needs its dot');
  t.strictSame(matchBucketCors(RULES, 'OPTIONS', ask('https://x.corp.example.evil', 'PUT')), undefined);
  t.equal(matchBucketCors(RULES, 'PUT', { origin: 'https://app.example.com' })?.id, 'app', 'an actual request: its own method');
  t.equal(matchBucketCors(RULES, 'DELETE', { origin: 'https://app.example.com' }), undefined);
  t.equal(matchBucketCors(RULES, 'GET', { origin: 'https://app.example.com', 'access-control-request-method': 'DELETE' }), undefined, 'Access-Control-Request-Method decides wherever it is sent (as on S3)');
  t.equal(matchBucketCors(RULES, 'GET', { origin: '' }), undefined);
  t.equal(matchBucketCors([{ allowedMethods: ['GET'], allowedOrigins: [''] }], 'GET', { origin: '' }), undefined, 'an empty AllowedOrigin matches nothing');
  t.equal(matchBucketCors([{ allowedMethods: ['GET'], allowedOrigins: ['http://localhost:*'] }], 'GET', { origin: 'http://localhost:5173' })?.allowedOrigins[0], 'http://localhost:*');
});

t.test('bucket rules: preflight answers and response headers as S3 gives them', async (t) => {
  t.equal(preflight(ask('https://app.example.com', 'PUT'), [], RULES).status, 200, 'bucket rules apply even with the server-wide list off');
  t.throws(() => preflight(ask('https://app.example.com', 'DELETE'), ['*'], RULES), { code: 'AccessForbidden', message: /CORSResponse: This CORS request is not allowed/ }, 'and override a server-wide *');

  const pre = responseCors('OPTIONS', ask('https://app.example.com', 'PUT', 'Content-Type,X-Amz-Date'), [], RULES)!({});
  t.strictSame(pre, {
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, PUT',
    'access-control-allow-headers': 'content-type, x-amz-date',
    'access-control-expose-headers': 'ETag, x-amz-meta-album',
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  });
  const any = responseCors('GET', { origin: 'https://elsewhere.example' }, [], RULES)!({ etag: '"e"' });
  t.strictSame(any, {
    etag: '"e"',
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'GET, HEAD',
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  }, 'a * rule: *, no credentials, no max-age or expose headers it does not set');
  t.strictSame(
    responseCors('DELETE', { origin: 'https://app.example.com' }, ['*'], RULES)!({ etag: '"e"' }),
    { etag: '"e"', vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method' },
    'no rule matches: no CORS header, whatever the server-wide list says, only the Vary an admitted request gets',
  );
  t.strictSame(responseCors('GET', { origin: 'https://b' }, ['https://a'], undefined)!({}), { vary: 'Origin' }, 'server-wide list, origin refused: only Vary: Origin');
  t.equal(responseCors('GET', { origin: 'https://a' }, ['*'], undefined)!({})['access-control-allow-origin'], 'https://a', 'no bucket rules: the server-wide list');
  t.equal(responseCors('GET', { origin: 'https://a' }, [], undefined), undefined);
});

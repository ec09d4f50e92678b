// Authentication paths no client library takes, driven over the wire with hand-signed requests:
// a presigned URL that signs x-amz-content-sha256 as a header (not hoisted into its query), a
// session token beside a Signature Version 2 signature, a SigV4 request dated by its Date header
// alone, and header values the canonical request rewrites (a header on two lines, runs of
// spaces). Each case pairs the refusal with a request that differs only in what is refused, so a
// refusal for another reason (a signature the test got wrong) cannot pass for it.
import t from 'tap';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import { canonicalRequest, deriveSigningKey, formatAmzDate, signatureHex, stringToSign, uriEncode } from '../../daemon/auth/sigv4.js';
import { signV2, stringToSignV2 } from '../../daemon/auth/sigv2.js';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName } from '../helpers/daemon.js';
import { assertXmlError, raw, xmlField, type RawResponse } from '../helpers/http.js';
import { getBytes } from '../helpers/s3.js';
import { allow, doc, startDaemonWithUsers } from '../helpers/users.js';

// A user who may assume a role: its session is what a V2 signature must not carry.
const USER = { accessKey: 'edge-user', secretKey: 'edge-user-secret-1', policies: ['rw'] };
const { d } = await startDaemonWithUsers(t, { policies: { rw: doc(allow(['s3:*'], ['*'])) }, users: [USER] });
const s3 = d.s3();
const bucket = bucketName('authedge');
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
const host = `127.0.0.1:${d.port}`;

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

/**
 * A presigned PUT URL's query that signs `host` and `x-amz-content-sha256` as headers, the hash
 * being the payload hash of its canonical request (what a presigner that does not hoist the
 * header produces; MinIO and s3d read the payload hash from the header then).
 */
function presignWithHashHeader(path: string, hash: string): string {
  const amzDate = formatAmzDate(new Date());
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${uriEncode(`${ACCESS_KEY}/${scope}`)}&X-Amz-Date=${amzDate}&X-Amz-Expires=300&X-Amz-SignedHeaders=host%3Bx-amz-content-sha256`;
  const canonical = canonicalRequest({
    method: 'PUT',
    rawPath: path,
    rawQuery: query,
    headers: { host, 'x-amz-content-sha256': hash },
    signedHeaders: ['host', 'x-amz-content-sha256'],
    payloadHash: hash,
    presigned: true,
  });
  const signature = signatureHex(deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3'), stringToSign(amzDate, scope, canonical));
  return `${query}&X-Amz-Signature=${signature}`;
}

t.test('a presigned URL signing x-amz-content-sha256 as a header binds the body to that hash', async (t) => {
  const body = 'the body the URL was made for';
  const path = `/${bucket}/hash-header`;
  const query = presignWithHashHeader(path, sha256(body));
  const put = (b: string, headers: Record<string, string>) => raw(d.port, { method: 'PUT', path, query, headers, body: b, sign: false });

  // S3's answer is XAmzContentSHA256Mismatch (OpenStack Swift's AWS-run test_no_md5_bad_sha, presigned
  // V4 with the hash a signed header); SignatureDoesNotMatch is for a hash the query signs.
  assertXmlError(t, await put('another body', { 'x-amz-content-sha256': sha256(body) }), 400, 'XAmzContentSHA256Mismatch', 'another body under the signed hash');
  t.equal((await raw(d.port, { method: 'HEAD', path })).status, 404, 'nothing was stored');
  assertXmlError(t, await put(body, {}), 403, 'SignatureDoesNotMatch', 'the signed header left out');
  t.equal((await put(body, { 'x-amz-content-sha256': sha256(body) })).status, 200, 'the body it signs, with the header: stored');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'hash-header' })).toString(), body, 'and read back');
  assertXmlError(t, await put('a replacement', { 'x-amz-content-sha256': sha256(body) }), 400, 'XAmzContentSHA256Mismatch', 'a replacement body through the same URL');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'hash-header' })).toString(), body, 'the object is unchanged');
});

t.test('a session token beside a Signature Version 2 signature is 400 InvalidToken, header or presigned', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v2-token', Body: 'v2' }));
  const sts = new STSClient({ endpoint: d.endpoint, region: REGION, credentials: { accessKeyId: USER.accessKey, secretAccessKey: USER.secretKey }, maxAttempts: 1 });
  t.teardown(() => sts.destroy());
  const session = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'edge' }))).Credentials!;
  const path = `/${bucket}/v2-token`;
  const date = new Date().toUTCString();
  // V2 signs every x-amz-* header, the token among them: each signature is right for its request.
  const v2Header = (accessKey: string, secret: string, headers: Record<string, string>) => {
    const toSign = stringToSignV2({ method: 'GET', rawPath: path, rawQuery: '', headers }, date, path);
    return raw(d.port, { method: 'GET', path, headers: { ...headers, date, authorization: `AWS ${accessKey}:${signV2(secret, toSign)}` }, sign: false });
  };
  t.equal((await v2Header(USER.accessKey, USER.secretKey, {})).status, 200, "the user's own keys over V2: 200");
  const token = { 'x-amz-security-token': session.SessionToken! };
  assertXmlError(t, await v2Header(session.AccessKeyId!, session.SecretAccessKey!, token), 400, 'InvalidToken', 'the session over a V2 header');

  const expires = String(Math.floor(Date.now() / 1000) + 300);
  const v2Url = (accessKey: string, secret: string, extra: Record<string, string>) => {
    const toSign = stringToSignV2({ method: 'GET', rawPath: path, rawQuery: '', headers: extra }, expires, path);
    const query = new URLSearchParams({ AWSAccessKeyId: accessKey, Expires: expires, Signature: signV2(secret, toSign), ...extra });
    return raw(d.port, { method: 'GET', path, query: query.toString(), sign: false });
  };
  t.equal((await v2Url(USER.accessKey, USER.secretKey, {})).status, 200, "the user's own keys in a V2 URL: 200");
  assertXmlError(t, await v2Url(session.AccessKeyId!, session.SecretAccessKey!, token), 400, 'InvalidToken', 'the session in a V2 URL');
});

t.test('a SigV4 request without x-amz-date is dated by its Date header, signed as sent', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dated', Body: 'dated' }));
  const path = `/${bucket}/dated`;
  const get = (when: Date, signDate: boolean, sent = when.toUTCString()) => {
    const amzDate = formatAmzDate(when);
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const headers: Record<string, string> = { host, date: when.toUTCString(), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const signedHeaders = signDate ? ['date', 'host', 'x-amz-content-sha256'] : ['host', 'x-amz-content-sha256'];
    const canonical = canonicalRequest({ method: 'GET', rawPath: path, rawQuery: '', headers, signedHeaders, payloadHash: 'UNSIGNED-PAYLOAD' });
    // S3's string to sign names the Date as sent (ceph/s3-tests#346).
    const signature = signatureHex(deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3'), stringToSign(when.toUTCString(), scope, canonical));
    const authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
    return raw(d.port, { method: 'GET', path, headers: { ...headers, date: sent, authorization }, sign: false });
  };
  const now = new Date();
  t.equal((await get(now, true)).status, 200, 'a signed Date of now: 200');
  const then = new Date(now.getTime() - 60 * 60_000);
  const skewed = await get(then, true);
  assertXmlError(t, skewed, 403, 'RequestTimeTooSkewed', 'a signed Date an hour old');
  t.equal(xmlField(skewed.body, 'RequestTime'), then.toUTCString(), '<RequestTime> is the Date header as sent');
  // Unsigned, as S3 takes it: the string to sign holds the Date, so a fresh one is a mismatch.
  t.equal((await get(now, false)).status, 200, 'an unsigned Date of now: 200');
  // Signed an hour away on the same UTC day: across midnight its credential's date would not be
  // the request's, which S3 refuses first (400 AuthorizationHeaderMalformed; CI met it at 00:06 UTC).
  const sameDay = now.getUTCHours() >= 1 ? then : new Date(now.getTime() + 60 * 60_000);
  t.equal(formatAmzDate(sameDay).slice(0, 8), formatAmzDate(now).slice(0, 8), 'signed on the day it is sent');
  assertXmlError(t, await get(sameDay, false, now.toUTCString()), 403, 'SignatureDoesNotMatch', 'a request signed an hour away sent with a fresh unsigned Date');
});

t.test('a query parameter given twice with different values is 400 InvalidArgument: SigV4 signs the pairs sorted by value, not in their order', async (t) => {
  // s3d acts on a parameter's first value; a request signed for ?prefix=a&prefix=b passed as
  // ?prefix=b&prefix=a too (the same canonical query) and listed the keys under b.
  for (const k of ['a1', 'b1']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `rep/${k}`, Body: k }));
  for (const query of ['list-type=2&prefix=rep%2Fa&prefix=rep%2Fb', 'list-type=2&prefix=rep%2Fb&prefix=rep%2Fa']) {
    const res = await raw(d.port, { method: 'GET', path: `/${bucket}`, query });
    assertXmlError(t, res, 400, 'InvalidArgument', query);
    t.equal(xmlField(res.body, 'ArgumentName'), 'prefix', 'naming the parameter');
  }
  const same = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&prefix=rep%2Fa&prefix=rep%2Fa' });
  t.equal(same.status, 200, 'the same value twice: no doubt what was signed');
  t.match(same.body.toString(), /<Key>rep\/a1<\/Key>/);
  t.notMatch(same.body.toString(), /rep\/b1/);
  const flags = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'versioning&versioning' });
  t.equal(flags.status, 200, 'a sub-resource named twice (no value) is one');
  // An unsigned one is judged by its signature first, as before.
  const unsigned = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'prefix=a&prefix=b', sign: false });
  t.equal(unsigned.status, 403, 'without a signature: AccessDenied first');
});

t.test('a presigned URL of X-Amz-Expires=0 has expired however soon it comes, as S3 answers it', async (t) => {
  // S3 takes 1..604800 seconds and answers 0 with its expiry refusal, naming X-Amz-Expires 0 (the
  // ceph/s3-tests case test_object_raw_get_x_amz_expires_out_range_zero, 403). s3d judged 0 as a
  // lifetime like any other: a URL dated up to the clock skew ahead was served until its date.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'zero', Body: 'zero' }));
  const path = `/${bucket}/zero`;
  const presignGet = (expires: number, when: Date): string => {
    const amzDate = formatAmzDate(when);
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${uriEncode(`${ACCESS_KEY}/${scope}`)}&X-Amz-Date=${amzDate}&X-Amz-Expires=${expires}&X-Amz-SignedHeaders=host`;
    const canonical = canonicalRequest({ method: 'GET', rawPath: path, rawQuery: query, headers: { host }, signedHeaders: ['host'], payloadHash: 'UNSIGNED-PAYLOAD', presigned: true });
    const signature = signatureHex(deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3'), stringToSign(amzDate, scope, canonical));
    return `${query}&X-Amz-Signature=${signature}`;
  };
  const get = (query: string) => raw(d.port, { method: 'GET', path, query, sign: false });
  // Dated a minute ahead (within the 15 minutes' skew) and again now, on the same UTC day.
  const now = new Date();
  const ahead = new Date(now.getTime() + 60_000);
  const when = formatAmzDate(ahead).slice(0, 8) === formatAmzDate(now).slice(0, 8) ? ahead : now;
  t.equal((await get(presignGet(1, when))).status, 200, 'X-Amz-Expires=1, otherwise the same URL: 200');
  for (const [what, date] of [['dated ahead', when], ['dated now', now]] as const) {
    const res = await get(presignGet(0, date));
    assertXmlError(t, res, 403, 'AccessDenied', `X-Amz-Expires=0, ${what}`);
    t.same([xmlField(res.body, 'Message'), xmlField(res.body, 'X-Amz-Expires')], ['Request has expired', '0'], `${what}: S3's message, naming X-Amz-Expires 0`);
    t.equal(xmlField(res.body, 'Expires'), new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z'), `${what}: it expired at its date`);
  }
  // The other values S3 refuses, as it words them: 400 AuthorizationQueryParametersError.
  const refused: Array<[string, string]> = [
    ['-1', 'X-Amz-Expires must be non-negative'],
    ['abc', 'X-Amz-Expires should be a number'],
    ['604801', 'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds'],
  ];
  for (const [value, message] of refused) {
    const res = await get(presignGet(60, now).replace('X-Amz-Expires=60', `X-Amz-Expires=${value}`));
    assertXmlError(t, res, 400, 'AuthorizationQueryParametersError', `X-Amz-Expires=${value}`);
    t.equal(xmlField(res.body, 'Message'), message, `X-Amz-Expires=${value}: S3's message`);
  }
});

t.test('a presigned URL whose X-Amz-SignedHeaders leaves out host is S3\u2019s AccessDenied naming host in HeadersNotSigned, empty list or not', async (t) => {
  // S3's answer to `X-Amz-SignedHeaders=` (amazonka#272 quotes it): 403 AccessDenied, "There were
  // headers present in the request which were not signed", HeadersNotSigned host; what s3d
  // answers a header that leaves host out too. s3d answered 400 AuthorizationQueryParametersError
  // in words of its own ("is malformed", "must include host").
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hostless', Body: 'hostless' }));
  const path = `/${bucket}/hostless`;
  /** A GET URL signing `signed` (their values as sent), its signature right for them. */
  const presignGet = (signed: Record<string, string>): string => {
    const amzDate = formatAmzDate(new Date());
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const names = Object.keys(signed);
    const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${uriEncode(`${ACCESS_KEY}/${scope}`)}&X-Amz-Date=${amzDate}&X-Amz-Expires=300&X-Amz-SignedHeaders=${uriEncode(names.join(';'))}`;
    const canonical = canonicalRequest({ method: 'GET', rawPath: path, rawQuery: query, headers: signed, signedHeaders: names, payloadHash: 'UNSIGNED-PAYLOAD', presigned: true });
    const signature = signatureHex(deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3'), stringToSign(amzDate, scope, canonical));
    return `${query}&X-Amz-Signature=${signature}`;
  };
  const get = (query: string, headers: Record<string, string> = {}) => raw(d.port, { method: 'GET', path, query, headers, sign: false });
  const withHost = await get(presignGet({ host, 'x-amz-meta-a': '1' }), { 'x-amz-meta-a': '1' });
  t.same([withHost.status, withHost.body.toString()], [200, 'hostless'], 'the same URL signing host too: served');
  const cases: Array<[string, Record<string, string>, Record<string, string>, string]> = [
    ['an empty list', {}, {}, 'host'],
    ['a list of x-amz-meta-a alone', { 'x-amz-meta-a': '1' }, { 'x-amz-meta-a': '1' }, 'host'],
    ['and an unsigned x-amz-meta-b beside it', { 'x-amz-meta-a': '1' }, { 'x-amz-meta-a': '1', 'x-amz-meta-b': '2' }, 'x-amz-meta-b, host'],
  ];
  for (const [what, signed, sent, notSigned] of cases) {
    const res = await get(presignGet(signed), sent);
    assertXmlError(t, res, 403, 'AccessDenied', what);
    t.same([xmlField(res.body, 'Message'), xmlField(res.body, 'HeadersNotSigned')], ['There were headers present in the request which were not signed', notSigned], `${what}: HeadersNotSigned ${notSigned}`);
  }
});

t.test('an unsigned request whose query starts with a second "?" is no presigned one to the bucket policy', async (t) => {
  // The router and the policy's s3:authType read the query without a '?' that starts it
  // (URLSearchParams); the signature check read `?X-Amz-Signature`, no presigned parameter, so
  // `/b/k??X-Amz-Signature=x` went on unsigned while the policy judged it presigned with V4: a
  // statement granting presigned (REST-QUERY-STRING) requests to anyone let it through, no key.
  const pb = bucketName('authedge-qmark');
  await s3.send(new CreateBucketCommand({ Bucket: pb }));
  await s3.send(new PutObjectCommand({ Bucket: pb, Key: 'k', Body: 'for presigned URLs only' }));
  const grant = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${pb}/*`], Condition: { StringEquals: { 's3:authType': 'REST-QUERY-STRING', 's3:signatureversion': 'AWS4-HMAC-SHA256' } } }] };
  await s3.send(new PutBucketPolicyCommand({ Bucket: pb, Policy: JSON.stringify(grant) }));
  const get = (query: string) => raw(d.port, { method: 'GET', path: `/${pb}/k`, query, sign: false });
  t.equal((await get('')).status, 403, 'anonymous: AccessDenied');
  assertXmlError(t, await get('X-Amz-Credential=x'), 400, 'AuthorizationQueryParametersError', 'a presigned parameter alone is a presigned URL that is not complete');
  // An X-Amz-Signature alone is unsigned, to the signature check and to the policy alike (S3 reads
  // it so): anonymous, and not granted as a presigned request.
  assertXmlError(t, await get('X-Amz-Signature=x'), 403, 'AccessDenied', 'an X-Amz-Signature alone is anonymous, not presigned');
  const sneaked = await get('?X-Amz-Credential=x');
  t.notOk(sneaked.status === 200, 'after a second "?" it is read as the policy reads it, not passed unsigned');
  assertXmlError(t, sneaked, 400, 'AuthorizationQueryParametersError', 'the same presigned URL that is not complete');
  t.notMatch(sneaked.body.toString(), /presigned URLs only/, 'the object is not answered');
});

t.test('a header sent on two lines is signed as its values joined by ",", each trimmed, its runs of spaces and tabs one space', async (t) => {
  // AWS's canonical headers (SigV4, "Create a canonical request"): lower-case names, values
  // trimmed with sequential white space made one space, a header's values comma-separated in the
  // order sent. Written out by hand here, not by s3d's canonicalRequest, so a change to how the
  // daemon joins repeated lines or collapses spaces fails the signature the AWS signers compute.
  const path = `/${bucket}/canonical-values`;
  const put = (canonicalValues: { list: string; spaced: string }): Promise<RawResponse> => {
    const amzDate = formatAmzDate(new Date());
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    // The header lines as sent, in order: x-amz-meta-list twice.
    const lines: Array<[string, string]> = [
      ['Host', host],
      ['X-Amz-Content-Sha256', 'UNSIGNED-PAYLOAD'],
      ['X-Amz-Date', amzDate],
      ['X-Amz-Meta-List', 'one'],
      ['X-Amz-Meta-List', '  two   and\t\tthree '],
      ['X-Amz-Meta-Spaced', 'a    b'],
    ];
    const signed = 'host;x-amz-content-sha256;x-amz-date;x-amz-meta-list;x-amz-meta-spaced';
    const headerBlock = `host:${host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:${amzDate}\nx-amz-meta-list:${canonicalValues.list}\nx-amz-meta-spaced:${canonicalValues.spaced}\n`;
    const canonical = ['PUT', path, '', headerBlock, signed, 'UNSIGNED-PAYLOAD'].join('\n');
    const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, amzDate.slice(0, 8)), REGION), 's3'), 'aws4_request');
    const signature = createHmac('sha256', key).update(`AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`).digest('hex');
    const authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signed}, Signature=${signature}`;
    // Node's client sends a flat [name, value, …] list as separate lines, repeated names included.
    const headers = [...lines, ['Authorization', authorization], ['Content-Length', '4']].flat();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: d.port, method: 'PUT', path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end('body');
    });
  };
  t.equal((await put({ list: 'one,two and three', spaced: 'a b' })).status, 200, 'signed as AWS canonicalises it: stored');
  // Each a signer that got one rule otherwise, so the 200 above is not a signature s3d never checks.
  const otherwise: Array<[string, { list: string; spaced: string }]> = [
    ['the lines joined by ", "', { list: 'one, two and three', spaced: 'a b' }],
    ['a value with its runs of white space kept', { list: 'one,two   and\t\tthree', spaced: 'a b' }],
    ['the last line alone', { list: 'two and three', spaced: 'a b' }],
    ['runs of spaces kept', { list: 'one,two and three', spaced: 'a    b' }],
  ];
  for (const [what, values] of otherwise) assertXmlError(t, await put(values), 403, 'SignatureDoesNotMatch', what);
});

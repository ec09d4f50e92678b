// Condition keys that describe how a request was signed read the request as authentication read
// it, against one real daemon: a presigned URL's user adding an unsigned x-amz-content-sha256
// (authentication ignores it) does not give the request an s3:x-amz-content-sha256 key, and
// s3:signatureAge comes from the date authentication took (an x-amz-date with spaces around it, a
// Signature V2 x-amz-date in ISO 8601's basic form), so a Deny on its age is not dodged.

import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { canonicalRequest, deriveSigningKey, formatAmzDate, signatureHex, stringToSign } from '../../daemon/auth/sigv4.js';
import { presignUrl } from '../../daemon/auth/sign.js';
import { REGION, bucketName } from '../helpers/daemon.js';
import { objectPath } from '../helpers/bucket-policy.js';
import { parseHttpResponse, tcpExchange } from '../helpers/tcp.js';
import { allow, deny, doc, startDaemonWithUsers } from '../helpers/users.js';

const B = bucketName('sigkeys');
const USER = 'sigkeys-user';
const SECRET = 'sigkeys-secret-0001';
const policies = {
  sigkeys: doc(
    allow(['s3:*'], [B, `${B}/*`]),
    // Writes under hashed/ only with a payload hash a signature covers (presigned URLs have none).
    deny(['s3:PutObject'], [`${B}/hashed/*`], { Null: { 's3:x-amz-content-sha256': 'true' } }),
    // Reads only within 5 seconds of signing.
    deny(['s3:GetObject'], [`${B}/*`], { NumericGreaterThan: { 's3:signatureAge': '5000' } }),
  ),
};
const { d } = await startDaemonWithUsers(t, { policies, users: [{ accessKey: USER, secretKey: SECRET, policies: ['sigkeys'] }] }, { S3_SIGV2: 'on' });
const root = d.s3();
await root.send(new CreateBucketCommand({ Bucket: B }));
await root.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'v' }));
const host = `127.0.0.1:${d.port}`;

/** The status of a request written byte for byte (header lines as given). */
async function wire(method: string, target: string, headers: string[], body = ''): Promise<number> {
  const head = [`${method} ${target} HTTP/1.1`, `host: ${host}`, ...headers, `content-length: ${Buffer.byteLength(body)}`, 'connection: close'].join('\r\n');
  const { data } = await tcpExchange(d.port, `${head}\r\n\r\n${body}`, { untilResponse: true });
  return parseHttpResponse(data)?.status ?? 0;
}

t.test('a presigned URL with an unsigned x-amz-content-sha256 has no s3:x-amz-content-sha256 key', async (t) => {
  const body = 'presigned';
  const hash = createHash('sha256').update(body).digest('hex');
  const path = objectPath(B, 'hashed/p');
  const url = presignUrl({ method: 'PUT', rawPath: path, headers: { host }, accessKeyId: USER, secretAccessKey: SECRET, region: REGION, expiresIn: 60 });
  t.equal(await wire('PUT', url, [], body), 403, 'without the header: no key, the Deny applies');
  // Authentication ignores the header (the payload stays UNSIGNED-PAYLOAD): the policy must too.
  t.equal(await wire('PUT', url, [`x-amz-content-sha256: ${hash}`], body), 403, 'an unsigned header adds no key');
  // A URL signing the header: the hash is its payload hash (the canonical request's last line).
  const amzDate = formatAmzDate(new Date());
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const signedQuery = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${USER}%2F${scope.replaceAll('/', '%2F')}&X-Amz-Date=${amzDate}&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-amz-content-sha256`;
  const headers = { host, 'x-amz-content-sha256': hash };
  const canonical = canonicalRequest({ method: 'PUT', rawPath: path, rawQuery: signedQuery, headers, signedHeaders: ['host', 'x-amz-content-sha256'], payloadHash: hash, presigned: true });
  const signature = signatureHex(deriveSigningKey(SECRET, amzDate.slice(0, 8), REGION, 's3'), stringToSign(amzDate, scope, canonical));
  t.equal(await wire('PUT', `${path}?${signedQuery}&X-Amz-Signature=${signature}`, [`x-amz-content-sha256: ${hash}`], body), 200, 'a header the URL signs is the key');
});

t.test('s3:signatureAge is read from the date authentication took', async (t) => {
  const path = objectPath(B, 'k');
  const signV4 = (amzDate: string): string => {
    const headers = { host, 'x-amz-date': amzDate, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const signed = ['host', 'x-amz-content-sha256', 'x-amz-date'];
    const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const canonical = canonicalRequest({ method: 'GET', rawPath: path, rawQuery: '', headers, signedHeaders: signed, payloadHash: 'UNSIGNED-PAYLOAD' });
    const signature = signatureHex(deriveSigningKey(SECRET, amzDate.slice(0, 8), REGION, 's3'), stringToSign(amzDate, scope, canonical));
    return `authorization: AWS4-HMAC-SHA256 Credential=${USER}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  };
  const v4 = async (ageMs: number, pad: (date: string) => string): Promise<number> => {
    const amzDate = formatAmzDate(new Date(Date.now() - ageMs));
    return wire('GET', path, [signV4(amzDate), `x-amz-date: ${pad(amzDate)}`, 'x-amz-content-sha256: UNSIGNED-PAYLOAD']);
  };
  t.equal(await v4(0, (x) => x), 200, 'V4, just signed');
  t.equal(await v4(60_000, (x) => x), 403, 'V4, signed a minute ago: denied');
  t.equal(await v4(60_000, (x) => `${x}  `), 403, 'V4, an x-amz-date with spaces after it (the signature trims them): denied still');
  // V4 reads an x-amz-date written as an HTTP date too, and a Date it does not sign, each signed as sent.
  const v4Http = async (ageMs: number, name: 'x-amz-date' | 'date'): Promise<number> => {
    const at = new Date(Date.now() - ageMs);
    const headers = { host, [name]: at.toUTCString(), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const signed = name === 'date' ? ['host', 'x-amz-content-sha256'] : ['host', 'x-amz-content-sha256', 'x-amz-date'];
    const scope = `${formatAmzDate(at).slice(0, 8)}/${REGION}/s3/aws4_request`;
    const canonical = canonicalRequest({ method: 'GET', rawPath: path, rawQuery: '', headers, signedHeaders: signed, payloadHash: 'UNSIGNED-PAYLOAD' });
    const signature = signatureHex(deriveSigningKey(SECRET, scope.slice(0, 8), REGION, 's3'), stringToSign(at.toUTCString(), scope, canonical));
    const authorization = `authorization: AWS4-HMAC-SHA256 Credential=${USER}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
    return wire('GET', path, [authorization, `${name}: ${at.toUTCString()}`, 'x-amz-content-sha256: UNSIGNED-PAYLOAD']);
  };
  t.equal(await v4Http(0, 'x-amz-date'), 200, 'V4, an RFC 1123 x-amz-date just signed');
  t.equal(await v4Http(60_000, 'x-amz-date'), 403, 'V4, an RFC 1123 x-amz-date signed a minute ago: denied');
  t.equal(await v4Http(0, 'date'), 200, 'V4, an unsigned Date of now');
  t.equal(await v4Http(60_000, 'date'), 403, 'V4, an unsigned Date a minute old: denied');
  // Signature V2 takes an x-amz-date in ISO 8601's basic form as well as an HTTP date.
  const v2 = (ageMs: number): Promise<number> => {
    const amzDate = formatAmzDate(new Date(Date.now() - ageMs));
    const signature = createHmac('sha1', SECRET).update(`GET\n\n\n\nx-amz-date:${amzDate}\n${path}`).digest('base64');
    return wire('GET', path, [`x-amz-date: ${amzDate}`, `authorization: AWS ${USER}:${signature}`]);
  };
  t.equal(await v2(0), 200, 'V2, just signed');
  t.equal(await v2(60_000), 403, 'V2, x-amz-date in the basic form, signed a minute ago: denied');
});

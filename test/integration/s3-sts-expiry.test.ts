// Temporary credentials at the edges of their validity and of what their STS request signs,
// against the real daemon, whose wall clock a preload moves forward (Date and Date.now, by the
// milliseconds a file says): a session's token ends its requests at its expiry, signed in the
// header or in a presigned URL whose X-Amz-Expires runs longer, and a presigned AssumeRole whose
// signed X-Amz-Content-Sha256 (in the query, or as a signed header) is not its body's is refused
// (the body would otherwise widen the session the URL's signer asked for).
import t from 'tap';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignUrl } from '../../daemon/auth/sign.js';
import { canonicalRequest, deriveSigningKey, formatAmzDate, signatureHex, stringToSign, uriEncode } from '../../daemon/auth/sigv4.js';
import { REGION, bucketName, s3Client } from '../helpers/daemon.js';
import { s3Code } from '../helpers/s3.js';
import { allow, doc, startDaemonWithUsers } from '../helpers/users.js';

const B = bucketName('stsexp');
const APP = { accessKey: 'exp-app', secretKey: 'exp-app-secret-1', policies: ['app'] };
const iam = { policies: { app: doc(allow(['s3:GetObject', 's3:PutObject'], [`${B}/*`])) }, users: [APP] };

// The daemon's clock: real time plus the milliseconds in `offsetFile` (read at most every 20 ms).
const work = mkdtempSync(join(tmpdir(), 's3d-sts-clock-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const offsetFile = join(work, 'offset');
writeFileSync(offsetFile, '0');
const preload = join(work, 'shifted-clock.mjs');
writeFileSync(
  preload,
  `import { readFileSync } from 'node:fs';
const RealDate = Date;
const realNow = RealDate.now.bind(RealDate);
let offset = 0;
let readAt = -Infinity;
const now = () => {
  const real = realNow();
  if (real - readAt > 20) {
    readAt = real;
    offset = Number(readFileSync(${JSON.stringify(offsetFile)}, 'utf8')) || 0;
  }
  return real + offset;
};
globalThis.Date = new Proxy(RealDate, {
  construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget),
  apply: () => new RealDate(now()).toString(),
  get: (target, prop, receiver) => (prop === 'now' ? now : Reflect.get(target, prop, receiver)),
});
`,
);
const shift = async (ms: number): Promise<void> => {
  writeFileSync(offsetFile, String(ms));
  await new Promise((r) => setTimeout(r, 50));
};
const { d } = await startDaemonWithUsers(t, iam, { NODE_OPTIONS: `--import=${pathToFileURL(preload).href}` });
await d.s3().send(new CreateBucketCommand({ Bucket: B }));
await d.s3().send(new PutObjectCommand({ Bucket: B, Key: 'a.txt', Body: 'a' }));

t.test('a session ends at its expiry: header-signed requests and presigned URLs that run longer', async (t) => {
  const sts = new STSClient({ endpoint: d.endpoint, region: REGION, credentials: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey }, maxAttempts: 1 });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::000000000000:role/any', RoleSessionName: 'expiry', DurationSeconds: 900 }))).Credentials!;
  const credentials = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
  // The SDK signs at the daemon's time (systemClockOffset), so that only the token's expiry can refuse it.
  const at = (offsetMs: number) => s3Client(d.endpoint, undefined, true, { credentials, maxAttempts: 1, systemClockOffset: offsetMs });
  const session = at(0);
  const presigned = await getSignedUrl(session, new GetObjectCommand({ Bucket: B, Key: 'a.txt' }), { expiresIn: 7 * 24 * 3600 });
  const user = s3Client(d.endpoint, undefined, true, { credentials: { accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey }, maxAttempts: 1 });
  const userUrl = await getSignedUrl(user, new GetObjectCommand({ Bucket: B, Key: 'a.txt' }), { expiresIn: 7 * 24 * 3600 });
  t.equal((await fetch(presigned)).status, 200, 'a presigned URL of the session, valid 7 days');
  t.equal(await s3Code(session.send(new GetObjectCommand({ Bucket: B, Key: 'a.txt' }))), 'ok', 'a header-signed request');
  t.teardown(() => shift(0));
  await shift(880_000);
  t.equal((await fetch(presigned)).status, 200, '880 s later: the URL still works');
  t.equal(await s3Code(at(880_000).send(new GetObjectCommand({ Bucket: B, Key: 'a.txt' }))), 'ok', 'and so do signed requests');
  await shift(905_000);
  const late = await fetch(presigned);
  t.equal(late.status, 400, 'past the session\u2019s expiry: the URL is refused, its X-Amz-Expires notwithstanding');
  t.match(await late.text(), /<Code>ExpiredToken<\/Code>/);
  t.equal(await s3Code(at(905_000).send(new GetObjectCommand({ Bucket: B, Key: 'a.txt' }))), 'ExpiredToken/400', 'so is a request signed in the header at that time');
  t.equal((await fetch(userUrl)).status, 200, 'the user\u2019s own 7-day URL still works then (the clock moved, not the presigning rules)');
});

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('a presigned AssumeRole: its body must be the one whose hash the URL signs', async (t) => {
  const signedBody = `Action=AssumeRole&Version=2011-06-15&DurationSeconds=900&Policy=${encodeURIComponent(JSON.stringify(doc(allow(['s3:GetObject'], [`${B}/public/*`]))))}`;
  const hash = createHash('sha256').update(signedBody).digest('hex');
  const url = presignUrl({ method: 'POST', rawPath: '/', headers: { host: `127.0.0.1:${d.port}` }, accessKeyId: APP.accessKey, secretAccessKey: APP.secretKey, region: REGION, service: 'sts', expiresIn: 300, payloadHash: hash });
  const ok = await post(url, signedBody);
  t.equal(ok.status, 200, 'the signed body: 200');
  // The same URL with another body: no session policy, the longest duration.
  const swapped = await post(url, 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=604800');
  t.equal(swapped.status, 403, `another body: 403 ${swapped.body}`);
  t.match(swapped.body, /<Code>SignatureDoesNotMatch<\/Code>/, 'as S3 answers a presigned URL\u2019s body that is not the one signed');
  t.notMatch(swapped.body, /SessionToken/, 'no credentials');
});

t.test('a presigned AssumeRole signing x-amz-content-sha256 as a header: its body must be the one hashed', async (t) => {
  const signedBody = `Action=AssumeRole&Version=2011-06-15&DurationSeconds=900&Policy=${encodeURIComponent(JSON.stringify(doc(allow(['s3:GetObject'], [`${B}/public/*`]))))}`;
  const hash = createHash('sha256').update(signedBody).digest('hex');
  // The header signed, its value the canonical payload hash (Swift's S3SessionV4Query; not hoisted into the query).
  const headers = { host: `127.0.0.1:${d.port}`, 'x-amz-content-sha256': hash };
  const amzDate = formatAmzDate(new Date());
  const scope = `${amzDate.slice(0, 8)}/${REGION}/sts/aws4_request`;
  const rawQuery = [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${APP.accessKey}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', '300'],
    ['X-Amz-SignedHeaders', 'host;x-amz-content-sha256'],
  ]
    .map(([n, v]) => `${n}=${uriEncode(v!)}`)
    .join('&');
  const canonical = canonicalRequest({ method: 'POST', rawPath: '/', rawQuery, headers, signedHeaders: ['host', 'x-amz-content-sha256'], payloadHash: hash, presigned: true });
  const signature = signatureHex(deriveSigningKey(APP.secretKey, amzDate.slice(0, 8), REGION, 'sts'), stringToSign(amzDate, scope, canonical));
  const url = `/?${rawQuery}&X-Amz-Signature=${signature}`;
  const ok = await post(url, signedBody, { 'x-amz-content-sha256': hash });
  t.equal(ok.status, 200, `the signed body: 200 ${ok.body}`);
  // The same URL and header with another body: no session policy, the longest duration.
  const swapped = await post(url, 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=604800', { 'x-amz-content-sha256': hash });
  t.equal(swapped.status, 403, `another body: 403 ${swapped.body}`);
  t.match(swapped.body, /<Code>SignatureDoesNotMatch<\/Code>/, 'as for a hash the query signs');
  t.notMatch(swapped.body, /SessionToken/, 'no credentials');
});

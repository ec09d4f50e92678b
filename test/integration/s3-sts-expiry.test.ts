// Temporary credentials at the edges of their validity and of what their STS request signs,
// against the real daemon: a presigned AssumeRole whose signed X-Amz-Content-Sha256 is not its
// body's is refused (the body would otherwise widen the session the URL's signer asked for).
import t from 'tap';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { presignUrl } from '../../daemon/auth/sign.js';
import { REGION } from '../helpers/daemon.js';
import { allow, doc, startDaemonWithUsers } from '../helpers/users.js';
import { bucketName } from '../helpers/daemon.js';

const B = bucketName('stsexp');
const APP = { accessKey: 'exp-app', secretKey: 'exp-app-secret-1', policies: ['app'] };
const iam = { policies: { app: doc(allow(['s3:GetObject', 's3:PutObject'], [`${B}/*`])) }, users: [APP] };
const { d } = await startDaemonWithUsers(t, iam);

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
  t.equal(ok.status, 200, `the signed body: 200 ${ok.body}`);
  // The same URL with another body: no session policy, the longest duration.
  const swapped = await post(url, 'Action=AssumeRole&Version=2011-06-15&DurationSeconds=604800');
  t.equal(swapped.status, 403, `another body: 403 ${swapped.body}`);
  t.match(swapped.body, /<Code>SignatureDoesNotMatch<\/Code>/, 'as S3 answers a presigned URL\u2019s body that is not the one signed');
  t.notMatch(swapped.body, /SessionToken/, 'no credentials');
});

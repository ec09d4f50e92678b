// S3_TRUSTED_PROXIES against the real daemon: behind a trusted reverse proxy, X-Forwarded-For
// names the client for aws:SourceIp (read from the nearest hop back, so a client cannot choose its
// address by prepending one) and the access log, and X-Forwarded-Proto https counts as HTTPS for
// aws:SecureTransport and SSE-C; from any other peer both headers are ignored. A list that would
// trust everyone, or is no list of addresses, stops the start.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { bucketName, startDaemon, startDaemonFor } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { policy, stmt } from '../helpers/bucket-policy.js';
import { ssecHeaders } from '../helpers/sse.js';

const B = bucketName('proxied');
const [behind, direct, reencrypted] = await Promise.all([
  startDaemonFor(t, { env: { S3_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8', S3_ACCESS_LOG: 'all' } }),
  startDaemonFor(t, { env: { S3_ACCESS_LOG: 'all' } }),
  // Behind a proxy that re-encrypts: s3d's own TLS is the proxy's connection, not the client's.
  startDaemonFor(t, { tls: true, env: { S3_TRUSTED_PROXIES: '127.0.0.1' } }),
]);
for (const d of [behind, direct, reencrypted]) {
  await d.s3().send(new CreateBucketCommand({ Bucket: B }));
  await d.s3().send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'for 203.0.113.0/24' }));
  await d.s3().send(new PutObjectCommand({ Bucket: B, Key: 'tls', Body: 'over https only' }));
  await d.s3().send(new PutObjectCommand({ Bucket: B, Key: 'tls12', Body: 'over TLS 1.2 or later' }));
  await d.s3().send(
    new PutBucketPolicyCommand({
      Bucket: B,
      Policy: policy(
        stmt('Allow', ['s3:GetObject'], [`${B}/k`], { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }),
        stmt('Allow', ['s3:GetObject'], [`${B}/tls`], { Bool: { 'aws:SecureTransport': 'true' } }),
        stmt('Allow', ['s3:GetObject'], [`${B}/tls12`], { NumericGreaterThanEquals: { 's3:TlsVersion': '1.2' } }),
      ),
    }),
  );
}
const agentOf = (d: typeof behind): { agent?: HttpsAgent } => (d.caCert === undefined ? {} : { agent: new HttpsAgent({ ca: d.caCert, servername: 'localhost' }) });
const get = async (d: typeof behind, key: string, headers: Record<string, string> = {}): Promise<number> => (await raw(d.port, { method: 'GET', path: `/${B}/${key}`, headers, sign: false, ...agentOf(d) })).status;

t.test('X-Forwarded-For from a trusted proxy names the client for aws:SourceIp', async (t) => {
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7' }), 200, 'the client the proxy names');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '198.51.100.1' }), 403, 'another client');
  t.equal(await get(behind, 'k'), 403, 'no header: the proxy itself');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7, 10.1.2.3' }), 200, 'through a second trusted proxy');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' }), 403, 'a client cannot prepend the address it wants: the nearest untrusted hop is the client');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': 'unknown, 203.0.113.7' }), 200, 'hops before the client do not matter');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7:4711' }), 200, 'an address with its port (Azure Application Gateway) is that address');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7, 10.1.2.3:80' }), 200, 'also a trusted proxy\u2019s');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7, [2001:db8::7]:4711' }), 403, 'an IPv6 client in brackets is that client, not the one before it');
  t.equal(await get(behind, 'k', { 'x-forwarded-for': '203.0.113.7, proxy.example:80' }), 403, 'an entry that is no address: the proxy is the client');
  t.equal(await get(direct, 'k', { 'x-forwarded-for': '203.0.113.7' }), 403, 'without S3_TRUSTED_PROXIES the header is ignored');
});

t.test('X-Forwarded-Proto https from a trusted proxy: aws:SecureTransport, and SSE-C over the proxy\u2019s HTTPS', async (t) => {
  t.equal(await get(behind, 'tls', { 'x-forwarded-proto': 'https' }), 200, 'HTTPS to the proxy');
  t.equal(await get(behind, 'tls', { 'x-forwarded-proto': 'http' }), 403, 'HTTP to the proxy');
  t.equal(await get(behind, 'tls'), 403, 'no header: plain HTTP');
  t.equal(await get(direct, 'tls', { 'x-forwarded-proto': 'https' }), 403, 'from an untrusted peer the header is ignored');
  t.equal(await get(behind, 'tls12', { 'x-forwarded-proto': 'https' }), 403, 's3:TlsVersion is not the proxy\u2019s to say (the client\u2019s version is unknown): no key');
  const key = randomBytes(32);
  const put = (d: typeof behind, headers: Record<string, string>) => raw(d.port, { method: 'PUT', path: `/${B}/ssec`, body: 'secret', headers: { ...ssecHeaders(key), ...headers }, sign: { payloadHash: 'hash' } });
  t.equal((await put(behind, { 'x-forwarded-proto': 'https' })).status, 200, 'SSE-C behind a TLS-terminating trusted proxy');
  const refused = await put(direct, { 'x-forwarded-proto': 'https' });
  t.equal(refused.status, 400, 'SSE-C over plain HTTP to s3d itself: still refused');
  t.match(refused.body.toString(), /must be made over a secure connection/);
});

t.test('X-Forwarded-Proto http from a trusted proxy that re-encrypts to s3d’s TLS: not HTTPS', async (t) => {
  t.equal(await get(reencrypted, 'tls'), 200, 'no word from the proxy: s3d’s own TLS');
  t.equal(await get(reencrypted, 'tls', { 'x-forwarded-proto': 'https' }), 200, 'HTTPS to the proxy');
  t.equal(await get(reencrypted, 'tls', { 'x-forwarded-proto': 'http' }), 403, 'plain HTTP to the proxy: aws:SecureTransport false');
  t.equal(await get(reencrypted, 'tls12', { 'x-forwarded-proto': 'http' }), 403, 'and no s3:TlsVersion');
  t.equal(await get(reencrypted, 'tls12'), 200, 's3:TlsVersion of s3d’s own TLS otherwise');
  const key = randomBytes(32);
  const put = (headers: Record<string, string>) => raw(reencrypted.port, { method: 'PUT', path: `/${B}/ssec`, body: 'secret', headers: { ...ssecHeaders(key), ...headers }, sign: { payloadHash: 'hash' }, ...agentOf(reencrypted) });
  t.equal((await put({ 'x-forwarded-proto': 'https' })).status, 200, 'SSE-C over HTTPS to the proxy');
  const refused = await put({ 'x-forwarded-proto': 'http' });
  t.equal(refused.status, 400, 'SSE-C over plain HTTP to the proxy: the customer key crossed the network in clear');
  t.match(refused.body.toString(), /must be made over a secure connection/);
});

t.test('the access log names the client', async (t) => {
  await get(behind, 'k', { 'x-forwarded-for': '203.0.113.99' });
  const line = await behind.waitForLog((l) => l.msg === 'request' && l.client === '203.0.113.99');
  t.equal(line.status, 200, 'the forwarded client, on its request\u2019s line');
  await get(behind, 'k', { 'x-forwarded-for': '[2001:DB8::99]:4711' });
  const v6 = await behind.waitForLog((l) => l.msg === 'request' && l.client === '2001:db8::99');
  t.equal(v6.status, 403, 'an IPv6 client the proxy gave in brackets with its port, written as usual');
  await get(direct, 'k', { 'x-forwarded-for': '203.0.113.99' });
  const peer = await direct.waitForLog((l) => l.msg === 'request' && l.op === 'GetObject' && l.status === 403);
  t.match(String(peer.client), /^(::ffff:)?127\.0\.0\.1$|^::1$/, 'without trust, the TCP peer');
});

t.test('a list that would trust everyone, or that is no list of addresses, stops the start', async (t) => {
  for (const [value, why] of [['0.0.0.0/0', /every address/], ['127.0.0.1, proxy.example', /comma-separated list of IP addresses/], ['::/0', /every address/]] as const) {
    const err = await startDaemon({ env: { S3_TRUSTED_PROXIES: value } }).then(
      async (d) => {
        await d.stop();
        d.cleanup();
        return 'started';
      },
      (e: Error) => e.message,
    );
    t.match(err, why, `${value}: refused`);
  }
});

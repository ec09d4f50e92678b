// The client's address as s3d reports it (access log, event notifications' sourceIPAddress) is the
// usual spelling of the address: on a dual-stack listener (S3_ADDRESS=[::]:9000) uWS spells every
// peer as eight groups of four hex digits, an IPv4 client as
// 0000:0000:0000:0000:0000:ffff:7f00:0001, and that went into the logs and events as is, where
// nothing that looks for 127.0.0.1 (or ::1) finds it.
import t from 'tap';
import { request } from 'node:http';
import { PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { createBucket } from '../helpers/s3.js';
import { policy, stmt } from '../helpers/bucket-policy.js';

/** An unsigned GET from `host` (an address of this machine) to the daemon; resolves with the status. */
function getFrom(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET', agent: false, headers: { host: `localhost:${port}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('on a dual-stack listener, IPv4 and IPv6 clients are named as they usually are', async (t) => {
  const d = await startDaemonFor(t, { env: { S3_ADDRESS: '[::]:0', S3_ACCESS_LOG: 'all' } });
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'peers');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v4', Body: 'for 127.0.0.1' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v6', Body: 'for ::1' }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: policy(
        stmt('Allow', ['s3:GetObject'], [`${bucket}/v4`], { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } }),
        stmt('Allow', ['s3:GetObject'], [`${bucket}/v6`], { IpAddress: { 'aws:SourceIp': '::1/128' } }),
        // An IPv4-mapped range (Go's ParseCIDR, so MinIO, takes it) is the IPv4 range /8.
        stmt('Allow', ['s3:GetObject'], [`${bucket}/mapped`], { IpAddress: { 'aws:SourceIp': '::ffff:127.0.0.0/104' } }),
      ),
    }),
  );

  t.equal(await getFrom('127.0.0.1', d.port, `/${bucket}/v4`), 200, 'aws:SourceIp admits the IPv4 client');
  const v4 = await d.waitForLog((l) => l.msg === 'request' && l.op === 'GetObject' && l.key === 'v4');
  t.equal(v4.client, '127.0.0.1', 'the IPv4 client in dotted form, not as an IPv4-mapped IPv6 address');

  t.equal(await getFrom('::1', d.port, `/${bucket}/v6`), 200, 'aws:SourceIp admits the IPv6 client');
  const v6 = await d.waitForLog((l) => l.msg === 'request' && l.op === 'GetObject' && l.key === 'v6');
  t.equal(v6.client, '::1', 'the IPv6 client in its compressed form (RFC 5952)');

  t.equal(await getFrom('::1', d.port, `/${bucket}/v4`), 403, 'and the IPv6 client is not the IPv4 one');

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mapped', Body: 'for ::ffff:127.0.0.0/104' }));
  t.equal(await getFrom('127.0.0.2', d.port, `/${bucket}/mapped`), 200, 'an IPv4-mapped range admits the IPv4 clients it maps');
  t.equal(await getFrom('::1', d.port, `/${bucket}/mapped`), 403, 'and no IPv6 one');
});

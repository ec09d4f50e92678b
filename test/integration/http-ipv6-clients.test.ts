// s3d on an IPv6 address (S3_ADDRESS=[::1]:PORT) with real clients pointed at http://[::1]:PORT:
// the AWS SDK v3 (path style, and virtual-host style, which it gives up for an IP literal, with
// S3_DOMAIN set), minio-js and boto3 sign the Host header `[::1]:PORT` and are answered; presigned
// URLs keep the brackets; CompleteMultipartUpload's Location is a usable URL; the `listening` line
// names one. KES and a webhook receiver on [::1] (https://[::1]:PORT): reached, their certificate
// checked against its IP address. S3_ADDRESS=:PORT (no host) listens dual-stack, as MinIO's does:
// answered on 127.0.0.1 and on [::1]. Skipped where this machine has no ::1.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, SECRET_KEY, s3Client, startDaemonFor, testPki, testServerCert } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { bodyBytes } from '../helpers/s3.js';
import { kesEnv, kesServer } from '../helpers/kes.js';
import { pollUntil } from '../helpers/wait.js';

const NO_IPV6 = await new Promise<false | string>((resolve) => {
  const probe = createNetServer();
  probe.once('error', (err: NodeJS.ErrnoException) => resolve(`no IPv6 loopback (${err.code})`));
  probe.listen(0, '::1', () => probe.close(() => resolve(false)));
});

t.test('S3_ADDRESS=:PORT listens on IPv6 and IPv4, as MinIO does', { skip: NO_IPV6 }, async (t) => {
  // It listened on 0.0.0.0 alone: a MinIO configuration (`:9000`) ported to s3d was unreachable
  // over IPv6.
  const d = await startDaemonFor(t, { env: { S3_ADDRESS: ':0' } });
  t.equal(d.jsonLogs().find((l) => l.msg === 'listening')?.address, `http://[::]:${d.port}`, 'the listening line names [::]');
  for (const host of ['127.0.0.1', '[::1]']) {
    const got = await s3Client(`http://${host}:${d.port}`, undefined).send(new ListBucketsCommand({}));
    t.ok(Array.isArray(got.Buckets ?? []), `answered on ${host}`);
  }
});

t.test('SDK v3, minio-js and boto3 against http://[::1]:PORT', { skip: NO_IPV6 }, async (t) => {
  const d = await startDaemonFor(t, { env: { S3_ADDRESS: '[::1]:0', S3_DOMAIN: 's3.example.com' } });
  const endpoint = `http://[::1]:${d.port}`;
  t.equal(d.jsonLogs().find((l) => l.msg === 'listening')?.address, endpoint, 'the listening line names a usable URL');

  for (const forcePathStyle of [true, false]) {
    const s3 = s3Client(endpoint, undefined, forcePathStyle);
    const bucket = `v6-${forcePathStyle ? 'path' : 'vhost'}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b c', Body: 'hello' }));
    t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b c' })))).toString(), 'hello', `${bucket}: GET`);
    t.same((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((c) => c.Key), ['a/b c'], `${bucket}: LIST`);
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'a/b c' }), { expiresIn: 60 });
    t.ok(url.startsWith(`${endpoint}/${bucket}/`), `${bucket}: the presigned URL's host has its brackets`);
    t.equal(await (await fetch(url)).text(), 'hello', `${bucket}: the presigned URL works`);
    const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp' }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, PartNumber: 1, Body: 'x' }));
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    t.equal(done.Location, `${endpoint}/${bucket}/mp`, `${bucket}: Location keeps the brackets`);
  }

  const mc = minioClient(d, { endPoint: '::1' });
  await mc.makeBucket('mc-v6', 'us-east-1');
  await mc.putObject('mc-v6', 'k', Buffer.from('hi'));
  const chunks: Buffer[] = [];
  for await (const c of await mc.getObject('mc-v6', 'k')) chunks.push(c as Buffer);
  t.equal(Buffer.concat(chunks).toString(), 'hi', 'minio-js: PUT and GET');
  t.equal(await (await fetch(await mc.presignedGetObject('mc-v6', 'k', 60))).text(), 'hi', 'minio-js: presigned GET');

  const home = mkdtempSync(join(tmpdir(), 's3d-v6-py-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const pyEnv = pythonEnv(home, { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY });
  t.test('boto3', { skip: noBoto3(pyEnv) }, async (t) => {
    const script = `
import json, sys, urllib.request, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')
s3.create_bucket(Bucket='py-v6')
s3.put_object(Bucket='py-v6', Key='k', Body=b'py')
url = s3.generate_presigned_url('get_object', Params={'Bucket': 'py-v6', 'Key': 'k'}, ExpiresIn=60)
print(json.dumps({'get': s3.get_object(Bucket='py-v6', Key='k')['Body'].read().decode(),
  'list': [o['Key'] for o in s3.list_objects_v2(Bucket='py-v6')['Contents']],
  'url': url, 'presigned': urllib.request.urlopen(url).read().decode()}))
`;
    const r = spawnSync(PYTHON_BIN, ['-c', script, endpoint], { env: pyEnv, encoding: 'utf8' });
    t.equal(r.status, 0, `boto3 ran: ${r.stderr.slice(-500)}`);
    const out = JSON.parse(r.stdout) as { get: string; list: string[]; url: string; presigned: string };
    t.same(out, { get: 'py', list: ['k'], url: out.url, presigned: 'py' }, 'PUT, GET, LIST and a presigned GET');
    t.ok(out.url.startsWith(`${endpoint}/py-v6/k?`), 'the presigned URL has the brackets');
  });
});

t.test('KES and a webhook receiver at https://[::1]:PORT', { skip: NO_IPV6 }, async (t) => {
  const kes = await kesServer(t, { host: '::1' });
  const pki = await testPki();
  const pem = mkdtempSync(join(tmpdir(), 's3d-v6-'));
  t.teardown(() => rmSync(pem, { recursive: true, force: true }));
  writeFileSync(join(pem, 'ca.crt'), pki.caCert);
  // The test PKI's server certificate names ::1; testServerCert's only 127.0.0.1.
  const receivers = await Promise.all(
    [pki.server, await testServerCert('not-for-::1')].map(async (cert) => {
      const seen: string[] = [];
      const server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
        req.resume();
        req.on('end', () => {
          seen.push(req.url ?? '');
          res.end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
      t.teardown(() => server.close());
      return { seen, url: `https://[::1]:${(server.address() as AddressInfo).port}/hook` };
    }),
  );
  const [good, wrongName] = receivers as [(typeof receivers)[0], (typeof receivers)[0]];
  const d = await startDaemonFor(t, {
    env: {
      ...kesEnv([kes]),
      S3_NOTIFY_WEBHOOK_ENABLE_GOOD: 'on',
      S3_NOTIFY_WEBHOOK_ENDPOINT_GOOD: good.url,
      S3_NOTIFY_WEBHOOK_ENABLE_WRONG: 'on',
      S3_NOTIFY_WEBHOOK_ENDPOINT_WRONG: wrongName.url,
      NODE_EXTRA_CA_CERTS: join(pem, 'ca.crt'),
    },
  });
  t.equal(d.jsonLogs().find((l) => l.msg === 'listening')?.kms, 'kes', 'KES at https://[::1] answered at start-up');
  const s3 = d.s3();
  await s3.send(new CreateBucketCommand({ Bucket: 'kv6' }));
  const events = ['s3:ObjectCreated:*' as const];
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: 'kv6',
      NotificationConfiguration: { QueueConfigurations: ['GOOD', 'WRONG'].map((id) => ({ QueueArn: `arn:minio:sqs::${id}:webhook`, Events: events })) },
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: 'kv6', Key: 'k', Body: 'x', ServerSideEncryption: 'aws:kms' }));
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: 'kv6', Key: 'k' })))).toString(), 'x', 'SSE-KMS through KES at [::1]');
  await pollUntil(() => good.seen.length, (n) => n === 1, 10_000, 50);
  t.same(good.seen, ['/hook'], 'the webhook at [::1] got the event');
  const failed = await d.waitForLog((l) => l.msg === 'webhook delivery failed: events stay queued and are retried' && l.target === 'WRONG');
  t.equal(failed.failure, 'ERR_TLS_CERT_ALTNAME_INVALID', 'the certificate was checked against ::1');
  t.same(wrongName.seen, [], 'a receiver whose certificate does not name ::1 gets nothing');
});

// s3d behind nginx, configured with the server block docs/operations.md gives ("Behind a reverse
// proxy"), read from that file: nginx terminates TLS (and serves plain HTTP on a second port) in
// front of a daemon that trusts it (S3_TRUSTED_PROXIES), and real clients go through it: keys
// nginx would re-encode, the SDK's aws-chunked upload with a trailing checksum, a multipart upload,
// a chunked presigned PUT, a presigned GET, signed metadata with `_` in its name, SSE-C (HTTPS only
// because nginx says so in X-Forwarded-Proto) and a virtual-host-style request. Skipped when nginx
// is neither on PATH nor /usr/sbin/nginx (.ci/run installs it; a non-root PATH may lack /usr/sbin).

import t from 'tap';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ROOT, ROOT_CREDENTIALS, REGION, bucketName, startDaemon, testBytes, testPki, testServerCert } from '../helpers/daemon.js';
import { diesWithTest } from '../helpers/dies-with-test.js';
import { missing } from '../helpers/tools.js';
import { pollUntil } from '../helpers/wait.js';

// .ci/run counts /usr/sbin/nginx as installed: so does this test, or it skipped there.
const NGINX = missing('nginx') === false ? 'nginx' : existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined;
const NO_NGINX = NGINX === undefined ? 'nginx is not installed' : false;
const MiB = 1024 * 1024;

/** The nginx block of docs/operations.md's "Behind a reverse proxy". */
function documentedBlock(): string {
  const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Behind a reverse proxy\n'));
  const m = /```nginx\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 5)));
  if (!m) throw new Error('docs/operations.md: no nginx block under "Behind a reverse proxy"');
  return m[1]!;
}

/** `block` for this machine: s3d's port, nginx's ports, the test certificate; each replacement must apply. */
function localBlock(block: string, s3dPort: number, tlsPort: number, plainPort: number, certs: string): string {
  const swaps: Array<[string, string]> = [
    ['server 127.0.0.1:9000;', `server 127.0.0.1:${s3dPort};`],
    ['listen 443 ssl;', `listen 127.0.0.1:${tlsPort} ssl;\n    listen 127.0.0.1:${plainPort};`],
    ['/etc/nginx/tls/s3.example.com.crt', join(certs, 'cert.pem')],
    ['/etc/nginx/tls/s3.example.com.key', join(certs, 'key.pem')],
    ['s3.example.com *.s3.example.com', 's3.localhost *.s3.localhost'],
  ];
  for (const [from, to] of swaps) {
    if (!block.includes(from)) throw new Error(`the documented nginx block no longer has "${from}"`);
    block = block.replace(from, to);
  }
  return block;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

t.test('s3d behind nginx with the documented configuration', { skip: NO_NGINX }, async (t) => {
  const d = await startDaemon({ env: { S3_TRUSTED_PROXIES: '127.0.0.1', S3_DOMAIN: 's3.localhost', S3_ACCESS_LOG: 'all' } });
  const work = mkdtempSync(join(tmpdir(), 's3d-nginx-'));
  let nginx: ChildProcess | undefined;
  t.teardown(async () => {
    // Still running: neither exited nor ended by a signal (one killed by a signal has exitCode
    // null too, and its 'exit' is past: waiting for it hung the teardown, the daemon left running).
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      const gone = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGTERM');
      await gone;
    }
    await d.stop();
    d.cleanup();
    rmSync(work, { recursive: true, force: true });
  });
  const pki = await testPki();
  const cert = await testServerCert('localhost');
  mkdirSync(join(work, 'tmp'));
  writeFileSync(join(work, 'cert.pem'), cert.cert);
  writeFileSync(join(work, 'key.pem'), cert.key, { mode: 0o600 });
  const [tlsPort, plainPort] = [await freePort(), await freePort()];
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(work, 'tmp', k)};`).join('\n');
  writeFileSync(join(work, 'nginx.conf'), [
    'daemon off;',
    'master_process off;',
    `pid ${join(work, 'nginx.pid')};`,
    `error_log ${join(work, 'error.log')} warn;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    temp,
    localBlock(documentedBlock(), d.port, tlsPort, plainPort, work),
    '}',
    '',
  ].join('\n'));
  let nginxOut = '';
  // One process (master_process off), ended with this one should its teardown never run.
  nginx = spawn(...diesWithTest(NGINX!, ['-p', work, '-c', join(work, 'nginx.conf')]), { stdio: ['ignore', 'pipe', 'pipe'] });
  nginx.stdout!.on('data', (c: Buffer) => void (nginxOut += c));
  nginx.stderr!.on('data', (c: Buffer) => void (nginxOut += c));
  const ready = (): Promise<boolean> => new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: plainPort, path: '/minio/health/live', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
  const up = await pollUntil(async () => nginx!.exitCode === null && (await ready()), (ok) => ok, 10_000, 50);
  // nginx refusing its configuration writes to stderr and makes no error.log: say what it said.
  const errorLog = (): string => (existsSync(join(work, 'error.log')) ? readFileSync(join(work, 'error.log'), 'utf8') : '');
  if (!up) throw new Error(`nginx did not serve: ${nginxOut}${errorLog()}`);

  // Names resolve to loopback (bucket.s3.localhost included); the CA is the test PKI's, and a
  // virtual host's name is not the certificate's: only that check is skipped.
  const lookup = ((_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) =>
    o?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never;
  const httpsAgent = new HttpsAgent({ ca: pki.caCert, keepAlive: true, lookup, checkServerIdentity: () => undefined });
  const httpAgent = new HttpAgent({ keepAlive: true, lookup });
  t.teardown(() => {
    httpsAgent.destroy();
    httpAgent.destroy();
  });
  const client = (endpoint: string, extra: Partial<S3ClientConfig> = {}): S3Client => new S3Client({
    endpoint, region: REGION, credentials: ROOT_CREDENTIALS, forcePathStyle: true,
    requestHandler: new NodeHttpHandler({ httpsAgent, httpAgent }), ...extra,
  });
  const tls = `https://localhost:${tlsPort}`;
  const s3 = client(tls);
  const plain = client(`http://127.0.0.1:${plainPort}`);
  const bucket = bucketName('nginx');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  await t.test('keys nginx would rewrite with a URI part in proxy_pass, signed metadata with `_`', async (t) => {
    const keys = ['a/b//c', 'dir/../x', './y', 'with space+plus', 'pct%2Fslash', 'ünïcödé ß €', 'semi;colon=a&b', 'q?mark#hash', 'tilde~*()[]'];
    for (const Key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `x:${Key}`, Metadata: { original_filename: 'f_1' } }));
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
      t.equal(await got.Body!.transformToString(), `x:${Key}`, `${JSON.stringify(Key)} read back`);
      t.strictSame(got.Metadata, { original_filename: 'f_1' }, `${JSON.stringify(Key)}: its metadata`);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    t.strictSame((listed.Contents ?? []).map((o) => o.Key).sort(), [...keys].sort(), 'listed as written');
  });

  await t.test('the SDK streaming upload (aws-chunked, trailing checksum) and a multipart upload', async (t) => {
    const seen: Record<string, string | undefined> = {};
    const spy = client(tls);
    spy.middlewareStack.add((next) => async (args) => {
      const h = (args.request as { headers: Record<string, string> }).headers;
      seen.encoding = h['content-encoding'];
      seen.sha = h['x-amz-content-sha256'];
      seen.trailer = h['x-amz-trailer'];
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low' });
    const body = testBytes(3 * MiB + 7, 3);
    await spy.send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: Readable.from([body.subarray(0, MiB), body.subarray(MiB)]), ContentLength: body.length }));
    t.match(seen, { encoding: /aws-chunked/, sha: /^STREAMING-/, trailer: /^x-amz-checksum-/ }, 'sent aws-chunked with a trailer');
    const back = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'streamed' }));
    t.ok(Buffer.from(await back.Body!.transformToByteArray()).equals(body), 'read back whole');

    const big = randomBytes(11 * MiB);
    await new Upload({ client: s3, params: { Bucket: bucket, Key: 'multi part', Body: big }, partSize: 5 * MiB }).done();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'multi part' }));
    t.equal(head.ContentLength, big.length, 'multipart object size');
    t.match(head.ETag, /-3"$/, 'three parts');
  });

  await t.test('presigned: a chunked PUT streams through, a GET reads it back', async (t) => {
    const key = 'pre signed+ü';
    const data = testBytes(2 * MiB + 1, 5);
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const status = await new Promise<number>((resolve, reject) => {
      // No Content-Length: Transfer-Encoding: chunked, which nginx passes on re-framed.
      const req = httpsRequest(putUrl, { method: 'PUT', agent: httpsAgent }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(data.subarray(0, MiB));
      req.end(data.subarray(MiB));
    });
    t.equal(status, 200, 'chunked presigned PUT');
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
    const got = await new Promise<Buffer>((resolve, reject) => {
      httpsRequest(getUrl, { agent: httpsAgent }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
      }).on('error', reject).end();
    });
    t.ok(got.equals(data), 'presigned GET: the same bytes');
  });

  await t.test('SSE-C: served through TLS-terminating nginx (X-Forwarded-Proto), refused on its plain HTTP port', async (t) => {
    const key = randomBytes(32);
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64') };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'secret', Body: 'sealed', ...ssec }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'secret', ...ssec }));
    t.equal(await got.Body!.transformToString(), 'sealed', 'read back with the key');
    await t.rejects(plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'secret', ...ssec })), { name: 'InvalidRequest', $metadata: { httpStatusCode: 400 } }, 'over plain HTTP: S3\'s refusal, as XML');
  });

  await t.test('virtual-host style: the Host nginx passes on names the bucket', async (t) => {
    const vhost = client(`https://s3.localhost:${tlsPort}`, { forcePathStyle: false });
    await vhost.send(new PutObjectCommand({ Bucket: bucket, Key: 'v host', Body: 'vh' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'v host' }));
    t.equal(await got.Body!.transformToString(), 'vh', 'written through the virtual host, read path-style');
    // The access line is written after the answer: waited for, not read at once.
    const line = await pollUntil(() => d.jsonLogs().find((l) => l.op === 'PutObject' && l.key === 'v host'), (l) => l !== undefined, 5000, 20);
    t.equal(line?.bucket, bucket, 'routed as a virtual-host-style request');
  });
});

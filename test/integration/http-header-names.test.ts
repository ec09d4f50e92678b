// User metadata named with '_' and '.', as applications name it (boto3's
// `Metadata={'original_filename': …}`), and with every other token character HTTP allows in a
// name, through the real clients: the parser patch of the uWebSockets.js parser
// (daemon/http/uws.ts) serves them where it applies, `^` and `@`-free names as sent and a signed
// `^` respelled from the `~` the parser makes of it (daemon/http/request-head.ts); elsewhere they
// are the documented limitation (docs/operations.md, Known limitations) and this file has nothing
// to check.
import t from 'tap';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARSER_PATCHES } from '../../daemon/http/uws.js';
import { ACCESS_KEY, SECRET_KEY, startDaemonFor } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';
import { noBoto3, PYTHON_BIN, pythonEnv } from '../helpers/python.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';

const BINARY = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
if (PARSER_PATCHES[BINARY] === undefined) {
  t.plan(0, `no parser patch for ${BINARY}: names with '_' or '.' are a known limitation here`);
} else {
  const META = { original_filename: 'cat photo.jpg', 'file.name': 'cat', 'a_b.c-d': 'x' };
  // Each token character but letters, digits, '-', '_' and '.' in a name of its own (no two of
  // them `^` and `~` at the same place: the parser reads both as `~`, see the test below).
  const TOKEN_META = Object.fromEntries([..."!#$%&'*+^`|~"].map((c, i) => [`n${i}${c}x`, `v${i}`]));

  t.test('AWS SDK: PutObject, CopyObject and a presigned PUT with such names; the names come back', async (t) => {
    const d = await startDaemonFor(t, { tls: true });
    const s3 = d.s3();
    const bucket = await createBucket(s3, 'names');
    // SSE-C over TLS too: the key headers and the metadata in one signed request.
    const key = Buffer.alloc(32, 5);
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64') };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'hello', Metadata: META, ...ssec }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k', ...ssec }));
    t.strictSame(head.Metadata, META, 'HEAD');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k', ...ssec }));
    t.strictSame(got.Metadata, META, 'GET');
    t.equal(await got.Body!.transformToString(), 'hello', 'GET body');
    await s3.send(new CopyObjectCommand({
      Bucket: bucket, Key: 'copy', CopySource: `${bucket}/k`, MetadataDirective: 'REPLACE', Metadata: { new_name: 'v' },
      CopySourceSSECustomerAlgorithm: 'AES256', CopySourceSSECustomerKey: ssec.SSECustomerKey,
    }));
    t.strictSame((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy' }))).Metadata, { new_name: 'v' }, 'CopyObject REPLACE');
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned', Metadata: { signed_name: 'p' } }), { expiresIn: 60, unhoistableHeaders: new Set(['x-amz-meta-signed_name']) });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(url, { method: 'PUT', ca: d.caCert, headers: { 'x-amz-meta-signed_name': 'p', 'content-length': '1' } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end('p');
    });
    t.equal(status, 200, 'presigned PUT with a signed x-amz-meta-signed_name header');
    t.strictSame((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'presigned' }))).Metadata, { signed_name: 'p' }, 'presigned PUT metadata');
  });

  t.test("AWS SDK: PutObject with names holding each of !#$%&'*+^`|~; HEAD and GET give them back", async (t) => {
    const d = await startDaemonFor(t);
    const s3 = d.s3();
    const bucket = await createBucket(s3, 'tokens');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'tokens', Metadata: TOKEN_META }));
    t.strictSame((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).Metadata, TOKEN_META, 'HEAD');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'k' }));
    t.strictSame(got.Metadata, TOKEN_META, 'GET');
    t.equal(await got.Body!.transformToString(), 'tokens', 'GET body');
    // One name at a time too: `^` alone (respelled from the `~` it arrives as) and `~` alone.
    for (const name of ['a^b', 'a~b', 'x^^y~z']) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: name, Body: 'x', Metadata: { [name]: 'one' } }));
      t.strictSame((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: name }))).Metadata, { [name]: 'one' }, `${name} alone`);
    }
    // A presigned PUT signing x-amz-meta-pre^name (X-Amz-SignedHeaders names it as sent).
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: 'presigned', Metadata: { 'pre^name': 'p' } }), { expiresIn: 60, unhoistableHeaders: new Set(['x-amz-meta-pre^name']) });
    t.match(url, /X-Amz-SignedHeaders=[^&]*x-amz-meta-pre%5Ename/, 'the URL signs the header');
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'PUT', headers: { 'x-amz-meta-pre^name': 'p', 'content-length': '1' } }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end('p');
    });
    t.equal(status, 200, 'presigned PUT with a signed x-amz-meta-pre^name header');
    t.strictSame((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'presigned' }))).Metadata, { 'pre^name': 'p' }, 'presigned PUT metadata');
    // `a^b` and `a~b` in one request arrive as two `a~b` lines: refused, naming both, not stored.
    const clash = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'clash', Body: 'x', Metadata: { 'a^b': '1', 'a~b': '2' } })).then(() => undefined, (e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    t.match(clash, { name: 'InvalidArgument', message: /"x-amz-meta-a~b" and "x-amz-meta-a\^b" cannot both be sent/, $metadata: { httpStatusCode: 400 } }, 'a^b beside a~b: 400 InvalidArgument');
    t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'clash' }))), 'NotFound/404', 'nothing stored');
  });

  t.test('minio-js: putObject and statObject with such names', async (t) => {
    const d = await startDaemonFor(t);
    const bucket = await createBucket(d.s3(), 'names');
    const mc = minioClient(d);
    await mc.putObject(bucket, 'm', Buffer.from('minio'), 5, { original_filename: 'a.txt', 'file.name': 'b' });
    const st = await mc.statObject(bucket, 'm');
    t.match(st.metaData, { original_filename: 'a.txt', 'file.name': 'b' }, 'statObject metaData');
    t.equal((await getBytes(d.s3(), { Bucket: bucket, Key: 'm' })).toString(), 'minio');
  });

  const work = mkdtempSync(join(tmpdir(), 's3d-names-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const env = pythonEnv(work);
  t.test('boto3: put_object and head_object with such names', { skip: noBoto3(env) }, async (t) => {
    const d = await startDaemonFor(t);
    const bucket = await createBucket(d.s3(), 'names');
    const script = `
import boto3, json, sys
s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], region_name='us-east-1')
s3.put_object(Bucket=sys.argv[4], Key='b', Body=b'boto', Metadata=json.loads(sys.argv[5]))
print(json.dumps(s3.head_object(Bucket=sys.argv[4], Key='b')['Metadata']))
`;
    const both = { ...META, ...TOKEN_META };
    const r = spawnSync(PYTHON_BIN, ['-c', script, d.endpoint, ACCESS_KEY, SECRET_KEY, bucket, JSON.stringify(both)], { env, encoding: 'utf8', timeout: 60_000 });
    t.equal(r.status, 0, `boto3 ran: ${r.stderr}`);
    t.strictSame(JSON.parse(r.stdout), both, 'head_object Metadata');
  });
}

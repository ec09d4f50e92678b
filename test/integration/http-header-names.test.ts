// User metadata named with '_' and '.', as applications name it (boto3's
// `Metadata={'original_filename': …}`), through the real clients: the parser patch of the
// uWebSockets.js parser (daemon/http/uws.ts) serves them where it applies; elsewhere they are the
// documented limitation (docs/operations.md, Known limitations) and this file has nothing to check.
import t from 'tap';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { spawnSync } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PARSER_PATCHES } from '../../daemon/http/uws.js';
import { ACCESS_KEY, SECRET_KEY, startDaemonFor } from '../helpers/daemon.js';
import { minioClient } from '../helpers/minio.js';
import { noBoto3, PYTHON_BIN, pythonEnv } from '../helpers/python.js';
import { createBucket, getBytes } from '../helpers/s3.js';

const BINARY = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
if (PARSER_PATCHES[BINARY] === undefined) {
  t.plan(0, `no parser patch for ${BINARY}: names with '_' or '.' are a known limitation here`);
} else {
  const META = { original_filename: 'cat photo.jpg', 'file.name': 'cat', 'a_b.c-d': 'x' };

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
    const r = spawnSync(PYTHON_BIN, ['-c', script, d.endpoint, ACCESS_KEY, SECRET_KEY, bucket, JSON.stringify(META)], { env, encoding: 'utf8', timeout: 60_000 });
    t.equal(r.status, 0, `boto3 ran: ${r.stderr}`);
    t.strictSame(JSON.parse(r.stdout), META, 'head_object Metadata');
  });
}

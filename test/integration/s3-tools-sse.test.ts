// Third-party tools using server-side encryption the way their users do, against one daemon
// serving HTTPS (SSE-C needs TLS): the aws CLI (`s3 cp/sync/mv` with SSE-S3, SSE-KMS and SSE-C,
// S3-to-S3 copies that change the customer key, multipart sizes, checksums, bucket default
// encryption and S3's BlockedEncryptionTypes), boto3's transfer manager, presigned GET and
// presigned POST, rclone's `sse_customer_key` and `sse_kms_key_id`, s3cmd's
// `--server-side-encryption-kms-id`, and minio-js with SSE-C headers and bucket encryption.
// Each checks the bytes read back, what HEAD says is stored, and the S3 error each tool reports for
// a wrong or missing key. Each tool's part is skipped when it is not installed.

import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CopySourceOptions, CopyDestinationOptions } from 'minio';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startTlsDaemonWithWork, testBytes } from '../helpers/daemon.js';
import { readTree } from '../helpers/files.js';
import { missing, rcloneEnv, toolRunner, writeS3cmdConfig, type Run } from '../helpers/tools.js';
import { md5Hex } from '../helpers/hash.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { KMS_KEY_ARN, ssec } from '../helpers/sse.js';
import { AWS_BIN, NO_AWS, awsEnv } from '../helpers/aws-cli.js';
import { PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';

const MiB = 1024 * 1024;

const NO_S3CMD = missing('s3cmd');
const NO_RCLONE = missing('rclone');

const { d, work, caFile } = await startTlsDaemonWithWork(t, 's3d-tools-sse-');
const s3 = d.s3();

// Inputs: a small file, and one over 8 MiB (the aws CLI's multipart threshold) and 5 MiB (the
// part size given to the other tools), so every tool uploads it in parts.
const small = testBytes(70_000, 301);
const big = testBytes(9 * MiB + 7, 302);
writeFileSync(join(work, 'small.bin'), small);
writeFileSync(join(work, 'big.bin'), big);
/** Customer keys as the tools take them: 32 characters (the CLI, rclone) or raw bytes. */
const KEY1 = 'k1-0123456789abcdef0123456789abc';
const KEY2 = 'k2-0123456789abcdef0123456789abc';
const keyMd5 = (k: string | Buffer): string => createHash('md5').update(k).digest('base64');

const { run, ok } = toolRunner(work);

async function head(bucket: string, key: string, customerKey?: string): Promise<{ sse?: string; kmsKey?: string; ssec?: string; etag?: string; length?: number }> {
  const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(customerKey !== undefined ? ssec(Buffer.from(customerKey)) : {}) }));
  return { sse: h.ServerSideEncryption, kmsKey: h.SSEKMSKeyId, ssec: h.SSECustomerAlgorithm, etag: h.ETag, length: h.ContentLength };
}

t.test('aws CLI: cp, sync and mv with SSE-S3, SSE-KMS and SSE-C, key rotation, checksums, bucket default encryption, BlockedEncryptionTypes', { skip: NO_AWS }, async (t) => {
  const cliEnv = awsEnv(work, { caFile, config: '[default]\ns3 =\n    addressing_style = path\n' });
  const aws = (...args: string[]): Promise<Run> => run(AWS_BIN, ['--endpoint-url', d.endpoint, ...args], cliEnv);
  const awsOk = async (...args: string[]): Promise<string> => (await ok(AWS_BIN, ['--endpoint-url', d.endpoint, ...args], cliEnv)).stdout;
  const sseC = (k: string): string[] => ['--sse-c', 'AES256', '--sse-c-key', k];
  const apiC = (k: string): string[] => ['--sse-customer-algorithm', 'AES256', '--sse-customer-key', k];
  const [b1, b2] = [bucketName('cli-sse'), bucketName('cli-sse2')];
  await awsOk('s3', 'mb', `s3://${b1}`);
  await awsOk('s3', 'mb', `s3://${b2}`);
  const q = ['--only-show-errors'];

  await awsOk('s3', 'cp', ...q, join(work, 'small.bin'), `s3://${b1}/s3.bin`, '--sse', 'AES256');
  t.match(await head(b1, 's3.bin'), { sse: 'AES256', etag: `"${md5Hex(small)}"` }, '--sse AES256 stores SSE-S3');
  await awsOk('s3', 'cp', ...q, join(work, 'big.bin'), `s3://${b1}/kms.bin`, '--sse', 'aws:kms', '--sse-kms-key-id', 'test-key');
  t.match(await head(b1, 'kms.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN, etag: /-2"$/ }, '--sse aws:kms --sse-kms-key-id: a multipart SSE-KMS object under that key');
  await awsOk('s3', 'cp', ...q, join(work, 'big.bin'), `s3://${b1}/c.bin`, ...sseC(KEY1));
  t.match(await head(b1, 'c.bin', KEY1), { ssec: 'AES256', sse: undefined, length: big.length, etag: /-2"$/ }, '--sse-c: a multipart SSE-C object');

  const back = join(work, 'cli-back.bin');
  await awsOk('s3', 'cp', ...q, `s3://${b1}/c.bin`, back, ...sseC(KEY1));
  t.ok(readFileSync(back).equals(big), 'cp down with the key: the bytes put');
  const wrong = await aws('s3', 'cp', `s3://${b1}/c.bin`, back, ...sseC(KEY2));
  t.match({ code: wrong.code, stderr: wrong.stderr }, { code: 1, stderr: /\(403\) when calling the HeadObject operation: Forbidden/ }, 'cp down with another key: 403 on its HEAD');
  const none = await aws('s3', 'cp', `s3://${b1}/c.bin`, back);
  t.match({ code: none.code, stderr: none.stderr }, { code: 1, stderr: /\(400\) when calling the HeadObject operation: Bad Request/ }, 'cp down without a key: 400 on its HEAD');
  t.match((await aws('s3api', 'get-object', '--bucket', b1, '--key', 'c.bin', ...apiC(KEY2), back)).stderr, /\(AccessDenied\) when calling the GetObject operation/, 'get-object with another key: AccessDenied');
  t.match((await aws('s3api', 'get-object', '--bucket', b1, '--key', 'c.bin', back)).stderr, /\(InvalidRequest\) when calling the GetObject operation: The object was stored using a form of Server Side Encryption/, 'get-object without a key: InvalidRequest');
  const h = JSON.parse(await awsOk('s3api', 'head-object', '--bucket', b1, '--key', 'c.bin', ...apiC(KEY1))) as Record<string, unknown>;
  t.match(h, { SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: keyMd5(KEY1), ContentLength: big.length }, 'head-object with the key reports SSE-C and the key MD5');

  // S3 to S3 across buckets through UploadPartCopy (over 8 MiB), changing the customer key, then
  // in place changing it back; and out of SSE-C into SSE-KMS.
  await awsOk('s3', 'cp', ...q, `s3://${b1}/c.bin`, `s3://${b2}/c.bin`, '--sse-c-copy-source', 'AES256', '--sse-c-copy-source-key', KEY1, ...sseC(KEY2));
  t.match(await head(b2, 'c.bin', KEY2), { ssec: 'AES256', length: big.length }, 'copied under the new key');
  await awsOk('s3', 'cp', ...q, `s3://${b2}/c.bin`, `s3://${b2}/c.bin`, '--sse-c-copy-source', 'AES256', '--sse-c-copy-source-key', KEY2, ...sseC(KEY1));
  t.ok((await getBytes(s3, { Bucket: b2, Key: 'c.bin', ...ssec(Buffer.from(KEY1)) })).equals(big), 'rotated in place back to the first key: the same bytes');
  t.equal((await aws('s3', 'cp', `s3://${b2}/c.bin`, back, ...sseC(KEY2))).code, 1, 'the replaced key no longer reads it');
  await awsOk('s3', 'cp', ...q, `s3://${b1}/c.bin`, `s3://${b2}/kms.bin`, '--sse-c-copy-source', 'AES256', '--sse-c-copy-source-key', KEY1, '--sse', 'aws:kms');
  t.match(await head(b2, 'kms.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN, length: big.length }, 'SSE-C to SSE-KMS');
  t.equal((await aws('s3', 'cp', `s3://${b1}/c.bin`, `s3://${b2}/nokey.bin`)).code, 1, 'a copy of an SSE-C object without its key fails');

  // sync both ways and mv with a customer key.
  const tree = join(work, 'cli-tree');
  const past = new Date(Date.now() - 120_000);
  for (const [rel, data] of Object.entries({ 'a.txt': Buffer.from('tree a\n'), 'sub/b.bin': small, 'sub/big.bin': big })) {
    mkdirSync(join(tree, rel, '..'), { recursive: true });
    writeFileSync(join(tree, rel), data);
    utimesSync(join(tree, rel), past, past);
  }
  await awsOk('s3', 'sync', ...q, tree, `s3://${b1}/tree`, ...sseC(KEY1));
  t.match(await head(b1, 'tree/sub/b.bin', KEY1), { ssec: 'AES256' }, 'sync up stores SSE-C');
  t.equal((await awsOk('s3', 'sync', '--dryrun', tree, `s3://${b1}/tree`, ...sseC(KEY1))).trim(), '', 'a second sync uploads nothing');
  const down = join(work, 'cli-down');
  await awsOk('s3', 'sync', ...q, `s3://${b1}/tree`, down, ...sseC(KEY1));
  t.same(
    [...readTree(down)].map(([rel, data]) => [rel, md5Hex(data)]).sort(),
    [...readTree(tree)].map(([rel, data]) => [rel, md5Hex(data)]).sort(),
    'sync down with the key: the same files and bytes',
  );
  await awsOk('s3', 'mv', ...q, `s3://${b1}/tree/a.txt`, `s3://${b1}/moved.txt`, '--sse-c-copy-source', 'AES256', '--sse-c-copy-source-key', KEY1, ...sseC(KEY2));
  t.equal((await getBytes(s3, { Bucket: b1, Key: 'moved.txt', ...ssec(Buffer.from(KEY2)) })).toString(), 'tree a\n', 'mv S3 to S3 under a new key');
  t.equal(await head(b1, 'tree/a.txt').catch((e: { name: string }) => e.name), 'NotFound', 'and the source is gone');

  // --checksum-algorithm beside SSE-C: a whole-object checksum for a single PUT, a composite one for parts.
  await awsOk('s3', 'cp', ...q, join(work, 'small.bin'), `s3://${b1}/ck.bin`, ...sseC(KEY1), '--checksum-algorithm', 'SHA256');
  await awsOk('s3', 'cp', ...q, join(work, 'big.bin'), `s3://${b1}/ck-big.bin`, ...sseC(KEY1), '--checksum-algorithm', 'SHA256');
  const ck = JSON.parse(await awsOk('s3api', 'head-object', '--bucket', b1, '--key', 'ck.bin', '--checksum-mode', 'ENABLED', ...apiC(KEY1))) as Record<string, unknown>;
  t.match(ck, { ChecksumSHA256: createHash('sha256').update(small).digest('base64'), ChecksumType: 'FULL_OBJECT', SSECustomerAlgorithm: 'AES256' }, 'SSE-C with SHA256: the plaintext digest');
  const ckBig = JSON.parse(await awsOk('s3api', 'head-object', '--bucket', b1, '--key', 'ck-big.bin', '--checksum-mode', 'ENABLED', ...apiC(KEY1))) as Record<string, unknown>;
  t.match(ckBig, { ChecksumSHA256: /-2$/, ChecksumType: 'COMPOSITE' }, 'and a composite one over two parts');
  await awsOk('s3', 'cp', ...q, `s3://${b1}/ck-big.bin`, back, ...sseC(KEY1));
  t.ok(readFileSync(back).equals(big), 'which reads back');

  // Bucket default encryption, then plain cp.
  const encrypted = (rule: object): string => JSON.stringify({ Rules: [rule] });
  t.match((await aws('s3api', 'get-bucket-encryption', '--bucket', b2)).stderr, /ServerSideEncryptionConfigurationNotFoundError/, 'no configuration yet');
  await awsOk('s3api', 'put-bucket-encryption', '--bucket', b2, '--server-side-encryption-configuration', encrypted({ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'test-key' }, BucketKeyEnabled: true }));
  t.match(JSON.parse(await awsOk('s3api', 'get-bucket-encryption', '--bucket', b2)), { ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'test-key' }, BucketKeyEnabled: true }] } }, 'get-bucket-encryption gives it back');
  await awsOk('s3', 'cp', ...q, join(work, 'small.bin'), `s3://${b2}/default.bin`);
  await awsOk('s3', 'cp', ...q, join(work, 'big.bin'), `s3://${b2}/default-big.bin`);
  t.match(await head(b2, 'default.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN }, 'a plain cp into it is stored SSE-KMS');
  t.match(await head(b2, 'default-big.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN, etag: /-2"$/ }, 'a multipart one too');
  await awsOk('s3', 'cp', ...q, join(work, 'small.bin'), `s3://${b2}/s3.bin`, '--sse', 'AES256');
  t.match(await head(b2, 's3.bin'), { sse: 'AES256', kmsKey: undefined }, 'the request\'s --sse wins over the default');

  // S3's BlockedEncryptionTypes as AWS's guide writes it: SSE-C blocked, then allowed with NONE.
  await awsOk('s3api', 'put-bucket-encryption', '--bucket', b2, '--server-side-encryption-configuration', encrypted({ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } }));
  const blocked = await aws('s3', 'cp', join(work, 'small.bin'), `s3://${b2}/blocked.bin`, ...sseC(KEY1));
  t.match({ code: blocked.code, stderr: blocked.stderr }, { code: 1, stderr: /\(AccessDenied\) when calling the PutObject operation/ }, 'SSE-C blocked: AccessDenied');
  t.ok((await getBytes(s3, { Bucket: b2, Key: 'c.bin', ...ssec(Buffer.from(KEY1)) })).equals(big), 'an SSE-C object stored before still reads');
  await awsOk('s3api', 'put-bucket-encryption', '--bucket', b2, '--server-side-encryption-configuration', encrypted({ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BlockedEncryptionTypes: { EncryptionType: ['NONE'] } }));
  await awsOk('s3', 'cp', ...q, join(work, 'small.bin'), `s3://${b2}/unblocked.bin`, ...sseC(KEY1));
  t.match(await head(b2, 'unblocked.bin', KEY1), { ssec: 'AES256' }, 'NONE allows SSE-C');

  await awsOk('s3api', 'delete-bucket-encryption', '--bucket', b2);
  t.match((await aws('s3api', 'get-bucket-encryption', '--bucket', b2)).stderr, /ServerSideEncryptionConfigurationNotFoundError/, 'delete-bucket-encryption removes it');
  await awsOk('s3', 'cp', ...q, join(work, 'small.bin'), `s3://${b2}/after.bin`);
  t.equal((await head(b2, 'after.bin')).sse, undefined, 'and a plain cp is stored unencrypted again');
});

const pyEnv = pythonEnv(work);
t.test('boto3: transfers with SSE-C, SSE-KMS and SSE-S3 in ExtraArgs, managed copy changing the key, presigned GET and POST', { skip: noBoto3(pyEnv) }, async (t) => {
  const bucket = await createBucket(s3, 'boto3-sse');
  const blocked = await createBucket(s3, 'boto3-blocked');
  const script = join(work, 'sse.py');
  writeFileSync(
    script,
    `import base64, hashlib, json, os, ssl, sys, urllib.error, urllib.request, uuid
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
endpoint, bucket, blocked, work, ca = sys.argv[1:6]
c = boto3.client('s3', endpoint_url=endpoint, region_name='${REGION}', aws_access_key_id='${ACCESS_KEY}', aws_secret_access_key='${SECRET_KEY}', verify=ca,
                 config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}, retries={'total_max_attempts': 2}))
TC = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
k1, k2 = b'${KEY1}', b'${KEY2}'
c1 = {'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': k1}
c2 = {'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': k2}
big, small, out = os.path.join(work, 'big.bin'), os.path.join(work, 'small.bin'), {}
def digest(p): return hashlib.md5(open(p, 'rb').read()).hexdigest()
def meta(h): return {k: h.get(k) for k in ['ServerSideEncryption', 'SSEKMSKeyId', 'SSECustomerAlgorithm', 'SSECustomerKeyMD5', 'ContentLength', 'ETag']}
def failure(fn):
    try:
        fn()
        return None
    except ClientError as e:
        return [e.response['Error'].get('Code'), e.response['ResponseMetadata']['HTTPStatusCode']]
def fetch(url, method='GET', data=None, headers={}):
    try:
        r = urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), context=ssl.create_default_context(cafile=ca))
        return [r.status, hashlib.md5(r.read()).hexdigest()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode()]
def post(b, key, fields, conditions):
    p = c.generate_presigned_post(b, key, Fields=fields, Conditions=conditions, ExpiresIn=300)
    boundary = uuid.uuid4().hex
    body = b''.join(f'--{boundary}\\r\\nContent-Disposition: form-data; name="{k}"\\r\\n\\r\\n{v}\\r\\n'.encode() for k, v in p['fields'].items())
    body += f'--{boundary}\\r\\nContent-Disposition: form-data; name="file"; filename="f"\\r\\n\\r\\n'.encode() + open(small, 'rb').read() + f'\\r\\n--{boundary}--\\r\\n'.encode()
    return fetch(p['url'], 'POST', body, {'Content-Type': f'multipart/form-data; boundary={boundary}'})

c.upload_file(big, bucket, 'c.bin', ExtraArgs=c1, Config=TC)
out['c_head'] = meta(c.head_object(Bucket=bucket, Key='c.bin', **c1))
c.download_file(bucket, 'c.bin', os.path.join(work, 'b1'), ExtraArgs=c1, Config=TC)
out['c_download'] = digest(os.path.join(work, 'b1'))
out['c_download_wrong_key'] = failure(lambda: c.download_file(bucket, 'c.bin', os.path.join(work, 'b2'), ExtraArgs=c2, Config=TC))
out['c_download_no_key'] = failure(lambda: c.download_file(bucket, 'c.bin', os.path.join(work, 'b2'), Config=TC))
out['c_get_wrong_key'] = failure(lambda: c.get_object(Bucket=bucket, Key='c.bin', **c2))
c.copy({'Bucket': bucket, 'Key': 'c.bin'}, bucket, 'c2.bin', ExtraArgs={'CopySourceSSECustomerAlgorithm': 'AES256', 'CopySourceSSECustomerKey': k1, **c2}, Config=TC)
out['rotated_head'] = meta(c.head_object(Bucket=bucket, Key='c2.bin', **c2))
c.download_file(bucket, 'c2.bin', os.path.join(work, 'b3'), ExtraArgs=c2, Config=TC)
out['rotated_download'] = digest(os.path.join(work, 'b3'))
c.copy({'Bucket': bucket, 'Key': 'c.bin'}, bucket, 'kms.bin', ExtraArgs={'CopySourceSSECustomerAlgorithm': 'AES256', 'CopySourceSSECustomerKey': k1, 'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': 'test-key'}, Config=TC)
out['c_to_kms_head'] = meta(c.head_object(Bucket=bucket, Key='kms.bin'))
out['copy_no_key'] = failure(lambda: c.copy({'Bucket': bucket, 'Key': 'c.bin'}, bucket, 'x.bin', Config=TC))
c.upload_file(big, bucket, 'kms-up.bin', ExtraArgs={'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': 'test-key'}, Config=TC)
out['kms_head'] = meta(c.head_object(Bucket=bucket, Key='kms-up.bin'))
c.upload_file(small, bucket, 's3-up.bin', ExtraArgs={'ServerSideEncryption': 'AES256'}, Config=TC)
out['s3_head'] = meta(c.head_object(Bucket=bucket, Key='s3-up.bin'))
c.download_file(bucket, 'kms-up.bin', os.path.join(work, 'b4'), Config=TC)
out['kms_download'] = digest(os.path.join(work, 'b4'))

url = c.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'c.bin', **c1}, ExpiresIn=300)
headers = {'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': base64.b64encode(k1).decode(),
           'x-amz-server-side-encryption-customer-key-md5': base64.b64encode(hashlib.md5(k1).digest()).decode()}
out['presigned_with_key'] = fetch(url, headers=headers)
out['presigned_without_key'] = fetch(url)[0]

kms_fields = {'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'test-key'}
out['post_kms'] = post(bucket, 'post-kms.bin', kms_fields, [{k: v} for k, v in kms_fields.items()])
out['post_kms_head'] = meta(c.head_object(Bucket=bucket, Key='post-kms.bin'))
c_fields = {'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': headers['x-amz-server-side-encryption-customer-key'],
            'x-amz-server-side-encryption-customer-key-MD5': headers['x-amz-server-side-encryption-customer-key-md5']}
c.put_bucket_encryption(Bucket=blocked, ServerSideEncryptionConfiguration={'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'AES256'}, 'BlockedEncryptionTypes': {'EncryptionType': ['SSE-C']}}]})
out['blocked_config'] = c.get_bucket_encryption(Bucket=blocked)['ServerSideEncryptionConfiguration']['Rules']
out['post_c_blocked'] = post(blocked, 'post-c.bin', c_fields, [{k: v} for k, v in c_fields.items()])
out['put_c_blocked'] = failure(lambda: c.put_object(Bucket=blocked, Key='put-c.bin', Body=b'x', **c1))
print(json.dumps(out))
`,
  );
  const r = await ok(PYTHON_BIN, [script, d.endpoint, bucket, blocked, work, caFile], pyEnv);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  const bigMd5 = md5Hex(big);
  t.match(out.c_head, { SSECustomerAlgorithm: 'AES256', SSECustomerKeyMD5: keyMd5(KEY1), ContentLength: big.length, ETag: /-2"$/ }, 'upload_file with SSECustomerKey: a multipart SSE-C object');
  t.equal(out.c_download, bigMd5, 'download_file with the key: the bytes put');
  t.same(out.c_download_wrong_key, ['403', 403], 'download_file with another key: 403 on its HEAD');
  t.same(out.c_download_no_key, ['400', 400], 'download_file without a key: 400 on its HEAD');
  t.same(out.c_get_wrong_key, ['AccessDenied', 403], 'get_object with another key: AccessDenied');
  t.match(out.rotated_head, { SSECustomerKeyMD5: keyMd5(KEY2), ContentLength: big.length }, 'managed copy with CopySourceSSECustomerKey: under the new key');
  t.equal(out.rotated_download, bigMd5, 'which reads back');
  t.match(out.c_to_kms_head, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ARN, SSECustomerAlgorithm: null }, 'managed copy from SSE-C to SSE-KMS');
  t.same(out.copy_no_key, ['400', 400], 'managed copy of an SSE-C object without its key: 400 on its HEAD');
  t.match(out.kms_head, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ARN }, 'upload_file with SSEKMSKeyId');
  t.equal(out.kms_download, bigMd5, 'which downloads');
  t.match(out.s3_head, { ServerSideEncryption: 'AES256', ETag: `"${md5Hex(small)}"` }, 'upload_file with ServerSideEncryption=AES256');
  t.same(out.presigned_with_key, [200, bigMd5], 'a presigned SSE-C GET with the key headers beside it');
  t.equal(out.presigned_without_key, 403, 'and without them: refused');
  t.equal((out.post_kms as unknown[])[0], 204, 'presigned POST with SSE-KMS fields');
  t.match(out.post_kms_head, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY_ARN }, 'stores SSE-KMS');
  t.match(out.blocked_config, [{ BlockedEncryptionTypes: { EncryptionType: ['SSE-C'] } }], 'put_bucket_encryption with BlockedEncryptionTypes');
  t.match(out.post_c_blocked, [403, /<Code>AccessDenied<\/Code>/], 'a presigned POST with SSE-C fields into it: AccessDenied');
  t.same(out.put_c_blocked, ['AccessDenied', 403], 'put_object with SSE-C into it: AccessDenied');
});

t.test('rclone: sse_customer_key copy, check, server-side copy and cat; sse_kms_key_id', { skip: NO_RCLONE }, async (t) => {
  // rclone 1.60 refuses to start while AWS_CA_BUNDLE is set (see clients.md): --ca-cert instead.
  const env = rcloneEnv(join(work, 'rclone.conf'), d.endpoint);
  const base = ['--ca-cert', caFile, '--retries', '1', '--low-level-retries', '1', '--s3-chunk-size', '5M', '--s3-upload-cutoff', '5M'];
  const rclone = (...args: string[]): Promise<Run> => ok('rclone', [...base, ...args], env);
  const c1 = ['--s3-sse-customer-algorithm', 'AES256', '--s3-sse-customer-key', KEY1];
  const bucket = bucketName('rclone-sse');
  await rclone('mkdir', `s3d:${bucket}`);
  const tree = join(work, 'rclone-tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  writeFileSync(join(tree, 'small.bin'), small);
  writeFileSync(join(tree, 'sub', 'big.bin'), big);
  writeFileSync(join(tree, 'note.txt'), 'rclone with a customer key\n');

  await rclone('copy', ...c1, tree, `s3d:${bucket}/c`);
  t.match(await head(bucket, 'c/sub/big.bin', KEY1), { ssec: 'AES256', etag: /-2"$/ }, 'copy with sse_customer_key: multipart SSE-C');
  t.match(await head(bucket, 'c/small.bin', KEY1), { ssec: 'AES256' }, 'and single-part SSE-C');
  await rclone('check', ...c1, tree, `s3d:${bucket}/c`);
  await rclone('check', '--download', ...c1, tree, `s3d:${bucket}/c`);
  t.pass('check, and check --download, find no difference');
  await rclone('copyto', ...c1, '--s3-copy-cutoff', '5M', `s3d:${bucket}/c/sub/big.bin`, `s3d:${bucket}/copied.bin`);
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'copied.bin', ...ssec(Buffer.from(KEY1)) })).equals(big), 'server-side copy in parts (UploadPartCopy) with the key');
  t.equal((await rclone('cat', ...c1, `s3d:${bucket}/c/note.txt`)).stdout, 'rclone with a customer key\n', 'cat with the key');

  const c2 = ['--s3-sse-customer-algorithm', 'AES256', '--s3-sse-customer-key', KEY2];
  const wrongDir = await run('rclone', [...base, 'copy', ...c2, `s3d:${bucket}/c`, join(work, 'rclone-wrong')], env);
  t.match({ code: wrongDir.code, stderr: wrongDir.stderr }, { code: 1, stderr: /AccessDenied: The provided SSE-C key does not match/ }, 'copy down with another key: AccessDenied');
  // rclone's own reading (clients.md): one object named with a wrong key fails its HEAD (403, as
  // on S3), which rclone takes for "not a file": an empty directory, nothing printed, exit 0.
  t.same(await run('rclone', [...base, 'cat', ...c2, `s3d:${bucket}/c/note.txt`], env).then((r) => [r.code, r.stdout]), [0, ''], 'cat with another key: nothing, exit 0 (rclone\'s reading)');

  const kms = ['--s3-server-side-encryption', 'aws:kms', '--s3-sse-kms-key-id', 'test-key'];
  await rclone('copy', ...kms, tree, `s3d:${bucket}/kms`);
  t.match(await head(bucket, 'kms/sub/big.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN, etag: /-2"$/ }, 'server_side_encryption aws:kms with sse_kms_key_id: multipart SSE-KMS');
  t.match(await head(bucket, 'kms/small.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN }, 'and single-part');
  await rclone('check', ...kms, tree, `s3d:${bucket}/kms`);
  t.pass('check finds no difference (rclone ignores SSE-KMS ETags, as its documentation says)');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'kms/sub/big.bin' })).equals(big), 'which reads back');
});

t.test('s3cmd: --server-side-encryption-kms-id on a multipart put, get, info', { skip: NO_S3CMD }, async (t) => {
  const cfg = join(work, 's3cfg');
  writeS3cmdConfig(cfg, d.endpoint, caFile);
  const s3cmd = (...args: string[]): Promise<Run> => ok('s3cmd', ['-c', cfg, ...args], {});
  const bucket = bucketName('s3cmd-sse');
  await s3cmd('mb', `s3://${bucket}`);
  await s3cmd('put', '--multipart-chunk-size-mb=5', '--server-side-encryption-kms-id', 'test-key', join(work, 'big.bin'), `s3://${bucket}/kms.bin`);
  t.match(await head(bucket, 'kms.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN, etag: /-2"$/ }, 'a multipart SSE-KMS object under that key');
  await s3cmd('put', '--server-side-encryption-kms-id', 'test-key', join(work, 'small.bin'), `s3://${bucket}/kms-small.bin`);
  t.match(await head(bucket, 'kms-small.bin'), { sse: 'aws:kms', kmsKey: KMS_KEY_ARN }, 'single-part too (s3cmd skips its MD5 check of an SSE-KMS ETag)');
  const back = join(work, 's3cmd-back.bin');
  await s3cmd('get', '--force', `s3://${bucket}/kms.bin`, back);
  t.ok(readFileSync(back).equals(big), 'get: the bytes put');
  t.match((await s3cmd('info', `s3://${bucket}/kms.bin`)).stdout, /SSE:\s+aws:kms/, 'info shows SSE-KMS');
  await s3cmd('put', '--server-side-encryption', join(work, 'small.bin'), `s3://${bucket}/s3.bin`);
  t.match(await head(bucket, 's3.bin'), { sse: 'AES256', etag: `"${md5Hex(small)}"` }, '--server-side-encryption stores SSE-S3');
});

t.test('minio-js: SSE-C putObject/getObject/getPartialObject/copyObject (headers), wrong key, bucket encryption', async (t) => {
  const m = minioClient(d);
  const bucket = bucketName('minio-sse');
  await m.makeBucket(bucket);
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const headers = (k: Buffer, prefix = 'X-Amz-Server-Side-Encryption-Customer-'): Record<string, string> => ({
    [`${prefix}Algorithm`]: 'AES256',
    [`${prefix}Key`]: k.toString('base64'),
    [`${prefix}Key-MD5`]: keyMd5(k),
  });
  const opts = (k: Buffer): { SSECustomerAlgorithm: string; SSECustomerKey: string; SSECustomerKeyMD5: string } => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: keyMd5(k) });
  const read = async (s: NodeJS.ReadableStream): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  await m.putObject(bucket, 'c.bin', small, small.length, headers(k1));
  t.equal(await head(bucket, 'c.bin').catch((e: { $metadata: { httpStatusCode: number } }) => e.$metadata.httpStatusCode), 400, 'putObject with SSE-C headers: HEAD without the key is 400');
  t.ok((await read(await m.getObject(bucket, 'c.bin', opts(k1)))).equals(small), 'getObject with SSECustomerKey');
  t.ok((await read(await m.getPartialObject(bucket, 'c.bin', 1000, 5000, opts(k1)))).equals(small.subarray(1000, 6000)), 'getPartialObject with it');
  const wrong = await m.getObject(bucket, 'c.bin', opts(k2)).catch((e: { code: string }) => e.code);
  t.equal(wrong, 'AccessDenied', 'getObject with another key: AccessDenied');
  // minio-js's CopyDestinationOptions refuses any Encryption (its check is inverted) and
  // CopySourceOptions sends none: SSE-C copies go through Headers.
  await m.copyObject(
    new CopySourceOptions({ Bucket: bucket, Object: 'c.bin' }),
    new CopyDestinationOptions({ Bucket: bucket, Object: 'c2.bin', Headers: { ...headers(k1, 'X-Amz-Copy-Source-Server-Side-Encryption-Customer-'), ...headers(k2) } }),
  );
  t.ok((await read(await m.getObject(bucket, 'c2.bin', opts(k2)))).equals(small), 'copyObject under a new key');
  const noKey = await m.copyObject(new CopySourceOptions({ Bucket: bucket, Object: 'c.bin' }), new CopyDestinationOptions({ Bucket: bucket, Object: 'c3.bin' })).catch((e: { code: string }) => e.code);
  t.equal(noKey, 'InvalidRequest', 'copyObject of an SSE-C source without its key: InvalidRequest');

  // minio-js's type names the key id KmsMasterKeyID, which it writes as is: S3's schema (and s3d)
  // refuse the element; KMSMasterKeyID, S3's name, needs a cast.
  const typed = await m.setBucketEncryption(bucket, { Rule: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KmsMasterKeyID: 'test-key' } }] }).catch((e: { code: string }) => e.code);
  t.equal(typed, 'MalformedXML', 'setBucketEncryption with the typed KmsMasterKeyID: MalformedXML');
  await m.setBucketEncryption(bucket, { Rule: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'test-key' } as { SSEAlgorithm: string } }] });
  t.match(await m.getBucketEncryption(bucket), { ServerSideEncryptionConfiguration: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'test-key' } } } }, 'setBucketEncryption, getBucketEncryption');
  await m.putObject(bucket, 'default.bin', big, big.length);
  t.match((await m.statObject(bucket, 'default.bin')).metaData, { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY_ARN }, 'a plain putObject gets the default');
  t.ok((await read(await m.getObject(bucket, 'default.bin'))).equals(big), 'and reads back');
  await m.removeBucketEncryption(bucket);
  t.equal(await m.getBucketEncryption(bucket).catch((e: { code: string }) => e.code), 'ServerSideEncryptionConfigurationNotFoundError', 'removeBucketEncryption');
});

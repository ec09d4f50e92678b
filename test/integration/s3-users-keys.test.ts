// Access keys besides the root user (S3_IAM_FILE) against the real daemon, the keys themselves:
// the file loaded at start-up, the world-readable warning, InvalidAccessKeyId /
// SignatureDoesNotMatch, aws:SecureTransport over HTTP and HTTPS, form uploads (minio-js
// presignedPostPolicy) and presigned URLs signed by a user, boto3 and the aws CLI with a user's
// credentials (each skipped when missing), SIGHUP reloads (users added, removed and changed; a
// broken file keeps the previous users), start-up refusals of broken files, a user's multipart
// upload naming it as Initiator, the root user never restricted, and secrets kept out of the log. What each policy admits, operation by operation:
// s3-users-policies.test.ts. The file's users and policies: test/helpers/users.ts.

import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, REGION, SECRET_KEY, bucketName, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { awsCli, NO_AWS } from '../helpers/aws-cli.js';
import { raw } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { s3Code } from '../helpers/s3.js';
import { sleep } from '../helpers/wait.js';
import { BOTO3_ATTEMPTS, PYTHON_BIN, noBoto3, pythonEnv } from '../helpers/python.js';
import { allow, arn, B, DENIED, doc, makeFixtures, policies, put, secretOf, text, userClients, users, VB, writeIam, type UserEntry } from '../helpers/users.js';

const work = mkdtempSync(join(tmpdir(), 's3d-users-'));
const iamFile = writeIam(join(work, 'iam.json'), { policies, users });

// The reload daemon's file starts world-readable (the warning), with three users.
const reloadFile = join(work, 'reload-iam.json');
const reloadUsers0 = {
  users: [
    { accessKey: 'r-one', secretKey: 'r-one-secret', policies: ['readonly'] },
    { accessKey: 'r-gone', secretKey: 'r-gone-secret', policies: ['readwrite'] },
  ],
};
writeIam(reloadFile, reloadUsers0, 0o644);

const [d, tlsd, rd] = await Promise.all([
  startDaemon({ env: { S3_IAM_FILE: iamFile } }),
  startDaemon({ tls: true, env: { S3_IAM_FILE: iamFile } }),
  startDaemon({ env: { S3_IAM_FILE: reloadFile } }),
]);
t.teardown(async () => {
  if (process.env.S3D_DUMP_LOGS) for (const x of [d, tlsd, rd]) console.error(x.logs.filter((l) => !l.includes('"level":30')).join('\n'));
  await Promise.all([d.stop(), tlsd.stop(), rd.stop()]);
  d.cleanup();
  tlsd.cleanup();
  rd.cleanup();
  rmSync(work, { recursive: true, force: true });
});

const { root, as, rootSees } = userClients(d);
await makeFixtures(root);

// ==================================================================================================

t.test('start-up: the file is loaded, no warning for mode 0600, no secret in the log', async (t) => {
  const loaded = d.jsonLogs().find((l) => l.msg === 'users loaded');
  t.ok(loaded, 'a "users loaded" line');
  t.equal(loaded?.users, users.length, `it counts the ${users.length} users`);
  t.notOk(
    d.logs.some((l) => l.includes('readable by every user')),
    'no world-readable warning for a 0600 file',
  );
  const warned = rd.logs.filter((l) => l.includes('readable by every user'));
  t.equal(warned.length, 1, 'the daemon with a 0644 file warns once');
  t.match(warned[0] ?? '', /"level":40/, 'as a warning');
  t.match(warned[0] ?? '', reloadFile, 'naming the file');
  t.match(warned[0] ?? '', /644/, 'and its mode');
  t.equal(rd.proc.exitCode, null, 'and serves anyway');
});

t.test('unknown access keys and wrong secrets', async (t) => {
  t.equal(await s3Code(as('nobody-here', d, {}, 'whatever-secret').send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'an access key in no file → InvalidAccessKeyId');
  t.equal(await s3Code(as('app-ro', d, {}, 'ro-secret-0003').send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch/403', 'a user with a wrong secret → SignatureDoesNotMatch');
  t.equal(await s3Code(as('app-ro', d, {}, SECRET_KEY).send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch/403', "a user with root's secret → SignatureDoesNotMatch");
  t.equal(await s3Code(as(ACCESS_KEY, d, {}, 'ro-secret-0002').send(new ListBucketsCommand({}))), 'SignatureDoesNotMatch/403', "root's key with a user's secret → SignatureDoesNotMatch");
  t.equal(await s3Code(as('app-ro').send(new ListBucketsCommand({}))), 'ok', 'the same request with the right secret works');
  t.equal(await s3Code(as('nobody-here', d, {}, 'whatever-secret').send(new PutObjectCommand({ Bucket: B, Key: 'photos/ghost.txt', Body: 'x' }))), 'InvalidAccessKeyId/403', 'an unknown key cannot write');
  t.equal(await rootSees(B, 'photos/ghost.txt'), 'NoSuchKey/404', 'nothing written');
});

t.test('aws:SecureTransport: a TLS-only policy is denied over HTTP and allowed over HTTPS', async (t) => {
  const overHttp = as('app-tls', d);
  const overHttps = as('app-tls', tlsd);
  const tlsRoot = tlsd.s3();
  await root.send(new PutObjectCommand({ Bucket: B, Key: 'tls.txt', Body: 'on http daemon' }));
  await tlsRoot.send(new CreateBucketCommand({ Bucket: B }));
  await tlsRoot.send(new PutObjectCommand({ Bucket: B, Key: 'tls.txt', Body: 'on https daemon' }));
  t.equal(await s3Code(overHttp.send(new GetObjectCommand({ Bucket: B, Key: 'tls.txt' }))), DENIED, 'GetObject over HTTP → AccessDenied');
  t.equal(await text(overHttps, B, 'tls.txt'), 'on https daemon', 'GetObject over HTTPS: allowed');
  t.equal(await s3Code(overHttp.send(new PutObjectCommand({ Bucket: B, Key: 'tls-put.txt', Body: 'x' }))), DENIED, 'PutObject over HTTP → AccessDenied');
  t.equal(await rootSees(B, 'tls-put.txt'), 'NoSuchKey/404', 'nothing stored over HTTP');
  await overHttps.send(new PutObjectCommand({ Bucket: B, Key: 'tls-put.txt', Body: 'secure' }));
  t.equal(await text(tlsRoot, B, 'tls-put.txt'), 'secure', 'PutObject over HTTPS stored');
});

t.test('presigned URLs and form uploads signed by a user follow its policies (minio-js)', async (t) => {
  const mcOf = (accessKey: string) => minioClient(d, { accessKey, secretKey: secretOf(accessKey) });
  const mcRo = mcOf('app-ro');
  const mcWo = mcOf('app-wo');
  const mcPhotos = mcOf('app-photos');

  const getUrl = await mcRo.presignedGetObject(B, 'docs/c.txt', 300);
  const got = await fetch(getUrl);
  t.equal(got.status, 200, 'readonly presigned GET: 200');
  t.equal(await got.text(), 'doc c', 'the body');
  const woGet = await fetch(await mcWo.presignedGetObject(B, 'docs/c.txt', 300));
  t.equal(woGet.status, 403, 'writeonly presigned GET: 403');
  t.match(await woGet.text(), /<Code>AccessDenied<\/Code>/, 'AccessDenied');

  const roPut = await fetch(await mcRo.presignedPutObject(B, 'presigned/ro.txt', 300), { method: 'PUT', body: 'from readonly' });
  t.equal(roPut.status, 403, 'readonly presigned PUT: 403');
  t.match(await roPut.text(), /<Code>AccessDenied<\/Code>/, 'AccessDenied');
  t.equal(await rootSees(B, 'presigned/ro.txt'), 'NoSuchKey/404', 'nothing stored');
  const woPut = await fetch(await mcWo.presignedPutObject(B, 'presigned/wo.txt', 300), { method: 'PUT', body: 'from writeonly' });
  t.equal(woPut.status, 200, 'writeonly presigned PUT: 200');
  t.equal(await rootSees(B, 'presigned/wo.txt'), 'from writeonly', 'stored');

  // minio-js as a client: list and read with readonly, a refused put.
  const names: string[] = [];
  for await (const o of mcRo.listObjectsV2(B, 'photos/', true)) names.push((o as { name: string }).name);
  t.ok(names.includes('photos/a.jpg'), 'minio-js listObjectsV2 as readonly');
  const roErr = await mcRo.putObject(B, 'minio/ro.txt', Buffer.from('x')).then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );
  t.equal(roErr, 'AccessDenied', 'minio-js putObject as readonly → AccessDenied');
  t.equal(await rootSees(B, 'minio/ro.txt'), 'NoSuchKey/404', 'nothing stored');
  await mcWo.putObject(B, 'minio/wo.txt', Buffer.from('minio writeonly'));
  t.equal(await rootSees(B, 'minio/wo.txt'), 'minio writeonly', 'minio-js putObject as writeonly stored');

  // Browser form uploads (POST Object) signed by the photos user.
  const form = async (mc: ReturnType<typeof mcOf>, key: string, body: string): Promise<Response> => {
    const policy = mc.newPostPolicy();
    policy.setBucket(B);
    policy.setKey(key);
    policy.setExpires(new Date(Date.now() + 600_000));
    const { postURL, formData } = await mc.presignedPostPolicy(policy);
    const fd = new FormData();
    for (const [k, v] of Object.entries(formData)) fd.append(k, v);
    fd.append('file', new Blob([body]), 'upload.txt');
    return fetch(postURL, { method: 'POST', body: fd });
  };
  const ok = await form(mcPhotos, 'photos/form.jpg', 'form photo');
  t.equal(ok.status, 204, 'photos user: form upload to photos/form.jpg → 204');
  t.equal(await rootSees(B, 'photos/form.jpg'), 'form photo', 'stored');
  const outside = await form(mcPhotos, 'docs/form.txt', 'form doc');
  t.equal(outside.status, 403, 'photos user: form upload to docs/form.txt → 403');
  t.match(await outside.text(), /<Code>AccessDenied<\/Code>/, 'AccessDenied');
  t.equal(await rootSees(B, 'docs/form.txt'), 'NoSuchKey/404', 'nothing stored');
  const exe = await form(mcPhotos, 'photos/form.exe', 'MZ');
  t.equal(exe.status, 403, 'photos user: form upload to photos/form.exe (Deny) → 403');
  t.equal(await rootSees(B, 'photos/form.exe'), 'NoSuchKey/404', 'nothing stored');
  const roForm = await form(mcRo, 'photos/ro-form.jpg', 'ro');
  t.equal(roForm.status, 403, 'readonly: form upload → 403');
  t.equal(await rootSees(B, 'photos/ro-form.jpg'), 'NoSuchKey/404', 'nothing stored');
  const woForm = await form(mcWo, 'photos/wo-form.jpg', 'wo form');
  t.equal(woForm.status, 204, 'writeonly: form upload → 204');
  t.equal(await rootSees(B, 'photos/wo-form.jpg'), 'wo form', 'stored');
});

// ---- boto3 and the aws CLI ----------------------------------------------------------------------

const pyEnv = pythonEnv(work);
const NO_BOTO3 = noBoto3(pyEnv);

const BOTO3_SCRIPT = `${BOTO3_ATTEMPTS}endpoint, key, secret, bucket = sys.argv[1:5]
s3 = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name='${REGION}', config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
attempt('list_photos', lambda: sorted(o['Key'] for o in s3.list_objects_v2(Bucket=bucket, Prefix='photos/').get('Contents', [])))
attempt('list_all', lambda: len(s3.list_objects_v2(Bucket=bucket).get('Contents', [])))
attempt('get_photo', lambda: s3.get_object(Bucket=bucket, Key='photos/a.jpg')['Body'].read().decode())
attempt('get_doc', lambda: s3.get_object(Bucket=bucket, Key='docs/c.txt')['Body'].read().decode())
attempt('put_photo', lambda: s3.put_object(Bucket=bucket, Key='photos/boto3.jpg', Body=b'boto3 photo')['ResponseMetadata']['HTTPStatusCode'])
attempt('put_doc', lambda: s3.put_object(Bucket=bucket, Key='docs/boto3.txt', Body=b'boto3 doc')['ResponseMetadata']['HTTPStatusCode'])
attempt('upload_file_doc', lambda: s3.upload_fileobj(__import__('io').BytesIO(b'x' * 100), bucket, 'docs/boto3-upload.txt'))
def batch():
    r = s3.delete_objects(Bucket=bucket, Delete={'Objects': [{'Key': 'photos/boto3.jpg'}, {'Key': 'docs/c.txt'}]})
    return {'deleted': sorted(x['Key'] for x in r.get('Deleted', [])), 'errors': sorted([x['Key'], x['Code']] for x in r.get('Errors', []))}
attempt('delete_objects', batch)
attempt('presigned_get', lambda: s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'photos/a.jpg'}, ExpiresIn=300))
attempt('presigned_get_doc', lambda: s3.generate_presigned_url('get_object', Params={'Bucket': bucket, 'Key': 'docs/c.txt'}, ExpiresIn=300))
print(json.dumps(out))
`;

t.test('boto3 with a user\'s credentials', { skip: NO_BOTO3 }, async (t) => {
  await put(root, B, 'docs/c.txt', 'doc c');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(PYTHON_BIN, ['-c', BOTO3_SCRIPT, d.endpoint, 'app-photos', secretOf('app-photos'), B], { env: pyEnv, maxBuffer: 4 * 1024 * 1024 }, (err, out, errOut) => {
      if (err) reject(new Error(`boto3 script failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  const r = JSON.parse(stdout) as Record<string, { ok?: unknown; code?: string; status?: number }>;
  t.ok((r.list_photos?.ok as string[] | undefined)?.includes('photos/a.jpg'), 'list_objects_v2 Prefix=photos/ lists photos/a.jpg');
  t.same(r.list_all, { code: 'AccessDenied', status: 403 }, 'list_objects_v2 without a prefix → AccessDenied');
  t.same(r.get_photo, { ok: 'photo a' }, 'get_object photos/a.jpg');
  t.same(r.get_doc, { code: 'AccessDenied', status: 403 }, 'get_object docs/c.txt → AccessDenied');
  t.same(r.put_photo, { ok: 200 }, 'put_object photos/boto3.jpg');
  t.same(r.put_doc, { code: 'AccessDenied', status: 403 }, 'put_object docs/boto3.txt → AccessDenied');
  t.equal(r.upload_file_doc?.code, 'AccessDenied', 'upload_fileobj docs/… → AccessDenied');
  t.equal(await rootSees(B, 'docs/boto3.txt'), 'NoSuchKey/404', 'put_object stored nothing');
  t.equal(await rootSees(B, 'docs/boto3-upload.txt'), 'NoSuchKey/404', 'upload_fileobj stored nothing');
  t.same(r.delete_objects, { ok: { deleted: ['photos/boto3.jpg'], errors: [['docs/c.txt', 'AccessDenied']] } }, 'delete_objects: the photo deleted, docs/c.txt AccessDenied');
  t.equal(await rootSees(B, 'photos/boto3.jpg'), 'NoSuchKey/404', 'photos/boto3.jpg gone (it had been stored)');
  t.equal(await rootSees(B, 'docs/c.txt'), 'doc c', 'docs/c.txt kept');
  const pg = await fetch(String(r.presigned_get?.ok));
  t.equal(pg.status, 200, 'boto3 presigned GET (V2 or V4) of photos/a.jpg: 200');
  t.equal(await pg.text(), 'photo a', 'the body');
  const pd = await fetch(String(r.presigned_get_doc?.ok));
  t.equal(pd.status, 403, 'boto3 presigned GET of docs/c.txt: 403');
});

t.test('the aws CLI with a user\'s profile', { skip: NO_AWS }, async (t) => {
  const home = join(work, 'aws-home');
  mkdirSync(home, { recursive: true });
  const cli = awsCli(d.endpoint, home, { pathStyle: true, global: ['--profile', 'photos'] });
  // The helper's environment carries root's keys; an explicit profile takes precedence over them.
  writeFileSync(join(home, 'no-credentials'), `[photos]\naws_access_key_id = app-photos\naws_secret_access_key = ${secretOf('app-photos')}\n\n[wo]\naws_access_key_id = app-wo\naws_secret_access_key = ${secretOf('app-wo')}\n`, { mode: 0o600 });
  const woCli = awsCli(d.endpoint, home, { pathStyle: true, global: ['--profile', 'wo'] });
  const file = join(work, 'cli-upload.txt');
  writeFileSync(file, 'uploaded by the cli');

  const listed = await cli.run('s3api', 'list-objects-v2', '--bucket', B, '--prefix', 'photos/');
  t.equal(listed.code, 0, `s3api list-objects-v2 --prefix photos/ (${listed.stderr.trim()})`);
  t.match(listed.stdout, /photos\/a\.jpg/, 'lists photos/a.jpg');
  const all = await cli.run('s3api', 'list-objects-v2', '--bucket', B);
  t.not(all.code, 0, 'list-objects-v2 without a prefix fails');
  t.match(all.stderr, /AccessDenied/, 'AccessDenied');

  const cpOk = await cli.run('s3', 'cp', file, `s3://${B}/photos/cli.txt`);
  t.equal(cpOk.code, 0, `s3 cp to photos/cli.txt (${cpOk.stderr.trim()})`);
  t.equal(await rootSees(B, 'photos/cli.txt'), 'uploaded by the cli', 'stored');
  const cpNo = await cli.run('s3', 'cp', file, `s3://${B}/docs/cli.txt`);
  t.not(cpNo.code, 0, 's3 cp to docs/cli.txt fails');
  t.match(cpNo.stderr, /AccessDenied/, 'AccessDenied');
  t.equal(await rootSees(B, 'docs/cli.txt'), 'NoSuchKey/404', 'nothing stored');

  const ls = await woCli.run('s3', 'ls');
  t.not(ls.code, 0, 'writeonly: s3 ls fails');
  t.match(ls.stderr, /AccessDenied/, 'AccessDenied');
  mkdirSync(join(work, 'aws-root'), { recursive: true });
  const rootCli = awsCli(d.endpoint, join(work, 'aws-root'), { pathStyle: true });
  const rootLs = await rootCli.run('s3', 'ls');
  t.equal(rootLs.code, 0, 'root: s3 ls works');
  t.match(rootLs.stdout, new RegExp(B), 'and lists the bucket');
});

// ---- SIGHUP -------------------------------------------------------------------------------------

/** Sends SIGHUP and waits for the next log line whose msg starts with `msg`. */
async function reload(daemon: TestDaemon, msg: string): Promise<Record<string, unknown> | undefined> {
  const matching = (): Array<Record<string, unknown>> => daemon.jsonLogs().filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('users reload'));
  const before = matching().length;
  process.kill(daemon.proc.pid!, 'SIGHUP');
  for (let i = 0; i < 500; i++) {
    const seen = matching();
    if (seen.length > before) {
      const line = seen[seen.length - 1]!;
      return String(line.msg).startsWith(msg) ? line : { unexpected: line };
    }
    await sleep(10);
  }
  return undefined;
}

t.test('SIGHUP re-reads the file: users added, removed and changed; a broken file keeps the previous users', async (t) => {
  const one = (secret = 'r-one-secret'): S3Client => as('r-one', rd, {}, secret);
  const gone = as('r-gone', rd, {}, 'r-gone-secret');
  const added = as('r-new', rd, {}, 'r-new-secret');
  const rroot = rd.s3();
  const rb = bucketName('reload');
  await rroot.send(new CreateBucketCommand({ Bucket: rb }));
  await put(rroot, rb, 'a.txt', 'a');

  t.equal(await text(one(), rb, 'a.txt'), 'a', 'before: r-one (readonly) reads');
  t.equal(await s3Code(one().send(new PutObjectCommand({ Bucket: rb, Key: 'one.txt', Body: 'x' }))), DENIED, 'before: r-one cannot write');
  t.equal(await s3Code(gone.send(new PutObjectCommand({ Bucket: rb, Key: 'gone.txt', Body: 'gone' }))), 'ok', 'before: r-gone (readwrite) writes');
  t.equal(await s3Code(added.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'before: r-new is unknown');

  writeIam(reloadFile, {
    policies: { 'rb-only': doc(allow(['s3:PutObject', 's3:GetObject'], [`${rb}/new/*`])) },
    users: [
      { accessKey: 'r-one', secretKey: 'r-one-secret', policies: ['writeonly'] },
      { accessKey: 'r-new', secretKey: 'r-new-secret', policies: ['rb-only'] },
    ],
  });
  const mark = rd.logs.length;
  const line = await reload(rd, 'users reloaded');
  t.equal(line?.msg, 'users reloaded', 'the log says "users reloaded"');
  t.equal(line?.users, 2, 'with 2 users');
  t.equal(await s3Code(gone.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'a removed user → InvalidAccessKeyId');
  t.equal(await s3Code(gone.send(new PutObjectCommand({ Bucket: rb, Key: 'gone2.txt', Body: 'x' }))), 'InvalidAccessKeyId/403', 'and cannot write');
  t.equal(await rootSees2(rb, 'gone2.txt'), 'NoSuchKey/404', 'nothing stored');
  await put(added, rb, 'new/n.txt', 'new user');
  t.equal(await rootSees2(rb, 'new/n.txt'), 'new user', 'an added user works (its own policy)');
  t.equal(await s3Code(added.send(new PutObjectCommand({ Bucket: rb, Key: 'outside.txt', Body: 'x' }))), DENIED, 'and is held to it');
  t.equal(await s3Code(one().send(new GetObjectCommand({ Bucket: rb, Key: 'a.txt' }))), DENIED, 'a changed user: r-one (now writeonly) cannot read');
  t.equal(await s3Code(one().send(new PutObjectCommand({ Bucket: rb, Key: 'one.txt', Body: 'one' }))), 'ok', 'but writes');
  t.equal(await rootSees2(rb, 'one.txt'), 'one', 'stored');
  t.notOk(rd.logs.slice(mark).some((l) => l.includes('readable by every user')), 'the 0600 file gives no warning at the reload');

  // Broken files: each refused, logged, the previous users stay.
  const broken: Array<[string, string]> = [
    ['bad JSON', '{"users": ['],
    ['an unknown policy', JSON.stringify({ users: [{ accessKey: 'r-one', secretKey: 'r-one-secret', policies: ['nope'] }] })],
    ['a short secret', JSON.stringify({ users: [{ accessKey: 'r-one', secretKey: 'short', policies: ['readwrite'] }] })],
    ['a deleted file', ''],
  ];
  for (const [what, content] of broken) {
    if (content === '') rmSync(reloadFile);
    else writeIam(reloadFile, content);
    const failed = await reload(rd, 'users reload failed');
    t.match(String(failed?.msg), /^users reload failed/, `${what}: "users reload failed" logged`);
    t.equal(failed?.level, 50, `${what}: as an error`);
    // The reason as logged: its message alone, without an empty stack and a type "Object".
    t.same(Object.keys((failed?.err ?? {}) as object), ['message'], `${what}: err holds the reason's message only`);
    t.equal(rd.proc.exitCode, null, `${what}: the daemon keeps running`);
    t.equal(await s3Code(added.send(new GetObjectCommand({ Bucket: rb, Key: 'new/n.txt' }))), 'ok', `${what}: r-new still works`);
    t.equal(await s3Code(one().send(new GetObjectCommand({ Bucket: rb, Key: 'a.txt' }))), DENIED, `${what}: r-one still writeonly (not readwrite)`);
    t.equal(await s3Code(gone.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', `${what}: r-gone still unknown`);
  }
  // A world-readable file at a reload: loaded, with the warning.
  writeIam(reloadFile, { users: [{ accessKey: 'r-one', secretKey: 'r-one-secret-2', policies: ['readwrite'] }] }, 0o604);
  const warnedBefore = rd.logs.filter((l) => l.includes('readable by every user')).length;
  const ok = await reload(rd, 'users reloaded');
  t.equal(ok?.users, 1, 'a world-readable file is still loaded');
  t.equal(rd.logs.filter((l) => l.includes('readable by every user')).length, warnedBefore + 1, 'with a new warning');
  t.equal(await s3Code(one().send(new GetObjectCommand({ Bucket: rb, Key: 'a.txt' }))), 'SignatureDoesNotMatch/403', 'a changed secret: the old one no longer signs');
  t.equal(await text(one('r-one-secret-2'), rb, 'a.txt'), 'a', 'the new secret does, with readwrite');
  t.equal(await s3Code(added.send(new ListBucketsCommand({}))), 'InvalidAccessKeyId/403', 'r-new removed');
  // Group-readable (0640, the service's group) is fine: no warning.
  writeIam(reloadFile, { users: [{ accessKey: 'r-one', secretKey: 'r-one-secret-2', policies: ['readwrite'] }] }, 0o640);
  const warned640 = rd.logs.filter((l) => l.includes('readable by every user')).length;
  t.equal((await reload(rd, 'users reloaded'))?.users, 1, 'a 0640 file reloads');
  t.equal(rd.logs.filter((l) => l.includes('readable by every user')).length, warned640, 'without a warning');
  t.equal(await s3Code(rroot.send(new ListBucketsCommand({}))), 'ok', 'root unaffected by every reload');

  async function rootSees2(Bucket: string, Key: string): Promise<string> {
    return s3Code(rroot.send(new GetObjectCommand({ Bucket, Key }))).then(async (c) => (c === 'ok' ? text(rroot, Bucket, Key) : c));
  }
});

// ---- start-up refusals --------------------------------------------------------------------------

t.test('a broken S3_IAM_FILE: the daemon refuses to start, naming S3_IAM_FILE', async (t) => {
  const user = (o: Partial<UserEntry> & Record<string, unknown> = {}): Record<string, unknown> => ({ accessKey: 'someone', secretKey: 'someone-secret', policies: ['readonly'], ...o });
  const cases: Array<[string, unknown, RegExp]> = [
    ['bad JSON', '{"users": [ {"accessKey": "x", }', /not valid JSON/],
    ['an unknown top-level field', { users: [user()], roles: {} }, /unknown field "roles"/],
    ['an unknown user field', { users: [user({ group: 'devs' })] }, /unknown field "group"/],
    ["a user with the root user's access key", { users: [user({ accessKey: ACCESS_KEY })] }, /root user/],
    ['a duplicate access key', { users: [user(), user({ secretKey: 'another-secret' })] }, /appears twice/],
    ['a secret of 7 characters', { users: [user({ secretKey: 'seven77' })] }, /secretKey must be 8/],
    ['an unknown policy name', { users: [user({ policies: ['readonly', 'no-such-policy'] })] }, /no policy named "no-such-policy"/],
    ['a policy with a Principal', { policies: { p: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: arn('*') }] } }, users: [user({ policies: ['p'] })] }, /Principal/],
    ['a policy with NotAction beside Action', { policies: { p: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', NotAction: 's3:DeleteObject', Resource: arn('*') }] } }, users: [user({ policies: ['p'] })] }, /NotAction/],
    ['readwrite redefined', { policies: { readwrite: doc(allow(['s3:GetObject'], ['*'])) }, users: [user({ policies: ['readwrite'] })] }, /built-in/],
    ['a missing file', null, /cannot be read/],
  ];
  const results: Array<{ name: string; err: Error | undefined; file: string; pattern: RegExp }> = [];
  const runCase = async ([name, content, pattern]: [string, unknown, RegExp], i: number): Promise<void> => {
    const file = join(work, `broken-${i}.json`);
    if (content !== null) writeIam(file, content);
    const dataDir = join(work, `broken-data-${i}`);
    const err = await startDaemon({ dataDir, env: { S3_IAM_FILE: file } }).then(
      async (x) => {
        await x.stop();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    results.push({ name, err, file, pattern });
  };
  for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map((c, j) => runCase(c, i + j)));
  results.sort((a, b) => a.name.localeCompare(b.name));
  for (const { name, err, file, pattern } of results) {
    t.ok(err, `${name}: refused to start`);
    const m = /exited with (\S+) before listening/.exec(err?.message ?? '');
    t.ok(m && m[1] !== '0' && m[1] !== 'null', `${name}: a non-zero exit code (${m?.[1]})`);
    const line = err?.message.split('\n').find((l) => l.startsWith('s3d: ')) ?? '';
    t.match(line, /S3_IAM_FILE/, `${name}: the message names S3_IAM_FILE: ${line}`);
    t.ok(line.includes(file), `${name}: and the file`);
    t.match(line, pattern, `${name}: and says why`);
  }
  // The control: a good file with a secret of exactly 8 characters starts (the main daemon did, with app-wo).
  t.equal(await s3Code(as('app-wo').send(new PutObjectCommand({ Bucket: B, Key: 'eight.txt', Body: '8' }))), 'ok', 'a secret of exactly 8 characters is accepted');
});

t.test("a user's multipart upload names the user as its Initiator, by ARN, as S3 names an IAM user; the root user's names the owner", async (t) => {
  // S3's Initiator: 'If the principal is an IAM User, it provides a user ARN value' (API_Initiator);
  // every upload named the root user here, whoever started it.
  const owner = { ID: ACCESS_KEY, DisplayName: ACCESS_KEY };
  const user = { ID: `arn:aws:iam::${ACCESS_KEY}:user/app-rw`, DisplayName: 'app-rw' };
  const rw = as('app-rw');
  const byUser = await rw.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'initiator/user' }));
  const byRoot = await root.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'initiator/root' }));
  t.teardown(async () => {
    await root.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'initiator/user', UploadId: byUser.UploadId }));
    await root.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'initiator/root', UploadId: byRoot.UploadId }));
  });
  for (const [who, client] of [['root', root], ['the user', rw]] as const) {
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: 'initiator/' }));
    const upload = (key: string) => listed.Uploads?.find((u) => u.Key === key);
    t.same([upload('initiator/user')?.Initiator, upload('initiator/user')?.Owner], [user, owner], `ListMultipartUploads by ${who}: the user's upload names the user, its Owner the bucket's`);
    t.same([upload('initiator/root')?.Initiator, upload('initiator/root')?.Owner], [owner, owner], `ListMultipartUploads by ${who}: the root user's names the owner`);
  }
  const parts = await rw.send(new ListPartsCommand({ Bucket: B, Key: 'initiator/user', UploadId: byUser.UploadId }));
  t.same([parts.Initiator, parts.Owner], [user, owner], "ListParts: the user's upload names the user");
  const rootParts = await root.send(new ListPartsCommand({ Bucket: B, Key: 'initiator/root', UploadId: byRoot.UploadId }));
  t.same([rootParts.Initiator, rootParts.Owner], [owner, owner], "ListParts: the root user's names the owner");
});

t.test('the root user is never restricted, and no secret reaches the log', async (t) => {
  // Everything denied to users above, done by root.
  await put(root, B, 'secret/root.txt', 'root');
  t.equal(await text(root, B, 'secret/root.txt'), 'root', 'root writes and reads under secret/');
  t.equal(await s3Code(root.send(new ListObjectVersionsCommand({ Bucket: VB }))), 'ok', 'root lists versions');
  t.equal(await s3Code(root.send(new ListMultipartUploadsCommand({ Bucket: B }))), 'ok', 'root lists uploads');
  const out = await root.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'secret/root.txt' }, { Key: 'photos/keep-b.jpg' }] } }));
  t.same((out.Deleted ?? []).map((x) => x.Key).sort(), ['photos/keep-b.jpg', 'secret/root.txt'], 'root DeleteObjects: every key deleted');
  t.same(out.Errors ?? [], [], 'no errors');
  const kmsStatus = (accessKeyId: string, secretAccessKey: string) => raw(d.port, { method: 'GET', path: '/minio/admin/v3/kms/status', sign: { accessKeyId, secretAccessKey } });
  t.equal((await kmsStatus(ACCESS_KEY, SECRET_KEY)).status, 200, 'root: the KMS admin API answers');
  const rwAdmin = await kmsStatus('app-rw', secretOf('app-rw'));
  t.equal(rwAdmin.status, 403, 'readwrite (s3:*): the KMS admin API → 403');
  t.match(rwAdmin.body.toString(), /"Code":"AccessDenied"/, 'AccessDenied (MinIO admin JSON)');
  const all = [...d.logs, ...tlsd.logs, ...rd.logs].join('\n');
  const leaked = [...users.map((u) => u.secretKey), 'r-one-secret-2', 'r-new-secret', 'r-gone-secret', SECRET_KEY].filter((s) => all.includes(s));
  t.same(leaked, [], 'no secret key appears in any log');
});

// Bucket lifecycle rules on unversioned buckets against the real daemon (versioned buckets:
// s3-lifecycle-versions.test.ts), scanning every second (S3_LIFECYCLE_SCAN_INTERVAL=1s): expired objects are deleted and only they (prefix, tag, size
// and And filters; Disabled rules and future expiries spare objects), their data files leave the
// disk, PUT/GET/HEAD announce a coming expiry in x-amz-expiration, refused configurations change
// nothing, deleting the configuration stops expiry, the configuration survives a restart, and the
// AWS SDK, minio-js and the aws CLI all round-trip it.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { countFiles, waitForFileCounts } from '../helpers/files.js';
import { send } from '../helpers/http.js';
import { scrape, metricSample } from '../helpers/kes.js';
import { NO_AWS, awsCli } from '../helpers/aws-cli.js';
import { minioClient } from '../helpers/minio.js';
import { bodyBytes, createBucket, expectS3Error, rawBodyClient } from '../helpers/s3.js';
import { missing, toolRunner, writeS3cmdConfig } from '../helpers/tools.js';
import { pollUntil, sleep, waitForLog } from '../helpers/wait.js';

const PAST = new Date('2020-01-01T00:00:00Z');
const DAY_MS = 86_400_000;
/** Big enough to be a data file of its own (not inline in LMDB). */
const BIG = testBytes(300 * 1024, 9);


let d: TestDaemon = await startDaemon({ env: { S3_LIFECYCLE_SCAN_INTERVAL: '1s' } });
let s3: S3Client = d.s3();
const work = mkdtempSync(join(tmpdir(), 's3d-lifecycle-'));
t.teardown(async () => {
  await d.stop();
  d.cleanup();
  rmSync(work, { recursive: true, force: true });
});

async function keys(bucket: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((c) => c.Key!).sort();
}

async function put(bucket: string, key: string, body: string | Buffer = `body of ${key}`, tagging?: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(tagging ? { Tagging: tagging } : {}) }));
}

async function rulesOf(bucket: string): Promise<LifecycleRule[]> {
  return (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
}

/** Waits for `gone` to disappear from the listing; returns what is left. */
async function waitGone(bucket: string, gone: string[], timeoutMs = 8000): Promise<string[]> {
  return pollUntil(() => keys(bucket), (ks) => gone.every((g) => !ks.includes(g)), timeoutMs, 200);
}

/** Midnight UTC on or after `ms + days` (S3's rounding). */
function expiryDate(ms: number, days: number): Date {
  return new Date(Math.ceil((ms + days * DAY_MS) / DAY_MS) * DAY_MS);
}

t.test('expired objects are deleted, only those the enabled rules select', async (t) => {
  const bucket = await createBucket(s3);
  const survivors = ['keep/a', 'keep/b', 'later/a', 'other', 'tmp/untagged', 'tmp/wrong-tag', 'sized/small', 'logsx'];
  const doomed = ['logs/2020/a', 'logs/2020/b', 'logs/big', 'tmp/tagged', 'sized/big'];
  for (const k of ['keep/a', 'keep/b', 'later/a', 'other', 'logs/2020/a', 'logs/2020/b', 'logsx']) await put(bucket, k);
  await put(bucket, 'logs/big', BIG);
  await put(bucket, 'tmp/untagged');
  await put(bucket, 'tmp/wrong-tag', 'x', 'scratch=no');
  await put(bucket, 'tmp/tagged', 'x', 'scratch=yes&owner=ci');
  await put(bucket, 'sized/small', 'tiny');
  await put(bucket, 'sized/big', testBytes(2000, 3));
  const filesBefore = countFiles(d.dataDir).data;
  t.ok(filesBefore >= 1, 'the big object has a data file');

  const rules: LifecycleRule[] = [
    { ID: 'old-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Date: PAST } },
    { ID: 'scratch', Status: 'Enabled', Filter: { And: { Prefix: 'tmp/', Tags: [{ Key: 'scratch', Value: 'yes' }] } }, Expiration: { Date: PAST } },
    { ID: 'big-sized', Status: 'Enabled', Filter: { And: { Prefix: 'sized/', ObjectSizeGreaterThan: 1000 } }, Expiration: { Date: PAST } },
    { ID: 'paused', Status: 'Disabled', Filter: { Prefix: 'keep/' }, Expiration: { Date: PAST } },
    { ID: 'month', Status: 'Enabled', Filter: { Prefix: 'later/' }, Expiration: { Days: 30 } },
  ];
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } }));

  const got = await rulesOf(bucket);
  t.same(
    got.map((r) => [r.ID, r.Status]),
    rules.map((r) => [r.ID, r.Status]),
    'the configuration reads back rule by rule',
  );
  t.same(got[1]!.Filter, { And: { Prefix: 'tmp/', Tags: [{ Key: 'scratch', Value: 'yes' }] } }, 'an And filter reads back');
  t.same(got[2]!.Filter, { And: { Prefix: 'sized/', ObjectSizeGreaterThan: 1000 } }, 'a size filter reads back');
  t.equal(got[0]!.Expiration?.Date?.toISOString(), PAST.toISOString(), 'the Date reads back');
  t.equal(got[4]!.Expiration?.Days, 30, 'Days read back');

  const left = await waitGone(bucket, doomed);
  t.same(left, survivors.sort(), 'exactly the selected objects are deleted');
  await waitForLog(d.logs, (l) => l.msg === 'lifecycle: expired objects deleted, incomplete uploads aborted' && typeof l.expired === 'number', 5000);
  await expectS3Error(t, s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'logs/big' })), 'NoSuchKey', 404, 'an expired object');
  const files = await waitForFileCounts(d.dataDir, (c) => c.data <= filesBefore - 1, 15_000);
  t.ok(files.data <= filesBefore - 1, "the expired object's data file is deleted");
  const expired = metricSample(await scrape(d.endpoint), 's3d_lifecycle_expired_objects_total');
  t.ok(expired !== undefined && expired >= doomed.length, `the metric counts the expired objects (${expired})`);

  // Survivors stay through further scans.
  await sleep(2500);
  t.same(await keys(bucket), survivors.sort(), 'later scans leave the survivors alone');
  t.equal((await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'keep/a' })))).toString(), 'body of keep/a', 'a survivor reads back');

  // A coming expiry is announced on HEAD, GET and PUT; objects no rule selects carry none.
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'later/a' }));
  const want = expiryDate(head.LastModified!.getTime(), 30).toUTCString();
  t.equal(head.Expiration, `expiry-date="${want}", rule-id="month"`, 'HEAD announces the expiry (Last-Modified + 30 days, next midnight UTC)');
  const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'later/a' }));
  await bodyBytes(get);
  t.equal(get.Expiration, head.Expiration, 'GET announces it too');
  // A read naming a version gets none, even of the current one, as S3 answers (LocalStack's recording).
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'later/a', VersionId: 'null' }))).Expiration, undefined, 'HEAD with a versionId announces nothing');
  const putOut = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'later/b', Body: 'b' }));
  t.match(putOut.Expiration ?? '', /^expiry-date="[^"]+ 00:00:00 GMT", rule-id="month"$/, 'PUT announces it');
  const copyOut = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'later/copy', CopySource: `${bucket}/other` }));
  t.match(copyOut.Expiration ?? '', /^expiry-date="[^"]+ 00:00:00 GMT", rule-id="month"$/, 'CopyObject announces the copy\'s expiry');
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'later/mp' }));
  const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'later/mp', UploadId: mp.UploadId, PartNumber: 1, Body: 'p' }));
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'later/mp', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
  t.match(done.Expiration ?? '', /^expiry-date="[^"]+ 00:00:00 GMT", rule-id="month"$/, 'CompleteMultipartUpload announces it');
  const otherCopy = await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'other-copy', CopySource: `${bucket}/later/a` }));
  t.equal(otherCopy.Expiration, undefined, 'a copy to a key no rule selects announces nothing');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'other' }))).Expiration, undefined, 'an object no rule selects has no expiry');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'keep/a' }))).Expiration, undefined, 'a Disabled rule announces nothing');

  // Objects written later under an expired prefix go at the next scan.
  await put(bucket, 'logs/new');
  t.same(await waitGone(bucket, ['logs/new']), [...survivors, 'later/b', 'later/copy', 'later/mp', 'other-copy'].sort(), 'a new object under an expired prefix is deleted at the next scan');

  // Deleting the configuration stops expiry.
  await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), 'NoSuchLifecycleConfiguration', 404, 'GET after delete');
  await put(bucket, 'logs/after-delete');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'later/a' }))).Expiration, undefined, 'no expiry announced once the configuration is gone');
  await sleep(2500);
  t.ok((await keys(bucket)).includes('logs/after-delete'), 'objects outlive scans once the configuration is deleted');
});

t.test('incomplete uploads younger than AbortIncompleteMultipartUpload stay', async (t) => {
  const bucket = await createBucket(s3);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'up/a' }));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: [{ ID: 'abort', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
    }),
  );
  const got = await rulesOf(bucket);
  t.equal(got[0]!.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 1, 'the rule reads back');
  await sleep(2500);
  const ups = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  t.same((ups.Uploads ?? []).map((u) => u.UploadId), [up.UploadId], 'a young upload is not aborted');

  // CreateMultipartUpload and ListParts announce when the rule will abort the upload.
  const later = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'up/b' }));
  t.equal(later.AbortRuleId, 'abort', 'CreateMultipartUpload names the rule');
  const initiated = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads!.find((u) => u.UploadId === later.UploadId)!.Initiated!;
  t.equal(later.AbortDate?.toISOString(), expiryDate(initiated.getTime(), 1).toISOString(), 'and its date: initiation + 1 day, next midnight UTC');
  const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'up/b', UploadId: later.UploadId }));
  t.equal(parts.AbortRuleId, 'abort', 'ListParts names the rule');
  t.equal(parts.AbortDate?.toISOString(), later.AbortDate?.toISOString(), 'with the same date');
});

t.test('a rule of 2^31 - 1 days ("never") names no date past year 9999: the SDK reads the answers', async (t) => {
  // Its date was sent as "Invalid Date": the SDK threw on CreateMultipartUpload (after the upload
  // was made) and on ListParts.
  const bucket = await createBucket(s3);
  const never = 2147483647;
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [
          { ID: 'never', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: never }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: never } },
        ],
      },
    }),
  );
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  t.equal(put.Expiration, undefined, 'PutObject: no x-amz-expiration');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))).Expiration, undefined, 'HeadObject: none either');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'u' }));
  t.ok(up.UploadId, 'CreateMultipartUpload answers, read by the SDK');
  t.equal(up.AbortDate, undefined, 'with no abort date');
  const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'u', UploadId: up.UploadId }));
  t.equal(parts.AbortDate, undefined, 'ListParts: the same');
});

t.test('rule IDs are URL-encoded in x-amz-expiration and x-amz-abort-rule-id, as S3 documents', async (t) => {
  // Written raw, the UTF-8 of an ID reached clients as Latin-1 (boto3 and Node decode headers so):
  // "rÃ¨gle"; and a quote had to be escaped inside the quoted rule-id.
  const bucket = await createBucket(s3);
  const expireId = 'r\u00e8gle "q" a/b+c';
  const abortId = 'abandon \u00e9t\u00e9';
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: {
        Rules: [
          { ID: expireId, Status: 'Enabled', Filter: { Prefix: 'e/' }, Expiration: { Days: 30 } },
          { ID: abortId, Status: 'Enabled', Filter: { Prefix: 'u/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } },
        ],
      },
    }),
  );
  const encoded = 'r%C3%A8gle%20%22q%22%20a%2Fb%2Bc';
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'e/x', Body: 'x' }));
  t.match(put.Expiration, new RegExp(`^expiry-date="[^"]+", rule-id="${encoded}"$`), 'PutObject: rule-id URL-encoded');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'e/x' }));
  t.equal(head.Expiration, put.Expiration, 'HeadObject: the same');
  const ruleId = /rule-id="([^"]*)"/.exec(head.Expiration ?? '')?.[1] ?? '';
  t.equal(decodeURIComponent(ruleId), expireId, 'decodes to the rule ID');
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'u/x' }));
  t.equal(up.AbortRuleId, 'abandon%20%C3%A9t%C3%A9', 'CreateMultipartUpload: x-amz-abort-rule-id URL-encoded');
  const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'u/x', UploadId: up.UploadId }));
  t.equal(decodeURIComponent(parts.AbortRuleId ?? ''), abortId, 'ListParts: decodes to the rule ID');
});

t.test('rule IDs are kept as written, surrounding spaces included: a tool comparing GET with its PUT sees no change', async (t) => {
  // IDs are opaque strings (at most 255 characters): " x " read back "x" and "   " read back "",
  // so Terraform, which polls the configuration until it equals what it sent, waited forever.
  const bucket = await createBucket(s3);
  const Rules: LifecycleRule[] = [
    { ID: ' spaced\t', Status: 'Enabled', Filter: { Prefix: 'a/' }, Expiration: { Days: 30 } },
    { ID: 'spaced', Status: 'Enabled', Filter: { Prefix: 'b/' }, Expiration: { Days: 30 } },
    { ID: '   ', Status: 'Enabled', Filter: { Prefix: 'c/' }, Expiration: { Days: 30 } },
  ];
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));
  const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
  t.same(got.Rules?.map((r) => r.ID), [' spaced\t', 'spaced', '   '], 'GetBucketLifecycleConfiguration gives each ID back as sent (" spaced\\t" and "spaced" are two IDs)');
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/x', Body: 'x' }));
  t.equal(decodeURIComponent(/rule-id="([^"]*)"/.exec(put.Expiration ?? '')?.[1] ?? ''), ' spaced\t', 'x-amz-expiration names the rule as written');
});

// An empty Filter selects the whole bucket and reads back empty; one written on lines of its own
// (a hand-written document sent by s3cmd setlifecycle or curl) read back as <Prefix></Prefix>, another
// form than the one put (the indentation inside was taken for content).
t.test('an empty Filter reads back empty, on one line or indented', async (t) => {
  const bucket = await createBucket(s3);
  for (const filter of ['<Filter/>', '<Filter></Filter>', '<Filter>\n      </Filter>', '<Filter>\n  <Prefix></Prefix>\n</Filter>']) {
    const body = `<LifecycleConfiguration>\n  <Rule>\n    <ID>all</ID>\n    ${filter}\n    <Status>Enabled</Status>\n    <Expiration><Days>30</Days></Expiration>\n  </Rule>\n</LifecycleConfiguration>\n`;
    const put = await send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'lifecycle', body });
    t.equal(put.status, 200, `${JSON.stringify(filter)} is taken`);
    t.same((await rulesOf(bucket))[0]?.Filter, filter.includes('Prefix') ? { Prefix: '' } : {}, `${JSON.stringify(filter)} reads back as written`);
  }
});

t.test('refused configurations change nothing', async (t) => {
  const bucket = await createBucket(s3);
  const original: LifecycleRule[] = [{ ID: 'keep', Status: 'Enabled', Filter: { Prefix: 'x/' }, Expiration: { Days: 7 } }];
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: original } }));
  const before = await rulesOf(bucket);

  const refusals: Array<[string, string, number, string]> = [
    ['not XML at all', '<LifecycleConfiguration><Rule>', 400, 'MalformedXML'],
    ['no rules', '<LifecycleConfiguration></LifecycleConfiguration>', 400, 'MalformedXML'],
    [
      'a Transition',
      '<LifecycleConfiguration><Rule><ID>t</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>',
      501,
      'NotImplemented',
    ],
    [
      'a NoncurrentVersionTransition',
      '<LifecycleConfiguration><Rule><ID>n</ID><Status>Enabled</Status><Filter/><NoncurrentVersionTransition><NoncurrentDays>3</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule></LifecycleConfiguration>',
      501,
      'NotImplemented',
    ],
    // MinIO's own actions, as minio-go's lifecycle package writes them (mc ilm rule add): not
    // implemented, which is what they are, rather than MalformedXML, which told mc's users their
    // document was broken.
    [
      'MinIO\'s DelMarkerExpiration',
      '<LifecycleConfiguration><Rule><DelMarkerExpiration><Days>5</Days></DelMarkerExpiration><ID>d</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>',
      501,
      'NotImplemented',
    ],
    [
      'MinIO\'s ExpiredObjectAllVersions (mc ilm rule add --expire-all-object-versions)',
      '<LifecycleConfiguration><Rule><Expiration><Days>5</Days><ExpiredObjectAllVersions>true</ExpiredObjectAllVersions></Expiration><ID>e</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>',
      501,
      'NotImplemented',
    ],
    [
      'MinIO\'s AllVersionsExpiration',
      '<LifecycleConfiguration><Rule><AllVersionsExpiration><Days>5</Days></AllVersionsExpiration><ID>v</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>',
      501,
      'NotImplemented',
    ],
    [
      'a NoncurrentVersionExpiration without NoncurrentDays',
      '<LifecycleConfiguration><Rule><ID>n</ID><Status>Enabled</Status><Filter/><NoncurrentVersionExpiration><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>',
      400,
      'InvalidArgument',
    ],
    ['a rule without an action', '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter/></Rule></LifecycleConfiguration>', 400, 'InvalidRequest'],
    ['a bad Status', '<LifecycleConfiguration><Rule><ID>a</ID><Status>On</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>', 400, 'MalformedXML'],
    ['zero Days', '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Days>0</Days></Expiration></Rule></LifecycleConfiguration>', 400, 'InvalidArgument'],
    // Days that are no integer: no document S3's schema takes (MalformedXML, as past 2147483647).
    ['Days abc', '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Days>abc</Days></Expiration></Rule></LifecycleConfiguration>', 400, 'MalformedXML'],
    [
      'DaysAfterInitiation 1.5',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter/><AbortIncompleteMultipartUpload><DaysAfterInitiation>1.5</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>',
      400,
      'MalformedXML',
    ],
    [
      'a Date that is not midnight UTC',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter/><Expiration><Date>2030-01-01T12:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>',
      400,
      'InvalidArgument',
    ],
    [
      'an empty And (it read as the whole bucket)',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><And></And></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
      400,
      'MalformedXML',
    ],
    [
      // An And joins two or more predicates; S3 refuses one alone (Terraform's provider met it).
      'an And of a Prefix alone',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><And><Prefix>logs/</Prefix></And></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
      400,
      'MalformedXML',
    ],
    [
      'an And of one Tag alone',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><And><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
      400,
      'MalformedXML',
    ],
    [
      'two conditions without And',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
      400,
      'MalformedXML',
    ],
    [
      'a duplicate rule ID',
      '<LifecycleConfiguration><Rule><ID>same</ID><Status>Enabled</Status><Filter/><Expiration><Days>1</Days></Expiration></Rule><Rule><ID>same</ID><Status>Enabled</Status><Filter/><Expiration><Days>2</Days></Expiration></Rule></LifecycleConfiguration>',
      400,
      'InvalidArgument',
    ],
    [
      'AbortIncompleteMultipartUpload with a tag filter',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>',
      400,
      'InvalidRequest',
    ],
    [
      // An upload in progress has no size: the filter would be stored and ignored.
      'AbortIncompleteMultipartUpload with a size filter',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><ObjectSizeGreaterThan>1000000000</ObjectSizeGreaterThan></Filter><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>',
      400,
      'InvalidRequest',
    ],
    [
      // A delete marker has no tags: InvalidRequest, as S3's refusals of the same kind.
      'ExpiredObjectDeleteMarker with a tag filter',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>',
      400,
      'InvalidRequest',
    ],
    [
      // S3 refuses it with the element false too (Terraform modules write false beside a size filter).
      'ExpiredObjectDeleteMarker, even false, with a size filter',
      '<LifecycleConfiguration><Rule><ID>a</ID><Status>Enabled</Status><Filter><ObjectSizeLessThan>1000</ObjectSizeLessThan></Filter><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>',
      400,
      'InvalidRequest',
    ],
  ];
  for (const [what, body, status, code] of refusals) {
    const c = rawBodyClient(d, body);
    await expectS3Error(t, c.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [] } })), code, status, what);
    c.destroy();
  }
  t.same(await rulesOf(bucket), before, 'the configuration is unchanged after every refusal');

  // Terraform's provider once sent ObjectSizeLessThan 0, which S3 refused; s3d stored a rule that
  // matched nothing.
  for (const [what, Filter] of [
    ['ObjectSizeLessThan 0', { ObjectSizeLessThan: 0 }],
    ['an ObjectSizeLessThan not above ObjectSizeGreaterThan', { And: { Prefix: 'a/', ObjectSizeGreaterThan: 500, ObjectSizeLessThan: 500 } }],
  ] as const) {
    await expectS3Error(t, s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [{ ID: 's', Status: 'Enabled', Filter, Expiration: { Days: 1 } }] } })), 'InvalidRequest', 400, what);
  }

  const unsigned = await send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'lifecycle', body: '<LifecycleConfiguration/>', sign: false });
  t.equal(unsigned.status, 403, 'an unsigned PUT is refused');
  t.same(await rulesOf(bucket), before, 'and changes nothing');

  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'no-such-bucket-lc' })), 'NoSuchBucket', 404, 'GET on a missing bucket');
  await expectS3Error(
    t,
    s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: 'no-such-bucket-lc', LifecycleConfiguration: { Rules: original } })),
    'NoSuchBucket',
    404,
    'PUT on a missing bucket',
  );
  const fresh = await createBucket(s3);
  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: fresh })), 'NoSuchLifecycleConfiguration', 404, 'GET on a bucket without one');
});

// x-amz-transition-default-minimum-object-size governs transitions, which s3d has none of; S3
// keeps it and gives it back (its default when none was put), and Terraform's
// transition_default_minimum_object_size and scripts comparing configurations read it. s3d
// ignored the header and answered without it.
t.test('TransitionDefaultMinimumObjectSize is kept and given back, S3\'s default when none was put', async (t) => {
  const bucket = await createBucket(s3);
  const Rules: LifecycleRule[] = [{ ID: 'r', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 30 } }];
  const put1 = await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules }, TransitionDefaultMinimumObjectSize: 'varies_by_storage_class' }));
  t.equal(put1.TransitionDefaultMinimumObjectSize, 'varies_by_storage_class', 'the PUT answers with the value put');
  const got1 = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
  t.equal(got1.TransitionDefaultMinimumObjectSize, 'varies_by_storage_class', 'GET gives it back');
  t.same(got1.Rules?.map((r) => r.ID), ['r'], 'beside the rules');

  const put2 = await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));
  t.equal(put2.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K', 'a PUT without it: S3\'s default');
  t.equal((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K', 'and GET says so');

  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules }, TransitionDefaultMinimumObjectSize: 'varies_by_storage_class' }));
  const bad = await send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'lifecycle', headers: { 'x-amz-transition-default-minimum-object-size': 'all_storage_classes_1M' }, body: '<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>' });
  t.equal(bad.status, 400, 'a value outside S3\'s two → 400');
  // S3's code and words (LocalStack's recording against S3).
  t.match(bad.body.toString(), /<Code>InvalidRequest<\/Code><Message>Invalid TransitionDefaultMinimumObjectSize found: all_storage_classes_1M<\/Message>/, 'InvalidRequest, naming the value');
  await expectS3Error(t, s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules }, TransitionDefaultMinimumObjectSize: 'all_storage_classes_64K' as never })), 'InvalidRequest', 400, 'the SDK sending another value');
  const kept = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
  t.same([kept.TransitionDefaultMinimumObjectSize, kept.Rules?.[0]?.Expiration?.Days], ['varies_by_storage_class', 30], 'the configuration is unchanged');

  await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules } }));
  t.equal((await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K', 'DeleteBucketLifecycle removed it with the rules');
});

t.test('minio-js sets, reads and removes a configuration that the daemon enforces', async (t) => {
  const mc = minioClient(d);
  const bucket = await createBucket(s3);
  await put(bucket, 'cache/a');
  await put(bucket, 'data/a');
  await mc.setBucketLifecycle(bucket, {
    Rule: [{ ID: 'cache', Status: 'Enabled', Filter: { Prefix: 'cache/' }, Expiration: { Date: '2020-01-01T00:00:00Z' } }],
  } as never);
  const got = await mc.getBucketLifecycle(bucket);
  t.match(JSON.stringify(got), /"ID":"cache"/, 'minio-js reads the rule back');
  t.same(await waitGone(bucket, ['cache/a']), ['data/a'], 'the rule minio-js set expires its objects');
  await mc.removeBucketLifecycle(bucket);
  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), 'NoSuchLifecycleConfiguration', 404, 'after removeBucketLifecycle');
});

// minio-js's RuleFilterAnd type names the tags `Tags`, which it writes as <Tags>; S3's element is
// <Tag>. The rule was stored without its tag condition and expired every object in the bucket.
t.test("minio-js's And filter with Tags is refused, never stored wider than it was written", async (t) => {
  const mc = minioClient(d);
  const bucket = await createBucket(s3);
  await put(bucket, 'keep-me.txt', 'precious');
  await put(bucket, 'tmp.txt', 'scratch', 'temp=yes');
  const err = await mc.setBucketLifecycle(bucket, {
    Rule: [{ ID: 'expire-temp', Status: 'Enabled', Filter: { And: { Prefix: '', Tags: [{ Key: 'temp', Value: 'yes' }] } }, Expiration: { Date: '2020-01-01T00:00:00.000Z' } }],
  } as never).then(() => undefined, (e: { code?: string }) => e.code);
  t.equal(err, 'MalformedXML', 'setBucketLifecycle: MalformedXML');
  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), 'NoSuchLifecycleConfiguration', 404, 'no configuration stored');
  // The same rule written as S3 spells it expires exactly the tagged object.
  await mc.setBucketLifecycle(bucket, {
    Rule: [{ ID: 'expire-temp', Status: 'Enabled', Filter: { And: { Prefix: '', Tag: [{ Key: 'temp', Value: 'yes' }] } }, Expiration: { Date: '2020-01-01T00:00:00.000Z' } }],
  } as never);
  t.same(await waitGone(bucket, ['tmp.txt']), ['keep-me.txt'], 'with <Tag>: only tmp.txt expires');
});

t.test('the aws CLI round-trips a configuration', { skip: NO_AWS }, async (t) => {
  const bucket = await createBucket(s3);
  await put(bucket, 'tmp/a');
  await put(bucket, 'home/a');
  const cli = awsCli(d.endpoint, work);
  const aws = (...args: string[]): Promise<string> => cli.ok('s3api', ...args);
  const file = join(work, 'lifecycle.json');
  const conf = {
    Rules: [
      { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Date: '2020-01-01T00:00:00Z' } },
      { ID: 'uploads', Status: 'Enabled', Filter: { Prefix: '' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } },
    ],
  };
  writeFileSync(file, JSON.stringify(conf));
  await aws('put-bucket-lifecycle-configuration', '--bucket', bucket, '--lifecycle-configuration', `file://${file}`);
  const got = JSON.parse(await aws('get-bucket-lifecycle-configuration', '--bucket', bucket)) as { Rules: Array<Record<string, unknown>> };
  t.same(
    got.Rules.map((r) => r.ID),
    ['tmp', 'uploads'],
    'the CLI reads the rules back',
  );
  t.same(got.Rules[1]!.AbortIncompleteMultipartUpload, { DaysAfterInitiation: 3 }, 'with their actions');
  t.same(await waitGone(bucket, ['tmp/a']), ['home/a'], 'the rule the CLI set expires its objects');
  await aws('delete-bucket-lifecycle', '--bucket', bucket);
  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), 'NoSuchLifecycleConfiguration', 404, 'after delete-bucket-lifecycle');
});

// s3cmd's `expire` writes --expiry-date into <Date> as typed. A date alone is no timestamp S3's
// schema takes: MalformedXML, as S3 answers text that is no ISO 8601 date and time; s3d said
// InvalidArgument "'Date' must be at midnight GMT", of a midnight.
t.test('s3cmd sets, reads and removes an expiration; a Date that is no timestamp is MalformedXML', { skip: missing('s3cmd') }, async (t) => {
  const bucket = await createBucket(s3);
  const cfg = join(work, 's3cfg');
  writeS3cmdConfig(cfg, d.endpoint);
  const { run, ok } = toolRunner(work);
  const s3cmd = (...args: string[]): ReturnType<typeof run> => run('s3cmd', ['-c', cfg, ...args], {});
  await ok('s3cmd', ['-c', cfg, 'expire', `s3://${bucket}`, '--expiry-date=2030-01-01T00:00:00.000Z', '--expiry-prefix=tmp/'], {});
  t.same((await rulesOf(bucket))[0]?.Expiration?.Date?.toISOString(), '2030-01-01T00:00:00.000Z', 'expire --expiry-date with a time: stored');
  t.match((await s3cmd('info', `s3://${bucket}`)).stdout, /Expiration Rule: objects with key prefix 'tmp\/' will expire in '2030-01-01T00:00:00Z'/, 'info reads it back');
  const dateOnly = await s3cmd('expire', `s3://${bucket}`, '--expiry-date=2030-01-01');
  t.not(dateOnly.code, 0, 'expire --expiry-date with a date alone fails');
  t.match(dateOnly.stderr, /400 \(MalformedXML\)/, 'with MalformedXML');
  t.same((await rulesOf(bucket))[0]?.Expiration?.Date?.toISOString(), '2030-01-01T00:00:00.000Z', 'the configuration is unchanged');
  await ok('s3cmd', ['-c', cfg, 'expire', `s3://${bucket}`], {});
  await expectS3Error(t, s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket })), 'NoSuchLifecycleConfiguration', 404, 'after expire without a date or days');
});

t.test('a configuration survives a restart and is enforced after it', async (t) => {
  const bucket = await createBucket(s3);
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: bucket,
      LifecycleConfiguration: { Rules: [{ ID: 'gone-soon', Status: 'Enabled', Filter: { Prefix: 'old/' }, Expiration: { Date: PAST } }] },
    }),
  );
  const before = await rulesOf(bucket);
  const dataDir = d.dataDir;
  t.equal(await d.stop(), 0, 'the daemon stops cleanly');
  d = await startDaemon({ dataDir, env: { S3_LIFECYCLE_SCAN_INTERVAL: '1h' } });
  s3 = d.s3();
  t.same(await rulesOf(bucket), before, 'the configuration is still there after the restart');
  await put(bucket, 'old/a');
  await put(bucket, 'new/a');
  // With an hourly interval, the first scan still runs 5 s after start-up.
  t.same(await waitGone(bucket, ['old/a'], 12_000), ['new/a'], 'the first scan after start-up enforces it');
});

// ops/notification.ts on its own: NotificationConfiguration documents (as the AWS SDK and
// minio-js write them) parse to the stored rules and read back the same; unknown or foreign ARNs,
// other regions, unsupported events and bad filters are refused with MinIO's codes; Topic and
// CloudFunction configurations are NotImplemented; an empty document removes the configuration.
import t from 'tap';
import { notificationXml, parseNotificationConfiguration } from '../../../../daemon/ops/notification.js';

const targets = { region: 'us-east-1', has: (id: string) => id === 'PRIMARY' || id === '_' };
const conf = (inner: string): Buffer => Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</NotificationConfiguration>`);
const queue = (inner: string): string => `<QueueConfiguration>${inner}</QueueConfiguration>`;
const prefixFilter = (name: string, value: string): string => `<Filter><S3Key><FilterRule><Name>${name}</Name><Value>${value}</Value></FilterRule></S3Key></Filter>`;

function fail(body: Buffer): string {
  try {
    parseNotificationConfiguration(body, targets);
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return `${e.code}: ${e.message}`;
  }
}

t.test('queue configurations parse and read back the same', async (t) => {
  const rules = parseNotificationConfiguration(
    conf(
      queue('<Id>images</Id><Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:Delete</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>img/</Value></FilterRule><FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>') +
        queue('<Queue>arn:minio:sqs:us-east-1:_:webhook</Queue><Event>s3:ObjectCreated:Put</Event>'),
    ),
    targets,
  );
  t.strictSame(rules, [
    { id: 'images', arn: 'arn:minio:sqs::PRIMARY:webhook', events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'], prefix: 'img/', suffix: '.jpg' },
    { id: rules[1]!.id, arn: 'arn:minio:sqs:us-east-1:_:webhook', events: ['s3:ObjectCreated:Put'] },
  ]);
  t.match(rules[1]!.id, /^[A-Za-z0-9+/]{40,}={0,2}$/, 'a configuration without an Id is assigned one (S3 does)');
  const xml = notificationXml(rules);
  t.match(xml, /<QueueConfiguration><Id>images<\/Id><Filter><S3Key><FilterRule><Name>prefix<\/Name><Value>img\/<\/Value><\/FilterRule><FilterRule><Name>suffix<\/Name><Value>.jpg<\/Value><\/FilterRule><\/S3Key><\/Filter><Event>s3:ObjectCreated:\*<\/Event><Event>s3:ObjectRemoved:Delete<\/Event><Queue>arn:minio:sqs::PRIMARY:webhook<\/Queue><\/QueueConfiguration>/);
  t.strictSame(parseNotificationConfiguration(Buffer.from(xml), targets), rules, 'what Get gives back parses to the same rules');
  t.strictSame(parseNotificationConfiguration(conf(''), targets), [], 'an empty document: no configuration');
  t.strictSame(parseNotificationConfiguration(Buffer.from('<NotificationConfiguration/>'), targets), []);
  t.match(notificationXml([]), /<NotificationConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><\/NotificationConfiguration>$/);
  t.strictSame(parseNotificationConfiguration(conf(queue(`<Queue>arn:minio:sqs::_:webhook</Queue><Event>s3:ObjectCreated:*</Event>${prefixFilter('prefix', '')}`)), targets).map(({ id: _id, ...r }) => r), [{ arn: 'arn:minio:sqs::_:webhook', events: ['s3:ObjectCreated:*'] }], 'an empty filter value filters nothing');
});

t.test('filter values are kept exactly; the document may be indented', async (t) => {
  const doc = `<NotificationConfiguration>
  <QueueConfiguration>
    <Id> spaced </Id>
    <Queue> arn:minio:sqs::PRIMARY:webhook </Queue>
    <Event> s3:ObjectCreated:* </Event>
    <Filter>
      <S3Key>
        <FilterRule><Name> Prefix </Name><Value> logs </Value></FilterRule>
        <FilterRule><Name>suffix</Name><Value>.gz </Value></FilterRule>
      </S3Key>
    </Filter>
  </QueueConfiguration>
</NotificationConfiguration>`;
  const rules = parseNotificationConfiguration(Buffer.from(doc), targets);
  t.strictSame(rules, [{ id: 'spaced', arn: 'arn:minio:sqs::PRIMARY:webhook', events: ['s3:ObjectCreated:*'], prefix: ' logs ', suffix: '.gz ' }]);
  t.strictSame(parseNotificationConfiguration(Buffer.from(notificationXml(rules)), targets), rules, 'and read back the same');
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key/><Tag/></Filter>'))), /^MalformedXML: Unknown element Tag in Filter/);
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectCreated:*</Event>text'))), /^MalformedXML: QueueConfiguration holds text/);
});

t.test('as many configurations as the 256 KiB read holds are not refused as too much markup', async (t) => {
  // Filtered configurations of 11 elements (Id, Queue, Event, two FilterRules) in ~270 bytes:
  // the read holds ~970, more elements than other documents may have (MAX_MARKUP).
  const filtered = (i: number): string =>
    queue(`<Id/><Queue>arn:minio:sqs::_:webhook</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>${i}</Value></FilterRule><FilterRule><Name>suffix</Name><Value/></FilterRule></S3Key></Filter>`);
  let body = conf(Array.from({ length: 960 }, (_, i) => filtered(i)).join(''));
  t.ok(body.length < 256 * 1024, `it fits the read (${body.length} bytes)`);
  t.equal(parseNotificationConfiguration(body, targets).length, 960, 'parsed: 10,562 elements');
  body = Buffer.from(body.toString().replace('<Id/>', `<Id/>${'<Event/>'.repeat(10_000)}`));
  t.match(fail(body), /^MalformedXML: The XML you provided holds more than 20002 elements and attributes/, 'past the bound: refused unparsed');
});

t.test('refusals', async (t) => {
  const ev = '<Event>s3:ObjectCreated:*</Event>';
  const ARN = /^InvalidArgument: A specified destination ARN does not exist or is not well-formed/;
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs::NOPE:webhook</Queue>${ev}`))), ARN, 'no such target');
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:kafka</Queue>${ev}`))), ARN, 'not a webhook');
  t.match(fail(conf(queue(`<Queue>arn:aws:sqs:us-east-1:444455556666:queue1</Queue>${ev}`))), ARN, 'an AWS SQS ARN');
  t.match(fail(conf(queue(ev))), ARN, 'no Queue');
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs:eu-west-1:PRIMARY:webhook</Queue>${ev}`))), /^InvalidArgument: A specified destination is in a different region/);
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectAccessed:Get</Event>'))), /^InvalidArgument: A specified event is not supported for notifications/);
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectCreated:Nope</Event>'))), /^InvalidArgument: A specified event is not supported/);
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue>'))), /^MalformedXML: Each QueueConfiguration needs at least one Event/);
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue>${ev}${ev}`))), /^InvalidArgument: Configurations overlap/);
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue>${ev}`).repeat(2))), /^InvalidArgument: Configurations overlap/, 'an exact repeat');
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue>${ev}${prefixFilter('middle', 'x')}`))), /^InvalidArgument: filter rule name must be either prefix or suffix/);
  t.match(
    fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue>${ev}<Filter><S3Key><FilterRule><Name>prefix</Name><Value>a</Value></FilterRule><FilterRule><Name>prefix</Name><Value>b</Value></FilterRule></S3Key></Filter>`))),
    /^InvalidArgument: Cannot specify more than one prefix rule/,
  );
  t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue>${ev}${prefixFilter('prefix', 'x'.repeat(1025))}`))), /^InvalidArgument: A filter rule value is at most 1024 bytes/);
  t.match(fail(conf('<TopicConfiguration><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration>')), /^NotImplemented: /);
  t.match(fail(conf('<CloudFunctionConfiguration><CloudFunction>arn:aws:lambda:x</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration>')), /^NotImplemented: /);
  t.match(fail(conf('<EventBridgeConfiguration></EventBridgeConfiguration>')), /^NotImplemented: /);
  t.match(fail(conf('<Other/>')), /^MalformedXML: /);
  // A misspelt filter element was dropped: the notification went out for every key.
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRules><Name>prefix</Name><Value>logs/</Value></FilterRules></S3Key></Filter>'))), /^MalformedXML: Unknown element FilterRules in S3Key/);
  t.match(fail(conf(queue('<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Valu>logs/</Valu></FilterRule></S3Key></Filter>'))), /^MalformedXML: Unknown element Valu in FilterRule/);
  t.match(fail(Buffer.from('<Foo/>')), /^MalformedXML: /);
  t.match(fail(Buffer.from('<NotificationConfiguration><QueueConfiguration>')), /^MalformedXML: /);
});

t.test("S3's lifecycle expiry names are accepted (Terraform, boto3 scripts written for S3); the lifecycle events s3d never sends are refused", async (t) => {
  const lifecycle = ['s3:LifecycleExpiration:*', 's3:LifecycleExpiration:Delete', 's3:LifecycleExpiration:DeleteMarkerCreated'];
  for (const e of lifecycle) {
    const rules = parseNotificationConfiguration(conf(queue(`<Id>lc</Id><Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>${e}</Event><Event>s3:ObjectRemoved:*</Event>`)), targets);
    t.strictSame(rules, [{ id: 'lc', arn: 'arn:minio:sqs::PRIMARY:webhook', events: [e, 's3:ObjectRemoved:*'] }], e);
    t.strictSame(parseNotificationConfiguration(Buffer.from(notificationXml(rules)), targets), rules, `${e} reads back the same`);
  }
  for (const e of ['s3:LifecycleTransition', 's3:IntelligentTiering', 's3:ObjectRestore:*', 's3:Replication:*', 's3:LifecycleExpiration:Nope']) {
    t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>${e}</Event>`))), /^InvalidArgument: A specified event is not supported for notifications/, e);
  }
});

t.test("S3's object tagging and ACL names are accepted; MinIO's tagging names and events s3d never sends are refused", async (t) => {
  for (const e of ['s3:ObjectTagging:*', 's3:ObjectTagging:Put', 's3:ObjectTagging:Delete', 's3:ObjectAcl:Put']) {
    const rules = parseNotificationConfiguration(conf(queue(`<Id>tags</Id><Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>${e}</Event>`)), targets);
    t.strictSame(rules, [{ id: 'tags', arn: 'arn:minio:sqs::PRIMARY:webhook', events: [e] }], e);
    t.strictSame(parseNotificationConfiguration(Buffer.from(notificationXml(rules)), targets), rules, `${e} reads back the same`);
  }
  // MinIO's spellings are for listeners (ListenBucketNotification) only.
  for (const e of ['s3:ObjectCreated:PutTagging', 's3:ObjectCreated:DeleteTagging', 's3:ObjectTagging:Get', 's3:ObjectAcl:*', 's3:ObjectRestore:Post', 's3:Replication:OperationFailedReplication']) {
    t.match(fail(conf(queue(`<Queue>arn:minio:sqs::PRIMARY:webhook</Queue><Event>${e}</Event>`))), /^InvalidArgument: A specified event is not supported for notifications/, e);
  }
});

// notify/rules.ts on its own: which rules an event matches (event names and their `*` families,
// prefix and suffix as MinIO's prefix*suffix pattern), one delivery per target.
import t from 'tap';
import { compileRules, eventCovers, expiryTargets, keyMatches, matchTargets, TAGGING_NAMES } from '../../../../daemon/notify/rules.js';
import type { NotificationRule } from '../../../../daemon/meta/records.js';

t.test('event names and wildcards', async (t) => {
  t.ok(eventCovers('s3:ObjectCreated:Put', 's3:ObjectCreated:Put'));
  t.ok(eventCovers('s3:ObjectCreated:*', 's3:ObjectCreated:CompleteMultipartUpload'));
  t.ok(eventCovers('s3:ObjectRemoved:*', 's3:ObjectRemoved:Delete'));
  t.notOk(eventCovers('s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'));
  t.notOk(eventCovers('s3:ObjectCreated:Put', 's3:ObjectCreated:Post'));
  t.notOk(eventCovers('s3:ObjectCreated:Put', 's3:ObjectCreated:PutTagging'));
});

t.test('prefix and suffix', async (t) => {
  const f = (prefix: string, suffix: string): { prefix: string; suffix: string } => ({ prefix, suffix });
  t.ok(keyMatches(f('', ''), 'anything'));
  t.ok(keyMatches(f('img/', ''), 'img/a.jpg'));
  t.notOk(keyMatches(f('img/', ''), 'doc/img/a.jpg'));
  t.ok(keyMatches(f('', '.jpg'), 'a/b.jpg'));
  t.notOk(keyMatches(f('', '.jpg'), 'a/b.jpeg'));
  t.ok(keyMatches(f('img/', '.jpg'), 'img/x.jpg'));
  t.notOk(keyMatches(f('ab', 'bc'), 'abc'), 'prefix and suffix may not share characters');
  t.ok(keyMatches(f('ab', 'bc'), 'abbc'));
});

t.test('targets an event goes to', async (t) => {
  const rules: NotificationRule[] = [
    { id: 'jpg', arn: 'arn:minio:sqs::A:webhook', events: ['s3:ObjectCreated:*'], suffix: '.jpg' },
    { arn: 'arn:minio:sqs:us-east-1:A:webhook', events: ['s3:ObjectCreated:Put', 's3:ObjectRemoved:*'] },
    { id: 'b', arn: 'arn:minio:sqs::B:webhook', events: ['s3:ObjectRemoved:Delete'], prefix: 'logs/' },
    { arn: 'not an arn', events: ['s3:ObjectCreated:*'] },
  ];
  const c = compileRules(rules);
  t.equal(compileRules(rules), c, 'compiled once per rule list');
  t.equal(c.length, 3, 'a rule whose ARN does not parse is left out');
  t.strictSame([...matchTargets(c, 's3:ObjectCreated:Put', 'a.jpg')], [['A', 'jpg']], 'one delivery per target: the first matching rule names it');
  t.strictSame([...matchTargets(c, 's3:ObjectCreated:Put', 'a.png')], [['A', 'Config']], 'no Id: MinIO\'s "Config"');
  t.strictSame([...matchTargets(c, 's3:ObjectCreated:Copy', 'a.png')], []);
  t.strictSame([...matchTargets(c, 's3:ObjectRemoved:Delete', 'logs/x')], [['A', 'Config'], ['B', 'b']]);
  t.strictSame([...matchTargets(c, 's3:ObjectRemoved:Delete', 'x')], [['A', 'Config']]);
});

t.test("a lifecycle expiry: S3's LifecycleExpiration event to targets that ask for it, MinIO's ObjectRemoved to the rest, once per target", async (t) => {
  const c = compileRules([
    { id: 'aws', arn: 'arn:minio:sqs::AWS:webhook', events: ['s3:LifecycleExpiration:*'] },
    { id: 'minio', arn: 'arn:minio:sqs::MINIO:webhook', events: ['s3:ObjectRemoved:*'] },
    // BOTH asks for both kinds (two rules, the removed one first): it gets the lifecycle event only.
    { id: 'both-removed', arn: 'arn:minio:sqs::BOTH:webhook', events: ['s3:ObjectRemoved:Delete', 's3:ObjectRemoved:DeleteMarkerCreated'] },
    { id: 'both-lc', arn: 'arn:minio:sqs::BOTH:webhook', events: ['s3:LifecycleExpiration:Delete'], prefix: 'logs/' },
    { id: 'marker', arn: 'arn:minio:sqs::MARKER:webhook', events: ['s3:LifecycleExpiration:DeleteMarkerCreated'] },
  ]);
  const sent = (removed: 's3:ObjectRemoved:Delete' | 's3:ObjectRemoved:DeleteMarkerCreated', key: string): Array<[string, string, string]> =>
    [...expiryTargets(c, removed, key)].map(([target, e]) => [target, e.name, e.configurationId]);
  t.strictSame(sent('s3:ObjectRemoved:Delete', 'logs/a').sort(), [
    ['AWS', 's3:LifecycleExpiration:Delete', 'aws'],
    ['BOTH', 's3:LifecycleExpiration:Delete', 'both-lc'],
    ['MINIO', 's3:ObjectRemoved:Delete', 'minio'],
  ]);
  t.strictSame(sent('s3:ObjectRemoved:Delete', 'other').sort(), [
    ['AWS', 's3:LifecycleExpiration:Delete', 'aws'],
    ['BOTH', 's3:ObjectRemoved:Delete', 'both-removed'],
    ['MINIO', 's3:ObjectRemoved:Delete', 'minio'],
  ], "the lifecycle rule's filter leaves the key out: the removed rule sends it");
  t.strictSame(sent('s3:ObjectRemoved:DeleteMarkerCreated', 'logs/a').sort(), [
    ['AWS', 's3:LifecycleExpiration:DeleteMarkerCreated', 'aws'],
    ['BOTH', 's3:ObjectRemoved:DeleteMarkerCreated', 'both-removed'],
    ['MARKER', 's3:LifecycleExpiration:DeleteMarkerCreated', 'marker'],
    ['MINIO', 's3:ObjectRemoved:DeleteMarkerCreated', 'minio'],
  ]);
  t.strictSame([...matchTargets(c, 's3:ObjectRemoved:Delete', 'x')].sort(), [['BOTH', 'both-removed'], ['MINIO', 'minio']], 'a delete by a request: ObjectRemoved rules only');
});

t.test("a tags change: S3's s3:ObjectTagging names for rules (s3:ObjectCreated:* does not cover them); MinIO's for listeners", async (t) => {
  const c = compileRules([
    { id: 'created', arn: 'arn:minio:sqs::CREATED:webhook', events: ['s3:ObjectCreated:*'] },
    { id: 'tags', arn: 'arn:minio:sqs::TAGS:webhook', events: ['s3:ObjectTagging:*'] },
    { id: 'put', arn: 'arn:minio:sqs::PUT:webhook', events: ['s3:ObjectTagging:Put'] },
    { id: 'acl', arn: 'arn:minio:sqs::ACL:webhook', events: ['s3:ObjectAcl:Put'] },
  ]);
  t.strictSame([...matchTargets(c, TAGGING_NAMES.put.s3, 'k')], [['TAGS', 'tags'], ['PUT', 'put']]);
  t.strictSame([...matchTargets(c, TAGGING_NAMES.delete.s3, 'k')], [['TAGS', 'tags']]);
  t.strictSame(TAGGING_NAMES, {
    put: { s3: 's3:ObjectTagging:Put', minio: 's3:ObjectCreated:PutTagging' },
    delete: { s3: 's3:ObjectTagging:Delete', minio: 's3:ObjectCreated:DeleteTagging' },
  });
  // MinIO counts a tags change as a write: a listener's s3:ObjectCreated:* covers its names.
  t.ok(eventCovers('s3:ObjectCreated:*', TAGGING_NAMES.put.minio));
  t.ok(eventCovers('s3:ObjectCreated:*', TAGGING_NAMES.delete.minio));
});

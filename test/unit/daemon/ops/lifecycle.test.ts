// ops/lifecycle.ts on its own: parsing LifecycleConfiguration documents (every filter form, the
// refusals), giving them back, and when an object or upload expires (Days rounded up to the
// next midnight UTC, Date, prefix/tag/size filters, Disabled rules, the earliest rule wins).
import t from 'tap';
import { expirationHeader, expiryOf, lifecycleXml, parseLifecycle, uploadExpired } from '../../../../daemon/ops/lifecycle.js';
import { RECORD_VERSION, type ObjectRecord, type UploadRecord } from '../../../../daemon/meta/records.js';

const conf = (...rules: string[]): Buffer => Buffer.from(`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules.join('')}</LifecycleConfiguration>`);
const rule = (inner: string): string => `<Rule>${inner}</Rule>`;
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-30T15:30:00Z');
const rec = (over: Partial<ObjectRecord> = {}): ObjectRecord => ({ v: RECORD_VERSION, size: 100, etag: 'e', mtime: T0, headers: {}, userMeta: {}, stored: 100, data: { inline: new Uint8Array(0) }, ...over });

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

t.test('filters and actions parse, and read back the same way', async (t) => {
  const rules = parseLifecycle(
    conf(
      rule('<ID>a</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration>'),
      rule('<ID>b</ID><Filter><And><Prefix>x/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>k2</Key><Value></Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Disabled</Status><Expiration><Date>2027-01-01T00:00:00Z</Date></Expiration>'),
      rule('<ID>c</ID><Prefix>old/</Prefix><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>'),
      rule('<Filter>\n  </Filter>\n<Status> Enabled </Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'),
    ),
  );
  t.equal(rules.length, 4);
  t.match(rules[0], { id: 'a', enabled: true, prefix: 'logs/', tags: [], expirationDays: 30 });
  t.match(rules[1], { id: 'b', enabled: false, prefix: 'x/', tags: [['k', 'v'], ['k2', '']], sizeGreaterThan: 10, expirationDate: Date.parse('2027-01-01T00:00:00Z') });
  t.match(rules[2], { id: 'c', prefix: 'old/', legacyPrefix: true, abortIncompleteDays: 7 });
  t.match(rules[3], { enabled: true, prefix: '', expiredObjectDeleteMarker: true });
  t.match(rules[3]!.id, /^[0-9a-f]{20}$/, 'a generated ID');
  t.strictSame(parseLifecycle(Buffer.from(lifecycleXml(rules))), rules, 'what Get gives back parses to the same rules');
});

t.test('refusals', async (t) => {
  const ok = '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>';
  const cases: Array<[string, Buffer, string]> = [
    ['no rule', conf(), 'MalformedXML'],
    ['not lifecycle', Buffer.from('<Other/>'), 'MalformedXML'],
    ['status', conf(rule('<Status>On</Status><Expiration><Days>1</Days></Expiration>')), 'MalformedXML'],
    ['no status', conf(rule('<Expiration><Days>1</Days></Expiration>')), 'MalformedXML'],
    ['no action', conf(rule('<Status>Enabled</Status>')), 'InvalidArgument'],
    ['days 0', conf(rule('<Status>Enabled</Status><Expiration><Days>0</Days></Expiration>')), 'InvalidArgument'],
    ['days -1', conf(rule('<Status>Enabled</Status><Expiration><Days>-1</Days></Expiration>')), 'InvalidArgument'],
    ['days 1.5', conf(rule('<Status>Enabled</Status><Expiration><Days>1.5</Days></Expiration>')), 'InvalidArgument'],
    ['date not midnight', conf(rule('<Status>Enabled</Status><Expiration><Date>2027-01-01T12:00:00Z</Date></Expiration>')), 'InvalidArgument'],
    ['date and days', conf(rule('<Status>Enabled</Status><Expiration><Days>1</Days><Date>2027-01-01T00:00:00Z</Date></Expiration>')), 'MalformedXML'],
    ['abort with tag', conf(rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>')), 'InvalidArgument'],
    ['duplicate ids', conf(rule(`<ID>x</ID>${ok}`), rule(`<ID>x</ID>${ok}`)), 'InvalidArgument'],
    ['long id', conf(rule(`<ID>${'i'.repeat(256)}</ID>${ok}`)), 'InvalidArgument'],
    ['two conditions without And', conf(rule(`<Filter><Prefix>a</Prefix><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></Filter>${ok}`)), 'MalformedXML'],
    ['size bounds crossed', conf(rule(`<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter>${ok}`)), 'InvalidArgument'],
    ['transition', conf(rule(`${ok}<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>`)), 'NotImplemented'],
    ['noncurrent', conf(rule(`${ok}<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`)), 'NotImplemented'],
    ['too many rules', conf(...Array.from({ length: 1001 }, (_, i) => rule(`<ID>r${i}</ID>${ok}`))), 'InvalidArgument'],
    ['aws: tag', conf(rule(`<Filter><Tag><Key>aws:x</Key><Value>v</Value></Tag></Filter>${ok}`)), 'InvalidTag'],
  ];
  for (const [what, body, want] of cases) t.equal(code(() => parseLifecycle(body)), want, what);
  t.equal(code(() => parseLifecycle(conf(...Array.from({ length: 1000 }, (_, i) => rule(`<ID>r${i}</ID>${ok}`))))), 'ok', '1000 rules');
});

t.test('expiry', async (t) => {
  const rules = parseLifecycle(
    conf(
      rule('<ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'),
      rule('<ID>tmp-date</ID><Filter><Prefix>logs/tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Date>2026-12-01T00:00:00Z</Date></Expiration>'),
      rule('<ID>off</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>'),
      rule('<ID>tagged</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>class</Key><Value>tmp</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>'),
      rule('<ID>big</ID><Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>10</Days></Expiration>'),
      rule('<ID>mpu</ID><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>'),
    ),
  );
  // 15:30 on Nov 30 + 1 day = 15:30 on Dec 1, rounded up to midnight: Dec 2.
  t.same(expiryOf(rules, 'logs/a', rec()), { at: Date.parse('2026-12-02T00:00:00Z'), ruleId: 'logs' });
  t.same(expiryOf(rules, 'logs/tmp/a', rec()), { at: Date.parse('2026-12-01T00:00:00Z'), ruleId: 'tmp-date' }, 'the earliest of two matching rules');
  t.same(expiryOf(rules, 'logs/a', rec({ mtime: Date.parse('2026-11-30T00:00:00Z') })), { at: Date.parse('2026-12-01T00:00:00Z'), ruleId: 'logs' }, 'exactly midnight stays');
  t.equal(expiryOf(rules, 'off/a', rec()), undefined, 'Disabled rules never expire anything');
  t.equal(expiryOf(rules, 'other', rec()), undefined);
  t.equal(expiryOf(rules, 't/a', rec()), undefined, 'the tag is missing');
  t.equal(expiryOf(rules, 't/a', rec({ tags: [['class', 'keep']] })), undefined, 'another value');
  t.same(expiryOf(rules, 't/a', rec({ tags: [['x', 'y'], ['class', 'tmp']] })), { at: Date.parse('2026-12-03T00:00:00Z'), ruleId: 'tagged' });
  t.equal(expiryOf(rules, 'big', rec({ size: 1000 })), undefined, 'greater than, not equal');
  t.same(expiryOf(rules, 'big', rec({ size: 1001 }))?.ruleId, 'big');
  t.same(expirationHeader(rules, 'logs/a', rec()), { 'x-amz-expiration': 'expiry-date="Wed, 02 Dec 2026 00:00:00 GMT", rule-id="logs"' });
  t.same(expirationHeader(rules, 'other', rec()), {});
  t.same(expirationHeader(undefined, 'logs/a', rec()), {});
  const up = (key: string, initiated: number): UploadRecord => ({ v: RECORD_VERSION, id: 'u', bucket: 'b', key, initiated, headers: {}, userMeta: {} });
  t.notOk(uploadExpired(rules, up('up/x', T0), T0 + DAY), 'not before the next midnight after a day');
  t.ok(uploadExpired(rules, up('up/x', T0), Date.parse('2026-12-02T00:00:00Z')));
  t.notOk(uploadExpired(rules, up('other', T0 - 30 * DAY), T0), 'outside the prefix');
});

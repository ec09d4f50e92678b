// ops/lifecycle.ts on its own: parsing LifecycleConfiguration documents (every filter form,
// NoncurrentVersionExpiration, the refusals), giving them back, when an object or upload expires
// (Days rounded up to the next midnight UTC, Date, prefix/tag/size filters, Disabled rules, the
// earliest rule wins), and which versions of a versioned key are removed for good (versionsDue:
// NoncurrentDays counted from the successor's write, NewerNoncurrentVersions kept, filters on each
// version's own record, noncurrent delete markers, ExpiredObjectDeleteMarker only for a lone
// marker) at fixed clocks.
import t from 'tap';
import { abortHeaders, expirationHeader, expiryOf, hasVersionActions, lifecycleXml, parseLifecycle, uploadExpired, versionsDue, type StoredLifecycleRule } from '../../../../daemon/ops/lifecycle.js';
import { RECORD_VERSION, type ObjectRecord, type TagSet, type UploadRecord } from '../../../../daemon/meta/records.js';
import { thrownCode as code } from '../../../helpers/errors.js';

const conf = (...rules: string[]): Buffer => Buffer.from(`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules.join('')}</LifecycleConfiguration>`);
const rule = (inner: string): string => `<Rule>${inner}</Rule>`;
/** An Enabled rule for every key whose only action is NoncurrentVersionExpiration holding `inner`. */
const nc = (inner: string): string => `<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration>${inner}</NoncurrentVersionExpiration>`;
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-30T15:30:00Z');
const rec = (over: Partial<ObjectRecord> = {}): ObjectRecord => ({ v: RECORD_VERSION, size: 100, etag: 'e', mtime: T0, headers: {}, userMeta: {}, stored: 100, data: { inline: new Uint8Array(0) }, ...over });

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
  t.match(rules[0], { id: 'a', enabled: true, prefix: 'logs/', expirationDays: 30 });
  // (An empty array in a t.match pattern matches any array: the empty tag list is compared whole.)
  t.strictSame(rules[0]!.tags, [], 'a Prefix filter has no tags');
  t.match(rules[1], { id: 'b', enabled: false, prefix: 'x/', tags: [['k', 'v'], ['k2', '']], sizeGreaterThan: 10, expirationDate: Date.parse('2027-01-01T00:00:00Z') });
  t.match(rules[2], { id: 'c', prefix: 'old/', legacyPrefix: true, abortIncompleteDays: 7 });
  t.match(rules[3], { enabled: true, prefix: '', expiredObjectDeleteMarker: true });
  t.match(rules[3]!.id, /^[0-9a-f]{20}$/, 'a generated ID');
  t.strictSame(parseLifecycle(Buffer.from(lifecycleXml(rules))), rules, 'what Get gives back parses to the same rules');
  t.equal(code(() => parseLifecycle(conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>2147483647</Days></Expiration>')))), 'ok', 'Days 2147483647 is the largest taken');
});

t.test('the largest configuration s3d stores (1,000 rules of every element a rule can hold) is not refused as too much markup', async (t) => {
  const tags = Array.from({ length: 10 }, (_, i) => `<Tag><Key>k${i}</Key><Value>v</Value></Tag>`).join('');
  const full = (i: number): string =>
    rule(`<ID>r${i}</ID><Filter><And><Prefix>p/</Prefix>${tags}<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>`);
  const body = conf(...Array.from({ length: 1000 }, (_, i) => full(i)));
  t.ok(body.length < 1024 * 1024, `it fits the 1 MiB read (${body.length} bytes)`);
  t.equal(parseLifecycle(body).length, 1000, '43,000 elements: stored');
});

t.test('a Filter written with And reads back with And, its Prefix kept even when empty (Terraform compares them)', async (t) => {
  const act = '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>';
  const cases: Array<[string, string]> = [
    ['an empty Prefix and one Tag', '<And><Prefix></Prefix><Tag><Key>key</Key><Value>value</Value></Tag></And>'],
    ['a Prefix and a Tag', '<And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And>'],
    ['two Tags', '<And><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>k2</Key><Value>v</Value></Tag></And>'],
    ['an empty Prefix and a size', '<And><Prefix></Prefix><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></And>'],
  ];
  for (const [what, filter] of cases) {
    const rules = parseLifecycle(conf(rule(`<ID>r</ID><Filter>${filter}</Filter>${act}`)));
    const xml = lifecycleXml(rules).replace(/>\s+</g, '><');
    t.ok(xml.includes(`<Filter>${filter}</Filter>`), `${what}: given back as written`);
    t.strictSame(parseLifecycle(Buffer.from(lifecycleXml(rules))), rules, `${what}: and parses to the same rule`);
  }
  const plain = lifecycleXml(parseLifecycle(conf(rule(`<ID>r</ID><Filter><Prefix>foo</Prefix></Filter>${act}`)))).replace(/>\s+</g, '><');
  t.match(plain, '<Filter><Prefix>foo</Prefix></Filter>', 'a Prefix without And stays without');
});

// mc builds its Filter with minio-go (mc cmd/ilm/options.go, LifecycleOptions.Filter): one condition
// alone, two or more in an And whose <Prefix> minio-go always writes, empty too (minio-go #1488,
// May 2021). Before it, mc RELEASE.2021-04-22 (minio-go v7.0.11) wrote `--tags a=b` as an And of that Tag
// alone, which MinIO refused as MalformedXML (mc #3715, its body verbatim below), as S3 does.
t.test("mc's ilm rule add documents, byte for byte: taken; mc 2021-04's lone-Tag And refused, as MinIO refused it", async (t) => {
  const doc = (filter: string): Buffer => Buffer.from(`<LifecycleConfiguration><Rule><Expiration><Days>1</Days></Expiration><ID>cu2h5bkq9c1s7tbe1e9g</ID><Filter>${filter}</Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>`);
  const taken: Array<[string, string]> = [
    ['--tags k=v', '<Tag><Key>k</Key><Value>v</Value></Tag>'],
    ['a Tag without Value (minio-go leaves an empty one out)', '<Tag><Key>k</Key></Tag>'],
    ["--tags 'k=v&a=b'", '<And><Prefix></Prefix><Tag><Key>k</Key><Value>v</Value></Tag><Tag><Key>a</Key><Value>b</Value></Tag></And>'],
    ['--prefix p/ --tags k=v', '<And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And>'],
    ['--size-gt 1MiB', '<ObjectSizeGreaterThan>1048576</ObjectSizeGreaterThan>'],
    ['--size-gt 1MiB --size-lt 1GiB', '<And><Prefix></Prefix><ObjectSizeLessThan>1073741824</ObjectSizeLessThan><ObjectSizeGreaterThan>1048576</ObjectSizeGreaterThan></And>'],
    // ilm rule edit --tags over a rule of a lone Tag: the new tag goes into an And, its Prefix empty.
    ['edit --tags k=v2', '<And><Prefix></Prefix><Tag><Key>k</Key><Value>v2</Value></Tag></And>'],
  ];
  for (const [what, filter] of taken) t.equal(code(() => parseLifecycle(doc(filter))), 'ok', `${what}: taken`);
  const mc3715 = '<LifecycleConfiguration><Rule><Expiration><Days>10</Days></Expiration><ID>c2d7h74vh747s6bodq60</ID><Filter><And><Tag><Key>a</Key><Value>b</Value></Tag></And></Filter><Status>Enabled</Status></Rule></LifecycleConfiguration>';
  t.equal(code(() => parseLifecycle(Buffer.from(mc3715))), 'MalformedXML', 'mc 2021-04-22 --tags a=b: MalformedXML');
});

t.test('a rule an older version stored with an And of one condition reads back without And, and a PUT of it is taken', async (t) => {
  // Versions before the two-predicate rule stored such Ands: GET gave them back as an And, which
  // PUT now refuses, so every get-modify-put (mc ilm rule add, Terraform, aws CLI) failed on them.
  const base = { enabled: true, tags: [] as TagSet, expirationDays: 1 } as const;
  const cases: Array<[string, StoredLifecycleRule, string]> = [
    ['a Prefix alone', { ...base, id: 'p', prefix: 'foo', andFilter: { prefix: true } }, '<Filter><Prefix>foo</Prefix></Filter>'],
    ['an empty Prefix alone', { ...base, id: 'e', prefix: '', andFilter: { prefix: true } }, '<Filter><Prefix></Prefix></Filter>'],
    ['one Tag alone', { ...base, id: 't', prefix: '', tags: [['k', 'v']], andFilter: { prefix: false } }, '<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>'],
    ['a size alone', { ...base, id: 's', prefix: '', sizeGreaterThan: 5, andFilter: { prefix: false } }, '<Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter>'],
  ];
  for (const [what, stored, filter] of cases) {
    const xml = lifecycleXml([stored]);
    t.ok(xml.replace(/>\s+</g, '><').includes(filter), `${what}: given back as ${filter}`);
    t.equal(code(() => parseLifecycle(Buffer.from(xml))), 'ok', `${what}: what GET gives back is taken by PUT`);
    const [again] = parseLifecycle(Buffer.from(xml));
    t.match(again, { prefix: stored.prefix, tags: stored.tags, sizeGreaterThan: stored.sizeGreaterThan }, `${what}: the same condition`);
  }
});

t.test('NoncurrentVersionExpiration parses, is stored in the rule and reads back as given', async (t) => {
  const rules = parseLifecycle(
    conf(
      rule('<ID>nc</ID><Filter><Prefix>v/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays> 7 </NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>'),
      rule('<ID>both</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>'),
      rule('<ID>plain</ID><Filter/><Status>Enabled</Status><Expiration><Days>5</Days></Expiration>'),
    ),
  );
  t.strictSame(rules[0], { id: 'nc', enabled: true, prefix: 'v/', tags: [], noncurrentDays: 7, newerNoncurrentVersions: 3 });
  t.strictSame(rules[1], { id: 'both', enabled: true, prefix: '', tags: [], emptyFilter: true, expiredObjectDeleteMarker: true, noncurrentDays: 1, abortIncompleteDays: 2 });
  t.equal(rules[2]!.noncurrentDays, undefined, 'a rule without the element has no noncurrent action');
  const xml = lifecycleXml(rules).replace(/>\s+</g, '><');
  t.match(xml, '<Rule><ID>nc</ID><Filter><Prefix>v/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>', 'both values, in S3\'s order');
  t.match(
    xml,
    '<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload>',
    'NewerNoncurrentVersions only when given; between Expiration and AbortIncompleteMultipartUpload',
  );
  t.equal(xml.split('NoncurrentVersionExpiration>').length - 1, 4, 'no NoncurrentVersionExpiration on the rule without one');
  t.strictSame(parseLifecycle(Buffer.from(lifecycleXml(rules))), rules, 'what Get gives back parses to the same rules');
  t.ok(hasVersionActions(rules.slice(0, 1)), 'a noncurrent rule acts on versions');
  t.ok(hasVersionActions(rules.slice(2)), 'an Expiration Days rule does (it removes lone delete markers old enough)');
  t.notOk(hasVersionActions([{ ...rules[0]!, enabled: false }]), 'nor a Disabled one');
  t.ok(hasVersionActions(parseLifecycle(conf(rule('<Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>')))), 'ExpiredObjectDeleteMarker true does');
  t.notOk(hasVersionActions(parseLifecycle(conf(rule('<Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>')))), 'false does not');
  t.equal(expiryOf(rules.slice(0, 2), 'v/a', rec()), undefined, 'noncurrent actions give current objects no expiry');
});

t.test('refusals', async (t) => {
  const ok = '<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>';
  const cases: Array<[string, Buffer, string]> = [
    ['no rule', conf(), 'MalformedXML'],
    ['not lifecycle', Buffer.from('<Other/>'), 'MalformedXML'],
    ['status', conf(rule('<Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration>')), 'MalformedXML'],
    ['no status', conf(rule('<Expiration><Days>1</Days></Expiration>')), 'MalformedXML'],
    // S3's InvalidRequest, "At least one action needs to be specified in a rule" (recorded 2025).
    ['no action', conf(rule('<Filter/><Status>Enabled</Status>')), 'InvalidRequest'],
    ['days 0', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>')), 'InvalidArgument'],
    ['days -1', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>-1</Days></Expiration>')), 'InvalidArgument'],
    // No integer at all: no document S3's schema takes (its days are 32-bit integers), MalformedXML.
    ['days 1.5', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1.5</Days></Expiration>')), 'MalformedXML'],
    ['days abc', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>abc</Days></Expiration>')), 'MalformedXML'],
    ['days past the 32-bit integers', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>2147483648</Days></Expiration>')), 'MalformedXML'],
    ['date not midnight', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Date>2027-01-01T12:00:00Z</Date></Expiration>')), 'InvalidArgument'],
    ['date and days', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2027-01-01T00:00:00Z</Date></Expiration>')), 'MalformedXML'],
    // S3's InvalidRequest, "AbortIncompleteMultipartUpload cannot be specified with Tags." (recorded 2021-2026).
    ['abort with tag', conf(rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>')), 'InvalidRequest'],
    ['abort with a size', conf(rule('<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>')), 'InvalidRequest'],
    ['duplicate ids', conf(rule(`<ID>x</ID>${ok}`), rule(`<ID>x</ID>${ok}`)), 'InvalidArgument'],
    ['long id', conf(rule(`<ID>${'i'.repeat(256)}</ID>${ok}`)), 'InvalidArgument'],
    ['two conditions without And', conf(rule(`<Filter><Prefix>a</Prefix><ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    // An And joins two or more predicates: S3 refuses one alone as MalformedXML (Terraform's
    // provider met it with a Prefix only), as MinIO and CloudServer do.
    ['an And of a Prefix alone', conf(rule(`<Filter><And><Prefix>foo</Prefix></And></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['an And of an empty Prefix alone', conf(rule(`<Filter><And><Prefix></Prefix></And></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['an And of one Tag alone', conf(rule(`<Filter><And><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['an And of a size alone', conf(rule(`<Filter><And><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></And></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    // S3's InvalidRequest: "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.",
    // and "'ObjectSizeLessThan' should be between 1 and 1099511627776000." (recorded 2025, 2026).
    ['size bounds crossed', conf(rule(`<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidRequest'],
    ['size bounds equal', conf(rule(`<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidRequest'],
    ['ObjectSizeLessThan 0', conf(rule(`<Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidRequest'],
    ['ObjectSizeLessThan past 1000 TiB', conf(rule(`<Filter><ObjectSizeLessThan>1099511627776001</ObjectSizeLessThan></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidRequest'],
    ['ObjectSizeGreaterThan -1', conf(rule(`<Filter><ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidRequest'],
    ['ObjectSizeGreaterThan past 1000 TiB', conf(rule(`<Filter><ObjectSizeGreaterThan>99999999999999999999</ObjectSizeGreaterThan></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidRequest'],
    ['transition', conf(rule(`${ok}<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition>`)), 'NotImplemented'],
    ['transitions', conf(rule(`${ok}<Transitions><Days>1</Days><StorageClass>GLACIER</StorageClass></Transitions>`)), 'NotImplemented'],
    ['noncurrent transition', conf(rule(`${ok}<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>`)), 'NotImplemented'],
    ['noncurrent transition next to a noncurrent expiration', conf(rule(`${nc('<NoncurrentDays>1</NoncurrentDays>')}<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>`)), 'NotImplemented'],
    ['noncurrent days 0', conf(rule(nc('<NoncurrentDays>0</NoncurrentDays>'))), 'InvalidArgument'],
    ['noncurrent days -1', conf(rule(nc('<NoncurrentDays>-1</NoncurrentDays>'))), 'InvalidArgument'],
    ['noncurrent days 1.5', conf(rule(nc('<NoncurrentDays>1.5</NoncurrentDays>'))), 'MalformedXML'],
    ['noncurrent days empty', conf(rule(nc('<NoncurrentDays></NoncurrentDays>'))), 'MalformedXML'],
    ['no noncurrent days', conf(rule(nc('<NewerNoncurrentVersions>2</NewerNoncurrentVersions>'))), 'InvalidArgument'],
    ['empty noncurrent expiration', conf(rule(nc(''))), 'MalformedXML'],
    ['newer noncurrent 0', conf(rule(nc('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0</NewerNoncurrentVersions>'))), 'InvalidArgument'],
    ['newer noncurrent 101', conf(rule(nc('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions>'))), 'InvalidArgument'],
    ['newer noncurrent x', conf(rule(nc('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>x</NewerNoncurrentVersions>'))), 'MalformedXML'],
    // InvalidRequest, as S3's other refusals of an action beside a filter it cannot apply to.
    ['expired marker with a tag', conf(rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>')), 'InvalidRequest'],
    ['expired marker with a tag in And', conf(rule('<Filter><And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>')), 'InvalidRequest'],
    // S3's InvalidRequest, "ExpiredObjectDeleteMarker cannot be specified with Object Size.", false
    // too (recorded 2022, 2026; Terraform modules writing false beside a size filter met it).
    ['expired marker with a size', conf(rule('<Filter><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>')), 'InvalidRequest'],
    ['expired marker false with a size', conf(rule('<Filter><And><Prefix>p/</Prefix><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>')), 'InvalidRequest'],
    ['expired marker not a boolean', conf(rule('<Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration>')), 'MalformedXML'],
    // Found by CloudServer's AWS-checked lifecycle tests: S3 refuses these as documents it cannot parse.
    ['neither Filter nor Prefix', conf(rule('<ID>x</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 'MalformedXML'],
    ['days past 2147483647', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>2147483648</Days></Expiration>')), 'MalformedXML'],
    ['noncurrent days past 2147483647', conf(rule(nc('<NoncurrentDays>2147483648</NoncurrentDays>'))), 'MalformedXML'],
    // S3's MalformedXML (a client putting 1,127 rules met it against AWS), not InvalidArgument.
    ['too many rules', conf(...Array.from({ length: 1001 }, (_, i) => rule(`<ID>r${i}</ID>${ok}`))), 'MalformedXML'],
    ['aws: tag', conf(rule(`<Filter><Tag><Key>aws:x</Key><Value>v</Value></Tag></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidTag'],
    // A filter's tags are no object's tags: not the object tags' BadRequest.
    ['11 tags in a filter', conf(rule(`<Filter><And>${Array.from({ length: 11 }, (_, i) => `<Tag><Key>k${i}</Key><Value>v</Value></Tag>`).join('')}</And></Filter>${ok.replace('<Filter/>', '')}`)), 'InvalidTag'],
    // An element s3d did not read was dropped: minio-js's And filter writes its tags as <Tags>,
    // and the rule kept its empty prefix and expired the whole bucket. Unknown at every level.
    ['Tags (not Tag) in And', conf(rule(`<Filter><And><Prefix></Prefix><Tags><Key>temp</Key><Value>yes</Value></Tags></And></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['Tags in Filter', conf(rule(`<Filter><Tags><Key>temp</Key><Value>yes</Value></Tags></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['Prefx in Filter', conf(rule(`<Filter><Prefx>logs/</Prefx></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['an unknown element in Rule', conf(rule(`${ok}<Priority>1</Priority>`)), 'MalformedXML'],
    // A Value that is no text was read as '' (a rule for the tag's empty value); a second Key was refused.
    ['an element in a Tag Value', conf(rule(`<Filter><Tag><Key>k</Key><Value><v>x</v></Value></Tag></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['two Values in a Tag', conf(rule(`<Filter><Tag><Key>k</Key><Value>a</Value><Value>b</Value></Tag></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['an unknown element in Tag', conf(rule(`<Filter><Tag><Key>k</Key><Value>v</Value><Kind>x</Kind></Tag></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
    ['an unknown element in Expiration', conf(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Hours>1</Hours></Expiration>')), 'MalformedXML'],
    ['an unknown element in NoncurrentVersionExpiration', conf(rule(nc('<NoncurrentDays>1</NoncurrentDays><NoncurrentHours>1</NoncurrentHours>'))), 'MalformedXML'],
    ['an unknown element in AbortIncompleteMultipartUpload', conf(rule('<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation><Days>1</Days></AbortIncompleteMultipartUpload>')), 'MalformedXML'],
    ['an unknown element in LifecycleConfiguration', conf(rule(ok), '<Rules/>'), 'MalformedXML'],
    ['text among the elements of a Filter', conf(rule(`<Filter>logs/<Prefix>a</Prefix></Filter>${ok.replace('<Filter/>', '')}`)), 'MalformedXML'],
  ];
  for (const [what, body, want] of cases) t.equal(code(() => parseLifecycle(body)), want, what);
  t.equal(code(() => parseLifecycle(conf(...Array.from({ length: 1000 }, (_, i) => rule(`<ID>r${i}</ID>${ok}`))))), 'ok', '1000 rules');
  const accepted: Array<[string, Buffer]> = [
    ['a noncurrent expiration alone is an action', conf(rule(nc('<NoncurrentDays>1</NoncurrentDays>')))],
    ['100 newer noncurrent versions', conf(rule(nc('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>100</NewerNoncurrentVersions>')))],
    ['a noncurrent expiration with a tag filter', conf(rule(`<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>${nc('<NoncurrentDays>3</NoncurrentDays>').replace('<Filter/>', '')}`))],
    ['indentation between the elements', conf('\n  ' + rule('\n    <ID>x</ID>\n    <Filter>\n      <And>\n        <Prefix>a/</Prefix>\n        <Tag><Key>k</Key><Value>v</Value></Tag>\n      </And>\n    </Filter>\n    <Status>Enabled</Status>\n    <Expiration>\n      <Days>1</Days>\n    </Expiration>\n  ') + '\n')],
    ['the widest sizes S3 takes', conf(rule(`<Filter><And><ObjectSizeGreaterThan>0</ObjectSizeGreaterThan><ObjectSizeLessThan>1099511627776000</ObjectSizeLessThan></And></Filter>${ok.replace('<Filter/>', '')}`))],
    ['a Tag with an empty Value', conf(rule(`<Filter><Tag><Key>k</Key><Value/></Tag></Filter>${ok.replace('<Filter/>', '')}`))],
    ['a Tag without a Value', conf(rule(`<Filter><Tag><Key>k</Key></Tag></Filter>${ok.replace('<Filter/>', '')}`))],
    ['ObjectSizeLessThan 1', conf(rule(`<Filter><ObjectSizeLessThan>1</ObjectSizeLessThan></Filter>${ok.replace('<Filter/>', '')}`))],
    ['ExpiredObjectDeleteMarker false with a tag', conf(rule('<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>'))],
  ];
  for (const [what, body] of accepted) t.equal(code(() => parseLifecycle(body)), 'ok', what);
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
  // Rules an earlier version stored with a size or tag filter beside AbortIncompleteMultipartUpload
  // (refused when written today): an upload has neither, so they abort nothing.
  const abortRule = rules.find((r) => r.abortIncompleteDays !== undefined)!;
  for (const [what, extra] of [
    ['a size filter', { sizeGreaterThan: 1000 }],
    ['a tag filter', { tags: [['class', 'tmp']] as TagSet }],
  ] as const) {
    const stored = [{ ...abortRule, ...extra }];
    t.notOk(uploadExpired(stored, up('up/x', T0 - 30 * DAY), T0), `a stored rule with ${what} aborts no upload`);
    t.same(abortHeaders(stored, up('up/x', T0)), {}, `… and announces no abort date`);
  }
});

t.test('which versions of a key are removed for good (versionsDue)', async (t) => {
  const at = (iso: string): number => Date.parse(iso);
  /** A version written at `mtime` (default body size 100). */
  const v = (mtime: number, over: Partial<ObjectRecord> = {}): { record: ObjectRecord } => ({ record: rec({ mtime, ...over }) });
  const dm = (mtime: number): { record: ObjectRecord } => ({ record: rec({ mtime, size: 0, stored: 0, etag: '', deleteMarker: true }) });
  const mtimes = (due: ObjectRecord[]): number[] => due.map((r) => r.mtime);
  const lc = (...rules: string[]) => parseLifecycle(conf(...rules));
  const days1 = lc(rule(`<ID>d1</ID>${nc('<NoncurrentDays>1</NoncurrentDays>')}`));

  // The current version was written at T0 (15:30 on Nov 30); v2 five days before it, v1 ten.
  const cur = v(T0);
  const v2 = v(T0 - 5 * DAY);
  const v1 = v(T0 - 10 * DAY);
  // v1 became noncurrent when v2 was written (long ago); v2 when the current one was, at T0:
  // T0 + 1 day rounded up to midnight is Dec 2, whatever v2's own age.
  t.same(mtimes(versionsDue(days1, 'k', [cur, v2, v1], T0)), [v1.record.mtime], 'only the version whose successor is a day old');
  t.same(mtimes(versionsDue(days1, 'k', [cur, v2, v1], at('2026-12-02T00:00:00Z') - 1)), [v1.record.mtime], 'not a millisecond before the next midnight');
  t.same(mtimes(versionsDue(days1, 'k', [cur, v2, v1], at('2026-12-02T00:00:00Z'))), [v2.record.mtime, v1.record.mtime], 'from that midnight on, newest first');
  t.same(versionsDue(days1, 'k', [cur], T0 + 100 * DAY), [], 'the current version is never noncurrent-expired');
  // A multipart upload begun two days before it completed: Last-Modified (mtime) is the upload's
  // start, as on S3, but it replaced the versions below it when it completed (its stamp). They
  // were removed at once, as if noncurrent for two days; so was v0 once V had gone.
  const completedAt = T0;
  const mpu = v(T0 - 2 * DAY, { vs: completedAt * 1024 + 5, uploadId: 'u1' });
  const replaced = v(T0 - 1000, { vs: (T0 - 1000) * 1024 });
  const v0 = v(T0 - 3 * DAY, { vs: (T0 - 3 * DAY) * 1024 });
  t.same(versionsDue(days1, 'k', [mpu, replaced, v0], T0 + 5000), [], 'versions replaced by a completed upload a moment ago stay');
  t.same(versionsDue(days1, 'k', [mpu, replaced, v0], at('2026-12-02T00:00:00Z') - 1), [], 'not before NoncurrentDays after the completion (and the PUT), rounded up to midnight');
  t.same(mtimes(versionsDue(days1, 'k', [mpu, replaced, v0], at('2026-12-02T00:00:00Z'))), [replaced.record.mtime, v0.record.mtime], 'then both');
  t.same(mtimes(versionsDue(days1, 'k', [mpu, v0], T0 + 5000)), [], 'and the version under it, once that one is gone, by the same rule');
  t.same(versionsDue(days1, 'k', [], T0), [], 'no versions');
  t.same(versionsDue(undefined, 'k', [cur, v2, v1], T0 + 100 * DAY), [], 'no rules');

  // NewerNoncurrentVersions keeps the newest noncurrent versions, delete markers counting.
  const keep2 = lc(rule(nc('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions>')));
  const old = (n: number): { record: ObjectRecord } => v(T0 - n * DAY);
  const five = [cur, old(1), old(2), old(3), old(4)];
  const later = T0 + 10 * DAY;
  t.same(mtimes(versionsDue(keep2, 'k', five, later)), [old(3).record.mtime, old(4).record.mtime], 'two noncurrent versions kept, the older two removed');
  t.same(mtimes(versionsDue(keep2, 'k', [cur, dm(T0 - DAY), old(2), old(3)], later)), [old(3).record.mtime], 'a noncurrent marker counts as one of the kept');
  t.same(versionsDue(keep2, 'k', [cur, old(1), old(2)], later), [], 'no more noncurrent versions than kept');
  // Past the kept number is not enough without the age: the oldest became noncurrent 2 s before T0.
  t.same(mtimes(versionsDue(keep2, 'k', [cur, v(T0 - 1000), v(T0 - 2000), v(T0 - 3000)], T0)), [], 'an old enough rank but too young');

  // NewerNoncurrentVersions counts only the newer versions the rule's filter selects and the pass keeps.
  const tmp: TagSet = [['class', 'tmp']];
  const keepTagged1 = lc(rule(`<ID>kt</ID><Filter><And><Prefix></Prefix><Tag><Key>class</Key><Value>tmp</Value></Tag></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>`));
  const t1 = v(T0 - 4 * DAY, { tags: tmp });
  const t2 = v(T0 - 3 * DAY, { tags: tmp });
  t.same(mtimes(versionsDue(keepTagged1, 'k', [cur, old(1), old(2), t2, t1], later)), [t1.record.mtime], 'untagged newer versions are not among the tagged one kept');
  const keepBig1 = lc(rule(`<ID>kb</ID><Filter><ObjectSizeGreaterThan>50</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>`));
  t.same(mtimes(versionsDue(keepBig1, 'k', [cur, v(T0 - DAY, { size: 10 }), old(2), old(3)], later)), [old(3).record.mtime], 'a small newer version is not among the big one kept');
  const twoRules = lc(
    rule(`<ID>keep2</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>`),
    rule(`<ID>tmp</ID><Filter><Tag><Key>class</Key><Value>tmp</Value></Tag></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`),
  );
  const tv = v(T0 - DAY, { tags: tmp });
  t.same(mtimes(versionsDue(twoRules, 'k', [cur, tv, old(2), old(3), old(4)], later)), [tv.record.mtime, old(4).record.mtime], 'a version another rule removes is not one of the two kept');

  // Noncurrent delete markers go like versions.
  t.same(
    versionsDue(days1, 'k', [cur, dm(T0 - 2 * DAY), old(3)], later).map((r) => r.deleteMarker === true),
    [true, false],
    'a noncurrent marker and the version under it',
  );

  // Filters select on the version's own record: prefix, tags, size.
  const filtered = lc(
    rule(`<ID>tagged</ID><Filter><And><Prefix>t/</Prefix><Tag><Key>class</Key><Value>tmp</Value></Tag></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`),
    rule(`<ID>big</ID><Filter><And><Prefix>s/</Prefix><ObjectSizeGreaterThan>50</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`),
    rule(`<ID>off</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`),
  );
  const tagged = v(T0 - 3 * DAY, { tags: [['class', 'tmp']] });
  const untagged = v(T0 - 4 * DAY);
  const wrong = v(T0 - 5 * DAY, { tags: [['class', 'keep']] });
  t.same(versionsDue(filtered, 't/a', [v(T0 - 2 * DAY), tagged, untagged, wrong, dm(T0 - 6 * DAY)], later), [tagged.record], 'only the version carrying the tag (not its neighbours, not a marker)');
  t.same(versionsDue(filtered, 'x/a', [v(T0 - 2 * DAY), tagged], later), [], 'outside the prefix');
  const small = v(T0 - 3 * DAY, { size: 50 });
  const large = v(T0 - 4 * DAY, { size: 51 });
  t.same(versionsDue(filtered, 's/a', [v(T0 - 2 * DAY), small, large, dm(T0 - 5 * DAY)], later), [large.record], 'by size: greater than, not equal; a marker has none');
  t.same(versionsDue(filtered, 'off/a', [cur, old(1), old(2)], later), [], 'a Disabled rule removes nothing');
  t.same(versionsDue(lc(rule('<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')), 'k', [cur, old(1), old(2)], later), [], 'Expiration Days leaves noncurrent versions alone');

  // The first rule that lets a version go is enough.
  const two = lc(
    rule(`<ID>a</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`),
    rule(`<ID>b</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration>`),
  );
  t.same(versionsDue(two, 'logs/a', [cur, old(1), old(2)], T0 + 2 * DAY).length, 2, 'the one-day rule');
  t.same(versionsDue(two, 'data/a', [cur, old(1), old(2)], T0 + 2 * DAY).length, 0, 'only the 30-day rule applies elsewhere');

  // ExpiredObjectDeleteMarker: a latest marker with no other version left.
  const eodm = lc(rule('<Filter><Prefix>m/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>'));
  const marker = dm(T0);
  t.same(versionsDue(eodm, 'm/a', [marker], T0), [marker.record], 'a lone marker goes at once');
  t.same(versionsDue(eodm, 'm/a', [marker, old(1)], later), [], 'not while a version is left under it');
  t.same(versionsDue(eodm, 'm/a', [cur], later), [], 'a current object is not a marker');
  t.same(versionsDue(eodm, 'x/a', [marker], later), [], 'outside the prefix');
  t.same(versionsDue(eodm, 'm/a', [cur, marker], later), [], 'a noncurrent marker is not an expired object delete marker');
  t.same(versionsDue(lc(rule('<Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>')), 'm/a', [marker], later), [], 'false: no action');
  t.same(versionsDue(days1, 'm/a', [marker], later), [], 'a noncurrent rule alone leaves a lone marker');
  // Expiration Days or Date also removes a lone marker once the marker itself is old enough (S3:
  // "when you specify the Days tag, Amazon S3 automatically performs ExpiredObjectDeleteMarker
  // cleanup when the delete markers are old enough to satisfy the age criteria").
  const expDays = lc(rule('<Filter><Prefix>m/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>'));
  const oldMarker = dm(T0 - 5 * DAY);
  t.same(versionsDue(expDays, 'm/a', [oldMarker], T0), [oldMarker.record], 'Expiration Days: a lone marker older than the days goes');
  t.same(versionsDue(expDays, 'm/a', [dm(T0 - DAY)], T0), [], 'Expiration Days: a younger lone marker stays');
  t.same(versionsDue(expDays, 'm/a', [dm(T0)], at('2026-12-04T00:00:00Z') - 1), [], '… until the midnight after its days');
  t.same(versionsDue(expDays, 'm/a', [dm(T0)], at('2026-12-04T00:00:00Z')).length, 1, '… and from then on');
  t.same(versionsDue(expDays, 'm/a', [oldMarker, old(6)], later), [], 'Expiration Days: not while a version is left under the marker');
  t.same(versionsDue(expDays, 'x/a', [oldMarker], later), [], 'Expiration Days: outside the prefix');
  const expDate = lc(rule('<Filter/><Status>Enabled</Status><Expiration><Date>2026-11-01T00:00:00Z</Date></Expiration>'));
  t.same(versionsDue(expDate, 'm/a', [marker], T0), [marker.record], 'Expiration Date passed: a lone marker goes');
  const futureDate = lc(rule('<Filter/><Status>Enabled</Status><Expiration><Date>2027-01-01T00:00:00Z</Date></Expiration>'));
  t.same(versionsDue(futureDate, 'm/a', [marker], T0), [], 'Expiration Date ahead: it stays');
  const withNc = lc(rule(`<Filter/><Status>Enabled</Status><Expiration><Days>3</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`));
  t.same(versionsDue(withNc, 'm/a', [oldMarker, old(6)], later).length, 2, 'AWS\'s example 7 (Days + NoncurrentDays): the version under an old marker and then the marker');
  const lockedUnder = v(T0 - 6 * DAY, { retention: { mode: 'COMPLIANCE', until: later + 365 * DAY } });
  t.same(versionsDue(withNc, 'm/a', [oldMarker, lockedUnder], later), [], 'a version under Object Lock is not due, and the marker hiding it stays');
  const both = lc(rule(`<Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>`));
  const under = [dm(T0), old(1), old(2)];
  t.same(versionsDue(both, 'k', under, T0 + 2 * DAY).map((r) => r.deleteMarker === true), [false, false, true], 'the versions under a marker, then the marker, in one pass');
  // At noon on Dec 1 the oldest is due (noncurrent since Nov 29 15:30), the other (since T0) is not.
  t.same(versionsDue(both, 'k', under, at('2026-12-01T12:00:00Z')).map((r) => r.mtime), [old(2).record.mtime], 'the marker stays while a version it hides is kept');
});

// S3's answers as LocalStack recorded them against AWS.
t.test('an empty Filter reads back empty; a filter naming a tag key twice, or a Date not at midnight, is refused as S3 refuses it', async (t) => {
  const rules = parseLifecycle(conf(rule('<ID>e</ID><Filter/><Status>Enabled</Status><Expiration><Days>5</Days></Expiration>'), rule('<ID>p</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>5</Days></Expiration>')));
  const xml = lifecycleXml(rules).replace(/>\s+</g, '><');
  t.match(xml, '<ID>e</ID><Filter></Filter><Status>', 'an empty Filter comes back empty (not as <Prefix></Prefix>)');
  t.match(xml, '<ID>p</ID><Filter><Prefix></Prefix></Filter><Status>', 'an explicit empty Prefix comes back as given');
  t.strictSame(parseLifecycle(Buffer.from(lifecycleXml(rules))), rules, 'and parses to the same rules');
  const refusal = (body: Buffer): { code: string; message: string; fields: Record<string, string> } => {
    try {
      parseLifecycle(body);
    } catch (err) {
      return err as { code: string; message: string; fields: Record<string, string> };
    }
    throw new Error('expected a refusal');
  };
  const dup = refusal(conf(rule('<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>')));
  t.same([dup.code, dup.message], ['InvalidRequest', 'Duplicate Tag Keys are not allowed.'], 'a tag key twice: InvalidRequest');
  const twice = refusal(conf(rule('<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'), rule('<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>')));
  t.same([twice.code, twice.message], ['InvalidArgument', 'Rule ID must be unique. Found same ID for more than one rule'], 'a rule ID twice: InvalidArgument in S3\'s words');
  const date = refusal(conf(rule('<Filter/><Status>Enabled</Status><Expiration><Date>2027-01-01T12:00:00Z</Date></Expiration>')));
  t.same([date.code, date.message, date.fields.ArgumentName, date.fields.ArgumentValue], ['InvalidArgument', "'Date' must be at midnight GMT", 'Date', '2027-01-01T12:00:00Z'], 'a Date at noon: InvalidArgument naming Date');
  // Days the calendar does not have were moved (30 February to 2 March, 24:00 to the next day).
  for (const bad of ['2027-02-29T00:00:00Z', '2030-04-31T00:00:00.000Z', '2029-12-31T24:00:00Z', '2030-13-01T00:00:00Z']) {
    t.equal(refusal(conf(rule(`<Filter/><Status>Enabled</Status><Expiration><Date>${bad}</Date></Expiration>`))).code, 'InvalidArgument', `Date ${bad}`);
  }
  // Text that is no ISO 8601 date and time is no timestamp S3's schema takes: MalformedXML, as S3
  // answered an HTTP-date (it was InvalidArgument "'Date' must be at midnight GMT", for midnight).
  for (const bad of ['2030-01-01', 'Fri, 01 Jan 2016 00:00:00 GMT', '1451606400', 'tomorrow']) {
    t.equal(refusal(conf(rule(`<Filter/><Status>Enabled</Status><Expiration><Date>${bad}</Date></Expiration>`))).code, 'MalformedXML', `Date ${bad}`);
  }
  const dateOf = (d: string): number | undefined => parseLifecycle(conf(rule(`<Filter/><Status>Enabled</Status><Expiration><Date>${d}</Date></Expiration>`)))[0]?.expirationDate;
  t.equal(dateOf('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29), 'a leap day');
  t.equal(dateOf('2030-01-01T02:00:00+02:00'), Date.UTC(2030, 0, 1), 'midnight GMT written with an offset');
  // Without a zone the date is UTC, on every server (it was the server's own zone).
  const savedTz = process.env.TZ;
  process.env.TZ = 'Asia/Tokyo';
  try {
    t.equal(dateOf('2030-01-01T00:00:00'), Date.UTC(2030, 0, 1), 'a zone-less Date is midnight UTC on a server in Tokyo');
  } finally {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  }
});

// ops/object-lock.ts and MetaStore's isLocked on their own: which upload headers set which lock
// (and which are refused), the bucket's default retention, when a retention may change, and when
// a version is protected from removal.
import t from 'tap';
import { completedLock, defaultRetention, lockAt, lockFromHeaders, lockHeaders, retentionChangeAllowed } from '../../../../daemon/ops/object-lock.js';
import { isLocked } from '../../../../daemon/meta/store.js';
import type { BucketRecord, ObjectRecord } from '../../../../daemon/meta/records.js';
import { thrownCode as code } from '../../../helpers/errors.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const DAY = 86_400_000;
const plain: BucketRecord = { v: 1, name: 'b', created: 0 };
const locked: BucketRecord = { ...plain, versioning: 'Enabled', objectLock: {} };
const withDefault: BucketRecord = { ...locked, objectLock: { defaultRetention: { mode: 'GOVERNANCE', days: 3 } } };
const none = new URLSearchParams();

t.test('upload headers', async (t) => {
  t.same(lockFromHeaders(plain, {}, none, NOW), {}, 'no headers, no lock bucket: nothing');
  t.same(lockFromHeaders(locked, {}, none, NOW), {}, 'no headers, no default: nothing');
  t.same(lockFromHeaders(withDefault, {}, none, NOW), { retention: { mode: 'GOVERNANCE', until: NOW + 3 * DAY }, fromDefault: true }, 'the default retention applies');
  t.same(lockFromHeaders(withDefault, {}, none, NOW, false), {}, 'not when the caller applies it later (multipart)');
  const explicit = { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z' };
  t.same(lockFromHeaders(withDefault, explicit, none, NOW), { retention: { mode: 'COMPLIANCE', until: Date.parse('2030-01-01T00:00:00Z') } }, 'explicit headers win over the default');
  t.same(lockFromHeaders(withDefault, { 'x-amz-object-lock-legal-hold': 'ON' }, none, NOW), { retention: { mode: 'GOVERNANCE', until: NOW + 3 * DAY }, legalHold: 'ON', fromDefault: true }, 'a legal hold alone keeps the default retention');
  // The version's creation (its Last-Modified), later than the request's start: the default counts from it, an explicit date stays.
  t.same(lockAt(withDefault, lockFromHeaders(withDefault, { 'x-amz-object-lock-legal-hold': 'ON' }, none, NOW), NOW + 60_000).retention, { mode: 'GOVERNANCE', until: NOW + 60_000 + 3 * DAY }, 'lockAt: the default from the creation time');
  t.same(lockAt(withDefault, lockFromHeaders(withDefault, explicit, none, NOW), NOW + 60_000).retention, { mode: 'COMPLIANCE', until: Date.parse('2030-01-01T00:00:00Z') }, 'lockAt: an explicit date as asked');
  t.same(lockFromHeaders(locked, {}, new URLSearchParams({ 'x-amz-object-lock-legal-hold': 'OFF' }), NOW), { legalHold: 'OFF' }, 'presigned URLs carry them as query parameters');
  t.equal(code(() => lockFromHeaders(plain, explicit, none, NOW)), 'InvalidRequest', 'a bucket without Object Lock');
  t.equal(code(() => lockFromHeaders(plain, { 'x-amz-object-lock-legal-hold': 'ON' }, none, NOW)), 'InvalidRequest');
  t.equal(code(() => lockFromHeaders(locked, { 'x-amz-object-lock-mode': 'GOVERNANCE' }, none, NOW)), 'InvalidArgument', 'mode without a date');
  t.equal(code(() => lockFromHeaders(locked, { 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z' }, none, NOW)), 'InvalidArgument', 'a date without a mode');
  t.equal(code(() => lockFromHeaders(locked, { ...explicit, 'x-amz-object-lock-mode': 'governance' }, none, NOW)), 'InvalidArgument', 'modes are upper case');
  t.equal(code(() => lockFromHeaders(locked, { ...explicit, 'x-amz-object-lock-retain-until-date': '2020-01-01T00:00:00Z' }, none, NOW)), 'InvalidArgument', 'a past date');
  t.equal(code(() => lockFromHeaders(locked, { ...explicit, 'x-amz-object-lock-retain-until-date': 'tomorrow' }, none, NOW)), 'InvalidArgument', 'not a date');
  t.equal(code(() => lockFromHeaders(locked, { ...explicit, 'x-amz-object-lock-retain-until-date': '2030-01-01' }, none, NOW)), 'InvalidArgument', 'a date without a time');
  t.equal(code(() => lockFromHeaders(locked, { 'x-amz-object-lock-legal-hold': 'on' }, none, NOW)), 'InvalidArgument', 'legal hold is ON or OFF');
  t.same(lockFromHeaders(locked, { ...explicit, 'x-amz-object-lock-retain-until-date': '2030-01-01T01:00:00+01:00' }, none, NOW).retention?.until, Date.parse('2030-01-01T00:00:00Z'), 'offsets are honoured');
});

t.test('refused upload headers carry ArgumentName and ArgumentValue, as S3 sends them', async (t) => {
  const explicit = { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z' };
  const refusal = (headers: Record<string, string>): [string, string, Record<string, string>] => {
    try {
      lockFromHeaders(locked, headers, none, NOW);
    } catch (err) {
      const e = err as { code: string; message: string; fields: Record<string, string> };
      return [e.code, e.message, e.fields];
    }
    throw new Error('expected a refusal');
  };
  // S3's answer, recorded (versity/versitygw#1736): Unknown wormMode directive. naming the header and its value.
  t.same(refusal({ ...explicit, 'x-amz-object-lock-mode': 'abc' }), ['InvalidArgument', 'Unknown wormMode directive.', { ArgumentName: 'x-amz-object-lock-mode', ArgumentValue: 'abc' }], 'an unknown mode');
  t.same(refusal({ 'x-amz-object-lock-legal-hold': 'on' })[2], { ArgumentName: 'x-amz-object-lock-legal-hold', ArgumentValue: 'on' }, 'a legal hold neither ON nor OFF');
  t.same(refusal({ ...explicit, 'x-amz-object-lock-retain-until-date': '2020-01-01T00:00:00Z' })[2], { ArgumentName: 'x-amz-object-lock-retain-until-date', ArgumentValue: '2020-01-01T00:00:00Z' }, 'a past date');
  t.same(refusal({ ...explicit, 'x-amz-object-lock-retain-until-date': 'tomorrow' })[2], { ArgumentName: 'x-amz-object-lock-retain-until-date', ArgumentValue: 'tomorrow' }, 'no date');
  t.same(refusal({ 'x-amz-object-lock-mode': 'GOVERNANCE' })[2], { ArgumentName: 'x-amz-object-lock-retain-until-date' }, 'a mode without a date names the date');
  t.same(refusal({ 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z' })[2], { ArgumentName: 'x-amz-object-lock-mode' }, 'a date without a mode names the mode');
});

t.test('default retention in years, and at multipart completion', async (t) => {
  const years: BucketRecord = { ...locked, objectLock: { defaultRetention: { mode: 'COMPLIANCE', years: 2 } } };
  t.same(defaultRetention(years, NOW), { mode: 'COMPLIANCE', until: Date.parse('2028-12-01T12:00:00Z') }, 'calendar years');
  t.equal(defaultRetention(locked, NOW), undefined);
  t.same(completedLock(withDefault, { initiated: NOW }), { retention: { mode: 'GOVERNANCE', until: NOW + 3 * DAY } }, 'the bucket\'s default at completion, counted from the initiation (the object\'s creation date and Last-Modified)');
  const asked = { retention: { mode: 'COMPLIANCE' as const, until: NOW + 100 * DAY }, legalHold: 'ON' as const };
  t.same(completedLock(withDefault, { initiated: NOW, ...asked }), asked, 'what the upload asked for wins');
});

t.test('retention changes', async (t) => {
  const gov = { mode: 'GOVERNANCE' as const, until: NOW + 10 * DAY };
  const comp = { mode: 'COMPLIANCE' as const, until: NOW + 10 * DAY };
  t.ok(retentionChangeAllowed(undefined, gov, NOW, false), 'setting one where there was none');
  t.ok(retentionChangeAllowed(gov, { ...gov, until: gov.until + DAY }, NOW, false), 'extending GOVERNANCE');
  t.notOk(retentionChangeAllowed(gov, { ...comp, until: gov.until + DAY }, NOW, false), 'GOVERNANCE → COMPLIANCE, later, without the bypass');
  t.ok(retentionChangeAllowed(gov, { ...comp, until: gov.until + DAY }, NOW, true), 'GOVERNANCE → COMPLIANCE with the bypass');
  t.ok(retentionChangeAllowed(gov, gov, NOW, false), 'the same again');
  t.notOk(retentionChangeAllowed(gov, { ...gov, until: gov.until - DAY }, NOW, false), 'shortening GOVERNANCE');
  t.notOk(retentionChangeAllowed(gov, undefined, NOW, false), 'removing GOVERNANCE');
  t.ok(retentionChangeAllowed(gov, { ...gov, until: gov.until - DAY }, NOW, true), '… with the bypass');
  t.ok(retentionChangeAllowed(gov, undefined, NOW, true), 'removing with the bypass');
  t.ok(retentionChangeAllowed(comp, { ...comp, until: comp.until + DAY }, NOW, false), 'extending COMPLIANCE');
  t.notOk(retentionChangeAllowed(comp, { ...comp, until: comp.until - DAY }, NOW, true), 'shortening COMPLIANCE, even with the bypass');
  t.notOk(retentionChangeAllowed(comp, { ...gov, until: comp.until + DAY }, NOW, true), 'COMPLIANCE → GOVERNANCE, even with the bypass');
  t.notOk(retentionChangeAllowed(comp, undefined, NOW, true), 'removing COMPLIANCE');
  t.ok(retentionChangeAllowed(comp, undefined, comp.until + 1, false), 'anything, once it has passed');
});

t.test('isLocked', async (t) => {
  const rec = (extra: Partial<ObjectRecord>): ObjectRecord => ({ v: 1, size: 0, etag: 'e', mtime: NOW, headers: {}, userMeta: {}, stored: 0, ...extra });
  t.notOk(isLocked(rec({}), NOW, false), 'no lock');
  t.ok(isLocked(rec({ legalHold: 'ON' }), NOW, true), 'a legal hold, even with the bypass');
  t.notOk(isLocked(rec({ legalHold: 'OFF' }), NOW, false), 'a legal hold set OFF');
  t.ok(isLocked(rec({ retention: { mode: 'COMPLIANCE', until: NOW + 1 } }), NOW, true), 'COMPLIANCE, even with the bypass');
  t.ok(isLocked(rec({ retention: { mode: 'GOVERNANCE', until: NOW + 1 } }), NOW, false), 'GOVERNANCE');
  t.notOk(isLocked(rec({ retention: { mode: 'GOVERNANCE', until: NOW + 1 } }), NOW, true), 'GOVERNANCE with the bypass');
  t.notOk(isLocked(rec({ retention: { mode: 'COMPLIANCE', until: NOW } }), NOW, false), 'a retention that has passed');
  t.same(lockHeaders(rec({ retention: { mode: 'COMPLIANCE', until: Date.parse('2030-01-01T00:00:00Z') }, legalHold: 'OFF' })), {
    'x-amz-object-lock-mode': 'COMPLIANCE',
    'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00.000Z',
    'x-amz-object-lock-legal-hold': 'OFF',
  });
});

// Version ids (meta/versions.ts): UUIDv7 layout, the stamp they carry, strictly increasing stamps
// within one millisecond, and ids that are not ours naming no version. Runs in its own process:
// nextStamp's process-wide "last stamp" is driven here with fixed clocks.
// test-groups: own process

import t from 'tap';
import { clientVersionId, nextStamp, NULL_VERSION, stampOf, stampOfId, versionIdFor } from '../../../../daemon/meta/versions.js';

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SEQ = 1024;

t.test('nextStamp: strictly increasing within one millisecond, after `after`, never behind the clock', async (t) => {
  const now = 1_700_000_000_000;
  const first = nextStamp(0, now);
  t.equal(first, now * SEQ, 'the first stamp of a fresh millisecond is ms × 1024');
  let prev = first;
  let increasing = true;
  for (let i = 0; i < 5000; i++) {
    const s = nextStamp(0, now);
    if (s !== prev + 1) increasing = false;
    prev = s;
  }
  t.ok(increasing, '5,000 stamps in one millisecond each exceed the previous by exactly one');
  t.ok(prev > (now + 1) * SEQ, 'more than 4,096 stamps in one millisecond carry into the next millisecond (still increasing)');

  // A clock that goes backwards never yields a smaller stamp.
  const back = nextStamp(0, now - 10_000);
  t.equal(back, prev + 1, 'a clock going backwards still gets the next stamp');

  // A later clock jumps ahead.
  const later = now + 60_000;
  t.equal(nextStamp(0, later), later * SEQ, 'a later millisecond starts at its own ms × 1024');

  // `after` (the newest stamp of the key, e.g. one written before a restart) is exceeded.
  const ahead = (later + 5_000) * SEQ + 17;
  t.equal(nextStamp(ahead, later), ahead + 1, '`after` beyond the clock and the last stamp is exceeded by one');
  t.equal(nextStamp(5, later + 10_000), (later + 10_000) * SEQ, 'a small `after` does not hold the clock back');
});

t.test('versionIdFor: a UUIDv7 whose time and sequence are the stamp', async (t) => {
  const stamps = [
    1 * SEQ,
    1_700_000_000_000 * SEQ,
    1_700_000_000_000 * SEQ + 1,
    1_700_000_000_000 * SEQ + 0xabc,
    1_700_000_000_000 * SEQ + 1023,
    1_700_000_000_001 * SEQ,
    Date.now() * SEQ + 123,
    // The largest stamp the versions table can order (STAMP_TOP = 2^53 − 1).
    2 ** 53 - 1,
  ];
  for (const s of stamps) {
    const id = versionIdFor(s);
    t.match(id, UUID7, `stamp ${s}: UUIDv7 format (version 7, RFC variant)`);
    t.equal(stampOfId(id), s, `stamp ${s} round-trips through its id`);
    t.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), Math.floor(s / SEQ), `stamp ${s}: the first 48 bits are the milliseconds`);
  }
  const id = versionIdFor(1_700_000_000_000 * SEQ + 0x3bc);
  t.equal(id.slice(14, 18), '73bc', 'the version nibble is followed by the sequence (12 bits, below 1024)');
  t.equal(stampOfId('018f0000-0000-7400-8000-000000000000'), undefined, 'a sequence of 1024 or more is no id of ours');
});

t.test('versionIdFor: distinct random bits for the same stamp, over several refills of the random pool', async (t) => {
  const s = 1_700_000_000_000 * SEQ + 1;
  const ids = new Set<string>();
  // The pool holds 256 ids' worth of random bytes: 1,000 ids cross three refills.
  for (let i = 0; i < 1000; i++) ids.add(versionIdFor(s));
  t.equal(ids.size, 1000, '1,000 ids for one stamp are all distinct');
  for (const id of ids) {
    if (stampOfId(id) !== s || !UUID7.test(id)) {
      t.fail(`id ${id} does not carry stamp ${s}`);
      return;
    }
  }
  t.pass('every one of them carries the stamp');
});

t.test('ids sort (as strings) in stamp order', async (t) => {
  const stamps: number[] = [];
  const base = 1_700_000_000_000;
  for (let ms = 0; ms < 3; ms++) for (const seq of [0, 1, 15, 16, 255, 256, 1023]) stamps.push((base + ms) * SEQ + seq);
  // Also across a hex digit boundary of the milliseconds.
  stamps.push(0xfffffffff * SEQ + 1023, 0x1000000000 * SEQ);
  stamps.sort((a, b) => a - b);
  const ids = stamps.map((s) => versionIdFor(s));
  const sorted = [...ids].sort();
  t.same(sorted, ids, 'lexical id order is stamp order');
});

t.test('stampOfId: ids that are not ours name no version', async (t) => {
  const good = versionIdFor(1_700_000_000_000 * SEQ + 5);
  t.equal(stampOfId(good), 1_700_000_000_000 * SEQ + 5);
  const bad: Array<[string, string]> = [
    ['null', 'the null version id'],
    ['', 'empty'],
    ['garbage', 'not a UUID'],
    [good.toUpperCase(), 'upper case'],
    [good.replace(/-/g, ''), 'without dashes'],
    [`${good}0`, 'one character too long'],
    [good.slice(1), 'one character short'],
    [`${good.slice(0, 14)}4${good.slice(15)}`, 'a UUIDv4'],
    [`${good.slice(0, 19)}c${good.slice(20)}`, 'not the RFC variant'],
    [` ${good}`, 'leading space'],
    ['00000000-0000-0000-0000-000000000000', 'the nil UUID'],
  ];
  for (const [id, why] of bad) t.equal(stampOfId(id), undefined, `${why}: ${JSON.stringify(id)}`);
});

t.test('stampOf and clientVersionId', async (t) => {
  t.equal(stampOf({ vs: 12345, mtime: 7 }), 12345, 'a stamped record: its stamp');
  t.equal(stampOf({ mtime: 7 }), 7 * SEQ, 'a record written before versioning: mtime × 1024');
  t.equal(stampOf({ vs: 0, mtime: 7 }), 0, 'a zero stamp is a stamp, not absent');
  t.equal(clientVersionId({}), NULL_VERSION, 'no id: the null version');
  t.equal(NULL_VERSION, 'null');
  const id = versionIdFor(99 * SEQ);
  t.equal(clientVersionId({ versionId: id }), id, 'a real id is given back');
});

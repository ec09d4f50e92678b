// ObjectKeyCache (unsealed SSE-S3/SSE-KMS object keys of recent reads): hits are copies, the id
// changes with every field the unseal depends on, TTL on an injected clock, LRU bound, ttl 0
// disables, clear(); then wired into unsealForRead with the real static KMS: one KMS decrypt for
// repeated reads, and a modified or moved record is still refused as tampered although the
// genuine one is cached.

import t from 'tap';
import { S3Error } from '../../../../daemon/errors.js';
import { StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import type { SseRecord } from '../../../../daemon/meta/records.js';
import { ObjectKeyCache } from '../../../../daemon/sse/key-cache.js';
import { createObjectEncryption, unsealForRead } from '../../../../daemon/sse/object-encryption.js';

const key = (fill: number): Buffer => Buffer.alloc(32, fill);

/** A record with distinct bytes in every field. */
function record(over: Partial<SseRecord> = {}): SseRecord {
  return {
    kind: 'SSE-S3',
    algorithm: 'DAREv2-HMAC-SHA256',
    iv: Buffer.alloc(32, 1),
    sealedKey: Buffer.alloc(64, 2),
    kmsKey: 'test-key',
    kmsCiphertext: Buffer.alloc(80, 3),
    ...over,
  };
}

/** A clock the test moves by hand. */
function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t0 = start;
  return { now: () => t0, advance: (ms) => void (t0 += ms) };
}

t.test('a hit returns a copy: zeroing it (as callers do) leaves the cache intact', async (t) => {
  const c = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 10 });
  const id = ObjectKeyCache.id(record(), 'b', 'o');
  const k = key(0xab);
  c.set(id, k);
  k.fill(0); // the caller zeroes its own key after set(): the cache keeps its own copy
  const first = c.get(id)!;
  t.ok(first.equals(key(0xab)), 'set() copied the key');
  first.fill(0);
  const second = c.get(id)!;
  t.ok(second.equals(key(0xab)), 'zeroing a returned key does not touch the cached one');
  t.ok(!(second.buffer === first.buffer && second.byteOffset === first.byteOffset), 'two hits are two different buffers');
  second[0] = 0x01;
  t.ok(c.get(id)!.equals(key(0xab)), 'writing into a returned key does not touch the cached one either');
  t.equal(c.hits, 3);
  t.equal(c.misses, 0);
});

t.test('the id changes with every field the unseal depends on', async (t) => {
  const base = record({ kmsContext: Buffer.from('{"a":"b"}').toString('base64') });
  const variants: Array<[string, SseRecord, string, string]> = [
    ['bucket', base, 'b2', 'o'],
    ['object', base, 'b', 'o2'],
    ['object (prefix)', base, 'b', 'o/'],
    ['kind', { ...base, kind: 'SSE-KMS' }, 'b', 'o'],
    ['kmsKey', { ...base, kmsKey: 'other-key' }, 'b', 'o'],
    ['kmsCiphertext (one bit)', { ...base, kmsCiphertext: flipped(base.kmsCiphertext!, 79) }, 'b', 'o'],
    ['kmsCiphertext (shorter)', { ...base, kmsCiphertext: base.kmsCiphertext!.subarray(0, 79) }, 'b', 'o'],
    ['kmsContext', { ...base, kmsContext: Buffer.from('{"a":"c"}').toString('base64') }, 'b', 'o'],
    ['kmsContext (absent)', { ...base, kmsContext: undefined }, 'b', 'o'],
    ['algorithm', { ...base, algorithm: 'DARE-SHA256' }, 'b', 'o'],
    ['iv (one bit)', { ...base, iv: flipped(base.iv, 0) }, 'b', 'o'],
    ['sealedKey (one bit)', { ...base, sealedKey: flipped(base.sealedKey, 63) }, 'b', 'o'],
  ];
  const c = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 100 });
  const baseId = ObjectKeyCache.id(base, 'b', 'o');
  c.set(baseId, key(7));
  const ids = new Set([baseId]);
  for (const [what, rec, bucket, object] of variants) {
    const id = ObjectKeyCache.id(rec, bucket, object);
    t.not(id, baseId, `${what}: another id`);
    t.equal(c.get(id), undefined, `${what}: a miss`);
    ids.add(id);
  }
  t.equal(ids.size, variants.length + 1, 'all variants differ from each other too');
  t.ok(c.get(baseId)?.equals(key(7)), 'the original still hits');
  t.equal(c.misses, variants.length);
});

t.test('the id is the same for equal bytes in any view (copies, subarrays of a larger buffer)', async (t) => {
  const rec = record();
  const big = Buffer.alloc(300, 9);
  const iv = big.subarray(10, 42);
  iv.set(rec.iv);
  const sealed = big.subarray(100, 164);
  rec.sealedKey.forEach((v, i) => (sealed[i] = v));
  const ct = new Uint8Array(big.buffer, big.byteOffset + 200, 80);
  ct.set(rec.kmsCiphertext!);
  const view = { ...rec, iv, sealedKey: sealed, kmsCiphertext: ct };
  t.equal(ObjectKeyCache.id(view, 'b', 'o'), ObjectKeyCache.id(rec, 'b', 'o'), 'only the viewed bytes count, not the rest of the backing buffer');
  const copied = { ...rec, iv: new Uint8Array(rec.iv), sealedKey: Uint8Array.from(rec.sealedKey), kmsCiphertext: Buffer.from(rec.kmsCiphertext!) };
  t.equal(ObjectKeyCache.id(copied, 'b', 'o'), ObjectKeyCache.id(rec, 'b', 'o'), 'Uint8Array and Buffer of the same bytes');
});

t.test('the id cannot be forged by moving a separator between the object name and the KMS key name', async (t) => {
  // Object names may contain '\n' (the id's separator). A KMS key name cannot in practice (KES and
  // the built-in key allow [0-9A-Za-z_-]), but the id itself should not depend on that.
  const a = ObjectKeyCache.id(record({ kmsKey: 'k' }), 'b', 'o\nx');
  const b = ObjectKeyCache.id(record({ kmsKey: 'x\nk' }), 'b', 'o');
  t.not(a, b, 'object "o\\nx" with key "k" and object "o" with key "x\\nk" have different ids');
  const c2 = ObjectKeyCache.id(record(), 'b', 'o\n');
  t.not(c2, ObjectKeyCache.id(record(), 'b', 'o'), 'a trailing newline in the object name is another object');
});

t.test('a damaged record holding text where bytes belong still gets an id of its own', async (t) => {
  // The id is built on every read, before the unseal refuses such a record: it must not throw,
  // nor stand for the bytes that text spells.
  const text = record({ kmsCiphertext: 'AwMD' as unknown as Uint8Array });
  const id = ObjectKeyCache.id(text, 'b', 'o');
  t.not(id, ObjectKeyCache.id(record({ kmsCiphertext: Buffer.from('AwMD') }), 'b', 'o'), 'not the bytes of its characters');
  t.not(id, ObjectKeyCache.id(record({ kmsCiphertext: Buffer.from('AwMD', 'base64') }), 'b', 'o'), 'not the bytes it decodes to');
  t.not(id, ObjectKeyCache.id(record({ kmsCiphertext: undefined }), 'b', 'o'), 'not an absent field');
});

t.test('entries expire after ttlMs on the injected clock; a hit does not extend the lifetime', async (t) => {
  const clk = clock();
  const c = new ObjectKeyCache({ ttlMs: 1000, maxEntries: 10, now: clk.now });
  const id = ObjectKeyCache.id(record(), 'b', 'o');
  c.set(id, key(1));
  clk.advance(999);
  t.ok(c.get(id)?.equals(key(1)), 'hit just before the TTL');
  clk.advance(1);
  t.equal(c.get(id), undefined, 'miss at exactly ttlMs after set');
  t.equal(c.size, 0, 'the expired entry was dropped');
  clk.advance(5000);
  t.equal(c.get(id), undefined, 'still a miss later (nothing resurrected)');

  c.set(id, key(2));
  clk.advance(600);
  t.ok(c.get(id), 'hit at 600 ms');
  clk.advance(600);
  t.equal(c.get(id), undefined, 'miss at 1200 ms: the hit at 600 ms did not renew it');

  c.set(id, key(3));
  clk.advance(900);
  c.set(id, key(4)); // a fresh unseal replaces the entry and restarts its lifetime
  clk.advance(900);
  t.ok(c.get(id)?.equals(key(4)), 'a re-set restarts the lifetime and replaces the key');
  t.equal(c.size, 1, 're-setting an id does not add a second entry');
});

t.test('LRU bound: the least recently used entry goes first, and is gone for good', async (t) => {
  const c = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 3 });
  const id = (n: number): string => ObjectKeyCache.id(record(), 'b', `o${n}`);
  for (let n = 0; n < 3; n++) c.set(id(n), key(n + 1));
  t.equal(c.size, 3);
  t.ok(c.get(id(0)), 'touch o0: now o1 is the least recently used');
  c.set(id(3), key(4));
  t.equal(c.size, 3, 'never more than maxEntries');
  t.equal(c.get(id(1)), undefined, 'o1 was evicted');
  t.ok(c.get(id(0))?.equals(key(1)), 'o0 (recently used) survived with its key');
  t.ok(c.get(id(2))?.equals(key(3)), 'o2 survived with its key');
  t.ok(c.get(id(3))?.equals(key(4)), 'o3 is there');
  // Order is now o0, o2, o3 (by last use). Two more inserts evict o0 then o2.
  c.set(id(4), key(5));
  c.set(id(5), key(6));
  t.equal(c.get(id(0)), undefined, 'o0 evicted');
  t.equal(c.get(id(2)), undefined, 'o2 evicted');
  t.ok(c.get(id(3)) && c.get(id(4)) && c.get(id(5)), 'the three most recent remain');
  // An evicted id set again is a fresh entry with the new key (the old copy is not revived).
  c.set(id(1), key(0x77));
  t.ok(c.get(id(1))?.equals(key(0x77)), 'an evicted id set again holds the new key');
  t.equal(c.size, 3);

  const one = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 0 });
  one.set(id(0), key(1));
  one.set(id(1), key(2));
  t.equal(one.size, 1, 'maxEntries 0 is treated as 1');
  t.equal(one.get(id(0)), undefined);
  t.ok(one.get(id(1))?.equals(key(2)));
});

t.test('a re-set of an id and an eviction of many entries keep the survivors intact', async (t) => {
  // Evicted and replaced keys are zero-filled in place; a survivor must never share that memory.
  const c = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 50 });
  const id = (n: number): string => ObjectKeyCache.id(record(), 'b', `o${n}`);
  for (let n = 0; n < 200; n++) c.set(id(n), key(n % 256));
  for (let n = 150; n < 200; n++) c.set(id(n), key((n + 1) % 256)); // replace every survivor once
  t.equal(c.size, 50);
  for (let n = 0; n < 150; n++) if (c.get(id(n)) !== undefined) t.fail(`o${n} should have been evicted`);
  let bad = 0;
  for (let n = 150; n < 200; n++) if (!c.get(id(n))?.equals(key((n + 1) % 256))) bad++;
  t.equal(bad, 0, 'every survivor returns its latest key, none zeroed by a drop');
});

t.test('ttlMs 0 disables the cache: get is always undefined, set stores nothing', async (t) => {
  const c = new ObjectKeyCache({ ttlMs: 0, maxEntries: 10 });
  t.equal(c.enabled, false);
  const id = ObjectKeyCache.id(record(), 'b', 'o');
  const k = key(5);
  c.set(id, k);
  t.equal(c.size, 0, 'nothing stored');
  t.equal(c.get(id), undefined, 'no hit');
  t.ok(k.equals(key(5)), 'the caller key is left alone');
  t.same([c.hits, c.misses], [0, 0], 'a disabled cache counts nothing');
  const neg = new ObjectKeyCache({ ttlMs: -1, maxEntries: 10 });
  neg.set(id, k);
  t.equal(neg.enabled, false, 'a negative TTL disables it too');
  t.equal(neg.get(id), undefined);
  t.equal(new ObjectKeyCache({ ttlMs: 1, maxEntries: 10 }).enabled, true, 'any positive TTL enables it');
});

t.test('clear() drops everything', async (t) => {
  const c = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 10 });
  const ids = [0, 1, 2].map((n) => ObjectKeyCache.id(record(), 'b', `o${n}`));
  for (const [i, id] of ids.entries()) c.set(id, key(i + 1));
  const held = c.get(ids[0]!)!;
  c.clear();
  t.equal(c.size, 0);
  for (const id of ids) t.equal(c.get(id), undefined, 'a miss after clear()');
  t.ok(held.equals(key(1)), 'a key handed out before clear() is the caller\'s copy and stays valid');
  c.set(ids[1]!, key(9));
  t.ok(c.get(ids[1]!)?.equals(key(9)), 'usable again after clear()');
});

// ---- wired into unsealForRead with the real built-in KMS ----

class CountingKms extends StaticKeyProvider {
  decrypts = 0;
  constructor() {
    super({ name: 'test-key', key: Buffer.alloc(32, 7) });
  }
  override async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    this.decrypts++;
    return super.decrypt(name, ciphertext, context);
  }
}

async function tampered(p: Promise<unknown>): Promise<string> {
  try {
    const k = await p;
    return `resolved with ${Buffer.isBuffer(k) ? k.toString('hex') : String(k)}`;
  } catch (err) {
    return err instanceof S3Error ? err.code : String(err);
  }
}

t.test('unsealForRead: repeated reads cost one KMS decrypt and return the right key', async (t) => {
  const kms = new CountingKms();
  const objectKeys = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 100 });
  const env = { kms, objectKeys };
  for (const req of [{ kind: 'SSE-S3' as const }, { kind: 'SSE-KMS' as const, keyId: 'test-key', context: { app: 'x' } }]) {
    const enc = await createObjectEncryption(env, req, 'bkt', 'dir/obj');
    const want = Buffer.from(enc.objectKey);
    const before = kms.decrypts;
    const first = await unsealForRead(env, enc.record, {}, 'bkt', 'dir/obj');
    t.ok(first.equals(want), `${req.kind}: first read unseals the object key`);
    first.fill(0); // what GET does when it is done
    for (let i = 0; i < 3; i++) {
      const again = await unsealForRead(env, enc.record, {}, 'bkt', 'dir/obj');
      t.ok(again.equals(want), `${req.kind}: read ${i + 2} returns the right key`);
      again.fill(0);
    }
    t.equal(kms.decrypts - before, 1, `${req.kind}: one KMS decrypt for four reads`);
  }
});

t.test('unsealForRead: a modified or moved record is refused although the genuine one is cached', async (t) => {
  const kms = new CountingKms();
  const objectKeys = new ObjectKeyCache({ ttlMs: 60_000, maxEntries: 100 });
  const env = { kms, objectKeys };
  const enc = await createObjectEncryption(env, { kind: 'SSE-S3' }, 'bkt', 'obj');
  const rec = enc.record;
  (await unsealForRead(env, rec, {}, 'bkt', 'obj')).fill(0);
  t.equal(objectKeys.size, 1, 'the genuine record is cached');

  t.equal(await tampered(unsealForRead(env, { ...rec, sealedKey: flipped(rec.sealedKey, 40) }, {}, 'bkt', 'obj')), 'XMinioObjectTampered', 'sealed key modified');
  t.equal(await tampered(unsealForRead(env, { ...rec, iv: flipped(rec.iv, 3) }, {}, 'bkt', 'obj')), 'XMinioObjectTampered', 'IV modified');
  t.equal(await tampered(unsealForRead(env, { ...rec, kind: 'SSE-KMS' }, {}, 'bkt', 'obj')), 'XMinioObjectTampered', 'kind changed (SSE-S3 → SSE-KMS)');
  t.not(await tampered(unsealForRead(env, { ...rec, kmsCiphertext: flipped(rec.kmsCiphertext!, 60) }, {}, 'bkt', 'obj')), 'resolved', 'KMS ciphertext modified: refused');
  t.equal(await tampered(unsealForRead(env, rec, {}, 'bkt', 'other')), 'InternalError', 'record moved to another name: the KMS refuses the context');
  t.equal(await tampered(unsealForRead(env, rec, {}, 'bkt2', 'obj')), 'InternalError', 'record moved to another bucket: refused');
  const withoutCt: SseRecord = { ...rec, kmsCiphertext: undefined };
  t.equal(await tampered(unsealForRead(env, withoutCt, {}, 'bkt', 'obj')), 'XMinioObjectTampered', 'KMS ciphertext removed');

  // A record copied to another name whose KMS context would still verify: only the unseal's
  // binding to bucket/object can catch it, and the cache must not skip that.
  const other = await createObjectEncryption(env, { kind: 'SSE-S3' }, 'bkt', 'victim');
  const transplanted: SseRecord = { ...rec, kmsCiphertext: other.record.kmsCiphertext };
  t.equal(await tampered(unsealForRead(env, transplanted, {}, 'bkt', 'victim')), 'XMinioObjectTampered', 'sealed key of obj with the data key of victim');

  const good = await unsealForRead(env, rec, {}, 'bkt', 'obj');
  t.ok(good.equals(enc.objectKey), 'the genuine record still reads');
  t.equal(objectKeys.size, 1, 'nothing that failed was cached: only the genuine record');
});

t.test('unsealForRead: a disabled or expired cache asks the KMS again; SSE-C is never cached', async (t) => {
  const kms = new CountingKms();
  const off = { kms, objectKeys: new ObjectKeyCache({ ttlMs: 0, maxEntries: 100 }) };
  const enc = await createObjectEncryption(off, { kind: 'SSE-S3' }, 'bkt', 'obj');
  for (let i = 0; i < 3; i++) t.ok((await unsealForRead(off, enc.record, {}, 'bkt', 'obj')).equals(enc.objectKey));
  t.equal(kms.decrypts, 3, 'ttl 0: one decrypt per read');

  const clk = clock();
  const on = { kms, objectKeys: new ObjectKeyCache({ ttlMs: 1000, maxEntries: 100, now: clk.now }) };
  kms.decrypts = 0;
  await unsealForRead(on, enc.record, {}, 'bkt', 'obj');
  clk.advance(999);
  await unsealForRead(on, enc.record, {}, 'bkt', 'obj');
  t.equal(kms.decrypts, 1, 'within the TTL: cached');
  clk.advance(1);
  t.ok((await unsealForRead(on, enc.record, {}, 'bkt', 'obj')).equals(enc.objectKey), 'after the TTL: still the right key');
  t.equal(kms.decrypts, 2, 'after the TTL: the KMS was asked again');

  const none = { kms, objectKeys: undefined };
  t.ok((await unsealForRead(none, enc.record, {}, 'bkt', 'obj')).equals(enc.objectKey), 'no cache configured: reads work');

  const customer = Buffer.alloc(32, 0x42);
  const keyMd5 = (await import('node:crypto')).createHash('md5').update(customer).digest('base64');
  const ssec = await createObjectEncryption(on, { kind: 'SSE-C', key: customer, keyMd5 }, 'bkt', 'c');
  const headers = {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': customer.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': keyMd5,
  };
  const size = on.objectKeys.size;
  t.ok((await unsealForRead(on, ssec.record, headers, 'bkt', 'c')).equals(ssec.objectKey), 'SSE-C reads');
  t.equal(on.objectKeys.size, size, 'SSE-C keys are not cached');
  t.equal(await tampered(unsealForRead(on, ssec.record, {}, 'bkt', 'c')), 'InvalidRequest', 'SSE-C without the customer key is refused');
});

function flipped(b: Uint8Array, at: number): Buffer {
  const c = Buffer.from(b);
  c[at]! ^= 0x01;
  return c;
}

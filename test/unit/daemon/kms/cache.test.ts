// CachingKeyProvider around the real static provider (instrumented by subclassing): single-flight,
// bounded concurrency, per-tick batching and bulk, TTL/LRU eviction with zero-fill, outage grace.

import t from 'tap';
import { CachingKeyProvider, cacheOptionsFromEnv, kesOnlySettingsWarning } from '../../../../daemon/kms/cache.js';
import { StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import { KmsConfigError, KmsError } from '../../../../daemon/kms/provider.js';
import type { BulkDecryptor, DecryptRequest } from '../../../../daemon/kms/provider.js';

const NAME = 'k';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The real static provider plus call counting, a concurrency gauge, latency and an outage switch. */
class Instrumented extends StaticKeyProvider {
  decrypts = 0;
  active = 0;
  maxActive = 0;
  delayMs = 0;
  down = false;
  constructor() {
    super({ name: NAME, key: Buffer.alloc(32, 9) });
  }
  override async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    this.decrypts++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs) await sleep(this.delayMs);
      if (this.down) throw new KmsError('Unavailable', 'kms down');
      return await super.decrypt(name, ciphertext, context);
    } finally {
      this.active--;
    }
  }
}

class InstrumentedBulk extends Instrumented implements BulkDecryptor {
  bulkCalls: number[] = [];
  bulkDecryptSupported(): boolean {
    return true;
  }
  async decryptBulk(name: string, requests: readonly DecryptRequest[]): Promise<Buffer[]> {
    this.bulkCalls.push(requests.length);
    const out: Buffer[] = [];
    // Like KES: the first bad element fails the whole call.
    for (const r of requests) out.push(await StaticKeyProvider.prototype.decrypt.call(this, name, r.ciphertext, r.context));
    return out;
  }
}

async function wrapped(inner: StaticKeyProvider, n: number): Promise<Array<{ ct: Buffer; ctx: Buffer; pt: Buffer }>> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const ctx = Buffer.from(`{"b":"b/o${i}"}`);
    const dk = await inner.generateKey(NAME, ctx);
    out.push({ ct: dk.ciphertext, ctx, pt: dk.plaintext });
  }
  return out;
}

t.test('identical concurrent unwraps share one KMS call; each caller owns its buffer', async (t) => {
  const inner = new Instrumented();
  inner.delayMs = 20;
  const cache = new CachingKeyProvider(inner, { primeOnGenerate: false });
  t.teardown(() => cache.close());
  const [k] = await wrapped(inner, 1);
  const results = await Promise.all(Array.from({ length: 50 }, () => cache.decrypt(NAME, k!.ct, k!.ctx)));
  t.equal(inner.decrypts, 1, 'one KMS call for 50 requests');
  for (const r of results) t.same(r, k!.pt);
  results[0]!.fill(0);
  t.same(results[1], k!.pt, 'zero-filling one result leaves the others intact');
  t.same(await cache.decrypt(NAME, k!.ct, k!.ctx), k!.pt, 'the cached copy is intact too');
  t.equal(inner.decrypts, 1);
  t.match(cache.stats(), { misses: 1, coalesced: 49, hits: 1, calls: { decrypt: 1 } });
});

t.test('forget: a data key that did not unseal is dropped, zero-filled; the next decrypt asks the KMS again', async (t) => {
  const inner = new Instrumented();
  const dropped: Buffer[] = [];
  const cache = new CachingKeyProvider(inner, { primeOnGenerate: false, onDrop: (b) => void dropped.push(b) });
  t.teardown(() => cache.close());
  const [k, other] = await wrapped(inner, 2);
  await cache.decrypt(NAME, k!.ct, k!.ctx);
  await cache.decrypt(NAME, other!.ct, other!.ctx);
  t.equal(inner.decrypts, 2);
  cache.forget(NAME, k!.ct, k!.ctx);
  t.equal(dropped.length, 1, 'dropped');
  t.ok(dropped[0]!.every((b) => b === 0), 'zero-filled');
  t.same(await cache.decrypt(NAME, other!.ct, other!.ctx), other!.pt, 'another key stays cached');
  t.equal(inner.decrypts, 2);
  t.same(await cache.decrypt(NAME, k!.ct, k!.ctx), k!.pt, 'the forgotten one is asked for again');
  t.equal(inner.decrypts, 3);
  cache.forget(NAME, Buffer.from('not cached'), k!.ctx);
  t.pass('forgetting what is not cached is a no-op');
});

t.test('distinct unwraps of one tick form one batch, at most maxInFlight at a time', async (t) => {
  const inner = new Instrumented();
  inner.delayMs = 10;
  const cache = new CachingKeyProvider(inner, { maxInFlight: 4, primeOnGenerate: false });
  t.teardown(() => cache.close());
  const keys = await wrapped(inner, 40);
  const results = await Promise.all(keys.map((k) => cache.decrypt(NAME, k.ct, k.ctx)));
  results.forEach((r, i) => t.same(r, keys[i]!.pt));
  t.equal(inner.decrypts, 40);
  t.equal(inner.maxActive, 4, 'never more than maxInFlight concurrent KMS calls, and the bound is used');
  const s = cache.stats();
  t.match(s.batches, { count: 1, items: 40, max: 40, histogram: { '17-64': 1 } });
  t.equal(s.inFlight, 0);
  t.equal(s.queued, 0);
});

t.test('bulk-capable provider: one bulk call per tick; a bad element falls back to single calls', async (t) => {
  const inner = new InstrumentedBulk();
  const cache = new CachingKeyProvider(inner, { primeOnGenerate: false, maxBulk: 8 });
  t.teardown(() => cache.close());
  const keys = await wrapped(inner, 20);
  const results = await Promise.all(keys.map((k) => cache.decrypt(NAME, k.ct, k.ctx)));
  results.forEach((r, i) => t.same(r, keys[i]!.pt));
  t.same(inner.bulkCalls, [8, 8, 4], 'chunks of maxBulk');
  t.equal(inner.decrypts, 0, 'no single decrypts');

  const more = await wrapped(inner, 3);
  const bad = Buffer.from(more[1]!.ct);
  bad[0] = bad[0]! ^ 1;
  const settled = await Promise.allSettled([
    cache.decrypt(NAME, more[0]!.ct, more[0]!.ctx),
    cache.decrypt(NAME, bad, more[1]!.ctx),
    cache.decrypt(NAME, more[2]!.ct, more[2]!.ctx),
  ]);
  t.match(settled, [
    { status: 'fulfilled', value: more[0]!.pt },
    { status: 'rejected', reason: { code: 'NotAuthentic' } },
    { status: 'fulfilled', value: more[2]!.pt },
  ]);
  t.equal(inner.decrypts, 3, 'fell back to one call per element');
});

t.test('TTL expiry and LRU size bound; dropped keys are zero-filled', async (t) => {
  let now = 0;
  const dropped: Buffer[] = [];
  const inner = new Instrumented();
  const cache = new CachingKeyProvider(inner, {
    cacheTtlMs: 1_000, cacheSize: 3, staleGraceMs: 0, primeOnGenerate: false, now: () => now, onDrop: (b) => dropped.push(b),
  });
  const keys = await wrapped(inner, 4);
  for (const k of keys.slice(0, 3)) await cache.decrypt(NAME, k.ct, k.ctx);
  t.equal(inner.decrypts, 3);
  await cache.decrypt(NAME, keys[0]!.ct, keys[0]!.ctx); // touch: keys[0] becomes newest
  t.equal(inner.decrypts, 3, 'hit');
  await cache.decrypt(NAME, keys[3]!.ct, keys[3]!.ctx); // evicts the LRU entry: keys[1]
  t.equal(cache.stats().evictions, 1);
  t.equal(dropped.length, 1);
  t.ok(dropped[0]!.every((b) => b === 0), 'evicted key zero-filled');
  await cache.decrypt(NAME, keys[0]!.ct, keys[0]!.ctx);
  t.equal(inner.decrypts, 4, 'keys[0] survived (recently used)');
  await cache.decrypt(NAME, keys[1]!.ct, keys[1]!.ctx);
  t.equal(inner.decrypts, 5, 'keys[1] was the one evicted');

  now += 1_000;
  cache.sweep();
  t.equal(cache.stats().size, 0, 'expired entries swept');
  t.equal(cache.stats().expirations, 3);
  t.ok(dropped.every((b) => b.every((x) => x === 0)), 'every dropped buffer is zeroed');
  await cache.decrypt(NAME, keys[0]!.ct, keys[0]!.ctx);
  t.equal(inner.decrypts, 6, 'after the TTL the KMS is asked again');
  await cache.close();
  t.equal(dropped.length, 6, 'close drops (and zeroes) the rest');
  t.ok(dropped.every((b) => b.every((x) => x === 0)));
});

t.test('outage: an expired key within the grace period keeps serving; past it, Unavailable', async (t) => {
  let now = 0;
  const inner = new Instrumented();
  const cache = new CachingKeyProvider(inner, { cacheTtlMs: 1_000, staleGraceMs: 5_000, primeOnGenerate: false, now: () => now });
  t.teardown(() => cache.close());
  const [k, other] = await wrapped(inner, 2);
  await cache.decrypt(NAME, k!.ct, k!.ctx);
  inner.down = true;
  now = 3_000; // expired, within grace
  t.same(await cache.decrypt(NAME, k!.ct, k!.ctx), k!.pt, 'served from the held key');
  t.equal(cache.stats().staleServed, 1);
  t.equal(inner.decrypts, 2, 'the KMS was asked first');
  await t.rejects(cache.decrypt(NAME, other!.ct, other!.ctx), { code: 'Unavailable' }, 'never-seen keys fail');
  inner.down = false;
  t.same(await cache.decrypt(NAME, k!.ct, k!.ctx), k!.pt);
  t.equal(cache.stats().staleServed, 1, 'KMS back: fresh answer, entry renewed');
  inner.down = true;
  now = 3_000 + 1_000 + 5_000; // past TTL + grace of the renewed entry
  await t.rejects(cache.decrypt(NAME, k!.ct, k!.ctx), { code: 'Unavailable' });
});

t.test('outage: unwraps queued behind calls that find the KMS unavailable fail at once, not in rounds of timeouts', async (t) => {
  const inner = new Instrumented();
  inner.delayMs = 30; // a hung KMS: each call waits, then fails
  const cache = new CachingKeyProvider(inner, { maxInFlight: 4, primeOnGenerate: false });
  t.teardown(() => cache.close());
  const keys = await wrapped(inner, 16);
  inner.decrypts = 0;
  inner.down = true;
  const results = await Promise.allSettled(keys.map((k) => cache.decrypt(NAME, k.ct, k.ctx)));
  t.ok(results.every((r) => r.status === 'rejected' && (r.reason as KmsError).code === 'Unavailable'), 'all 16 fail as Unavailable');
  t.equal(inner.decrypts, 4, 'only the first 4 (maxInFlight) asked the KMS; the 12 queued behind them failed with their answer (was 16 calls, in 4 rounds)');
  t.equal(cache.stats().queued, 0);
  // Unwraps asked after the outage was seen still ask the KMS: that is how its return is noticed.
  inner.down = false;
  t.same(await cache.decrypt(NAME, keys[0]!.ct, keys[0]!.ctx), keys[0]!.pt, 'the KMS back: the next unwrap asks it and succeeds');
  t.equal(inner.decrypts, 5);
});

t.test('a definite KMS answer (not Unavailable) drops the held key', async (t) => {
  let now = 0;
  const inner = new Instrumented();
  const cache = new CachingKeyProvider(inner, { cacheTtlMs: 1_000, staleGraceMs: 60_000, primeOnGenerate: false, now: () => now });
  t.teardown(() => cache.close());
  const [k] = await wrapped(inner, 1);
  await cache.decrypt(NAME, k!.ct, k!.ctx);
  now = 2_000;
  await t.rejects(cache.decrypt('other-key', k!.ct, k!.ctx), { code: 'KeyNotFound' }, 'different key name is a different entry');
  inner.decrypt = async () => {
    throw new KmsError('KeyNotFound', 'key does not exist');
  };
  await t.rejects(cache.decrypt(NAME, k!.ct, k!.ctx), { code: 'KeyNotFound' });
  t.equal(cache.stats().size, 0);
});

t.test('generateKey passes through (fresh DEK) and primes the cache', async (t) => {
  const inner = new Instrumented();
  const cache = new CachingKeyProvider(inner);
  t.teardown(() => cache.close());
  const ctx = Buffer.from('{}');
  const a = await cache.generateKey(NAME, ctx);
  const b = await cache.generateKey(NAME, ctx);
  t.not(a.plaintext.toString('hex'), b.plaintext.toString('hex'));
  const pt = Buffer.from(a.plaintext);
  a.plaintext.fill(0); // the caller wipes its DataKey, as the contract asks
  t.same(await cache.decrypt(NAME, a.ciphertext, ctx), pt, 'served from the primed copy, unaffected by the wipe');
  t.equal(inner.decrypts, 0);
  t.match(cache.stats(), { calls: { generate: 2, decrypt: 0 }, hits: 1 });
  t.equal(cache.kind, 'static');
  t.equal(cache.defaultKeyName, NAME);
  t.same(await cache.listKeys(''), [NAME]);
  t.match(await cache.status(), { ready: true });
  t.equal(cache.stats().calls.status, 1);
});

t.test('cacheTtlMs 0 disables caching but keeps single-flight', async (t) => {
  const inner = new Instrumented();
  inner.delayMs = 5;
  const cache = new CachingKeyProvider(inner, { cacheTtlMs: 0 });
  t.teardown(() => cache.close());
  const [k] = await wrapped(inner, 1);
  await Promise.all([cache.decrypt(NAME, k!.ct, k!.ctx), cache.decrypt(NAME, k!.ct, k!.ctx)]);
  await cache.decrypt(NAME, k!.ct, k!.ctx);
  t.equal(inner.decrypts, 2);
});

t.test('options from S3_KMS_CACHE_* variables, validated with the variable name', async (t) => {
  t.same(cacheOptionsFromEnv({}), {});
  t.same(cacheOptionsFromEnv({ S3_KMS_CACHE_TTL: '60', S3_KMS_CACHE_SIZE: '500', S3_KMS_CACHE_GRACE: '0', S3_KMS_MAX_IN_FLIGHT: '8' }),
    { cacheTtlMs: 60_000, cacheSize: 500, staleGraceMs: 0, maxInFlight: 8 });
  t.throws(() => cacheOptionsFromEnv({ S3_KMS_CACHE_SIZE: '0' }), KmsConfigError);
  t.throws(() => cacheOptionsFromEnv({ S3_KMS_CACHE_SIZE: '1.5' }), { name: 'KmsConfigError', message: /^S3_KMS_CACHE_SIZE: / });
  t.throws(() => cacheOptionsFromEnv({ S3_KMS_CACHE_TTL: '-1' }), { name: 'KmsConfigError', message: /^S3_KMS_CACHE_TTL: / });
  // Seconds that round to 0 ms turned the caches (or the grace) off without a word.
  for (const name of ['S3_KMS_CACHE_TTL', 'S3_KMS_CACHE_GRACE']) {
    t.throws(() => cacheOptionsFromEnv({ [name]: '0.0004' }), { name: 'KmsConfigError', message: new RegExp(`^${name}: '0.0004' is less than a millisecond`) }, `${name} below a millisecond`);
  }
  t.same(cacheOptionsFromEnv({ S3_KMS_CACHE_TTL: '0.001', S3_KMS_CACHE_GRACE: '0.0' }), { cacheTtlMs: 1, staleGraceMs: 0 }, 'a millisecond, and a zero written 0.0');
  t.throws(() => new CachingKeyProvider(new Instrumented(), { maxInFlight: 0 }), RangeError);
  // Number() read hex, binary, octal and exponents (`0x10` = 16 keys, `1e3` s); the config module's
  // whole numbers refuse them, so these did too little to catch a typo.
  for (const name of Object.values({ ttl: 'S3_KMS_CACHE_TTL', size: 'S3_KMS_CACHE_SIZE', grace: 'S3_KMS_CACHE_GRACE', inflight: 'S3_KMS_MAX_IN_FLIGHT', window: 'S3_KMS_BATCH_WINDOW_MS' })) {
    for (const raw of ['0x10', '0b11', '0o7', '1e3', '-0', 'Infinity', '1_000', '+5']) {
      t.throws(() => cacheOptionsFromEnv({ [name]: raw }), { name: 'KmsConfigError', message: new RegExp(`^${name}: `) }, `${name}=${raw} refused`);
    }
  }
  // The refusal says why: `1e3` is a number, it is not written in plain decimal digits.
  t.throws(() => cacheOptionsFromEnv({ S3_KMS_CACHE_TTL: '1e3' }), { message: "S3_KMS_CACHE_TTL: '1e3' must be a plain decimal number ≥ 0, like 60 or 1.5" });
  t.throws(() => cacheOptionsFromEnv({ S3_KMS_CACHE_SIZE: '0x10' }), { message: "S3_KMS_CACHE_SIZE: '0x10' must be a whole number ≥ 1 in plain decimal digits" });
  t.throws(() => cacheOptionsFromEnv({ S3_KMS_MAX_IN_FLIGHT: '0' }), { message: "S3_KMS_MAX_IN_FLIGHT: '0' must be a whole number ≥ 1 in plain decimal digits" });
  t.same(cacheOptionsFromEnv({ S3_KMS_CACHE_SIZE: ' 5 ', S3_KMS_CACHE_TTL: '1.5' }), { cacheSize: 5, cacheTtlMs: 1500 }, 'blanks around a number, a decimal fraction');
});

t.test('the KES-only settings warning names the KMS really in use', async (t) => {
  const grace = { S3_KMS_CACHE_GRACE: '5' };
  t.equal(kesOnlySettingsWarning({ ...grace, S3_KMS_SECRET_KEY: 'k:x' }, 'static'), 'S3_KMS_CACHE_GRACE applies to KES only: ignored with the built-in key (S3_KMS_SECRET_KEY)');
  // A static key without S3_KMS_SECRET_KEY is --dev's generated key file: it named S3_KMS_SECRET_KEY.
  t.equal(kesOnlySettingsWarning(grace, 'static'), 'S3_KMS_CACHE_GRACE applies to KES only: ignored with the development key file of --dev (.s3d/kms-dev.key)');
  t.equal(kesOnlySettingsWarning({ ...grace, S3_KMS_SECRET_KEY: ' ' }, 'static'), 'S3_KMS_CACHE_GRACE applies to KES only: ignored with the development key file of --dev (.s3d/kms-dev.key)', 'a blank S3_KMS_SECRET_KEY is unset');
  t.equal(kesOnlySettingsWarning(grace, null), 'S3_KMS_CACHE_GRACE applies to KES only: ignored without a KMS');
  t.equal(kesOnlySettingsWarning(grace, 'kes'), undefined);
});

// Durations measured on the monotonic clock: with the default clocks (none injected), a wall clock
// stepped back an hour (NTP at boot, a manual date change, a VM resumed) must neither keep KMS data
// keys or unsealed object keys past their TTL, nor keep a failed KES endpoint quarantined, nor keep
// a readiness verdict memoised, for the length of the step.

import t from 'tap';
import { kmsReadiness } from '../../../daemon/admin/health.js';
import { CachingKeyProvider } from '../../../daemon/kms/cache.js';
import { EndpointSet } from '../../../daemon/kms/kes-endpoints.js';
import type { KmsStatus } from '../../../daemon/kms/provider.js';
import { StaticKeyProvider } from '../../../daemon/kms/static-provider.js';
import { ObjectKeyCache } from '../../../daemon/sse/key-cache.js';
import { wallClock } from '../../helpers/stepped-clock.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const HOUR = 3_600_000;


class Counting extends StaticKeyProvider {
  decrypts = 0;
  statusCalls = 0;
  constructor() {
    super({ name: 'k', key: Buffer.alloc(32, 7) });
  }
  override async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    this.decrypts++;
    return super.decrypt(name, ciphertext, context);
  }
  override async status(): Promise<KmsStatus> {
    this.statusCalls++;
    return super.status();
  }
}

t.test('KMS data-key cache: the TTL runs out although the wall clock stepped back', async (t) => {
  const wall = wallClock(t);
  const inner = new Counting();
  const cache = new CachingKeyProvider(inner, { cacheTtlMs: 50, staleGraceMs: 0, primeOnGenerate: false });
  t.teardown(() => cache.close());
  const ctx = Buffer.from('{"b":"b/o"}');
  const dk = await inner.generateKey('k', ctx);
  await cache.decrypt('k', dk.ciphertext, ctx);
  await cache.decrypt('k', dk.ciphertext, ctx);
  t.equal(inner.decrypts, 1, 'cached within the TTL');
  wall.step(-HOUR);
  await sleep(120);
  await cache.decrypt('k', dk.ciphertext, ctx);
  t.equal(inner.decrypts, 2, 'past the TTL the KMS is asked again');
});

t.test('KMS data-key cache: a wall clock stepped forward does not expire every key at once', async (t) => {
  const wall = wallClock(t);
  const inner = new Counting();
  const cache = new CachingKeyProvider(inner, { cacheTtlMs: 60_000, staleGraceMs: 0, primeOnGenerate: false });
  t.teardown(() => cache.close());
  const ctx = Buffer.from('{"b":"b/o"}');
  const dk = await inner.generateKey('k', ctx);
  await cache.decrypt('k', dk.ciphertext, ctx);
  wall.step(HOUR);
  await cache.decrypt('k', dk.ciphertext, ctx);
  t.equal(inner.decrypts, 1, 'still cached');
});

t.test('object-key cache: the TTL runs out although the wall clock stepped back', async (t) => {
  const wall = wallClock(t);
  const c = new ObjectKeyCache({ ttlMs: 50, maxEntries: 10 });
  c.set('id', Buffer.alloc(32, 1));
  t.ok(c.get('id'), 'cached');
  wall.step(-HOUR);
  await sleep(120);
  t.equal(c.get('id'), undefined, 'expired');
});

t.test('KES endpoint quarantine ends on time although the wall clock stepped back', async (t) => {
  const wall = wallClock(t);
  const local = 'https://127.0.0.1:1';
  const remote = 'https://b:1';
  const s = new EndpointSet([remote, local], { quarantineMs: 50 });
  s.failed(local, 'ECONNREFUSED');
  t.same(s.plan(), [remote, local], 'quarantined');
  wall.step(-HOUR);
  await sleep(120);
  t.notOk(s.isQuarantined(local));
  t.same(s.plan(), [local, remote], 'probed again');
});

t.test('readiness memo ends on time although the wall clock stepped back', async (t) => {
  const wall = wallClock(t);
  const kms = new Counting();
  const ready = kmsReadiness(kms, { memoMs: 50 });
  await ready();
  t.equal(kms.statusCalls, 1);
  wall.step(-HOUR);
  await sleep(120);
  await ready();
  t.equal(kms.statusCalls, 2, 'the KMS is asked again');
});

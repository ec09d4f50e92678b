// Health handlers: live always 200; ready follows the KMS (status().ready), with one shared,
// briefly memoised check however many anonymous probes arrive; shutting down → 503.

import t from 'tap';
import { handleHealthCluster, handleHealthLive, handleHealthReady, kmsReadiness } from '../../../../daemon/admin/health.js';
import { StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import type { KmsStatus } from '../../../../daemon/kms/provider.js';

class Switchable extends StaticKeyProvider {
  calls = 0;
  state: 'up' | 'down' | 'no-default-key' | 'denied' | 'throws' = 'up';
  constructor() {
    super({ name: 'k', key: Buffer.alloc(32, 1) });
  }
  override async status(): Promise<KmsStatus> {
    this.calls++;
    await new Promise((r) => setTimeout(r, 5));
    if (this.state === 'throws') throw new Error('boom');
    const online = this.state !== 'down' && this.state !== 'denied';
    const denied = this.state === 'denied' ? { denied: 'kes: not authorized: insufficient permissions' } : {};
    return { kind: 'kes', defaultKey: 'k', ready: this.state === 'up', endpoints: [{ endpoint: 'https://a:7373', online, ...(online ? {} : { forbidden: this.state === 'denied' }) }], ...denied };
  }
}

t.test('live is always 200', async (t) => {
  t.same(await handleHealthLive(), { status: 200 });
});

t.test('ready: 200 without KMS, 503 while shutting down', async (t) => {
  t.same(await handleHealthReady(null, () => false), { status: 200 });
  t.match(await handleHealthReady(null, () => true), { status: 503, headers: { 'x-s3d-not-ready': 'shutting down' } });
});

t.test('ready: 503 while the data directory takes no writes, naming the errno', async (t) => {
  t.same(await handleHealthReady(null, () => false, async () => ({ writable: true })), { status: 200 });
  t.match(await handleHealthReady(null, () => false, async () => ({ writable: false, code: 'EROFS' })), { status: 503, headers: { 'x-s3d-not-ready': 'data directory not writable (EROFS)' } });
});

t.test('ready follows the KMS: unreachable, default key missing, access denied, status throwing', async (t) => {
  const kms = new Switchable();
  let now = 0;
  const readiness = kmsReadiness(kms, { memoMs: 1000, now: () => now });
  t.same(await handleHealthReady(readiness, () => false), { status: 200 });
  kms.state = 'down';
  t.same(await handleHealthReady(readiness, () => false), { status: 200 }, 'memoised within memoMs');
  now += 1000;
  t.match(await handleHealthReady(readiness, () => false), { status: 503, headers: { 'x-s3d-not-ready': 'KMS unreachable' } });
  kms.state = 'no-default-key';
  now += 1000;
  t.match(await handleHealthReady(readiness, () => false), { status: 503, headers: { 'x-s3d-not-ready': 'KMS default key not ready' } });
  kms.state = 'denied';
  now += 1000;
  t.match(await handleHealthReady(readiness, () => false), { status: 503, headers: { 'x-s3d-not-ready': 'KMS access denied' } }, 'KES refuses the identity: as unusable as unreachable');
  kms.state = 'throws';
  now += 1000;
  t.match(await handleHealthReady(readiness, () => false), { status: 503, headers: { 'x-s3d-not-ready': 'KMS unreachable' } });
  kms.state = 'up';
  now += 1000;
  t.same(await handleHealthReady(readiness, () => false), { status: 200 }, 'back');
});

t.test('concurrent probes share one KMS check', async (t) => {
  const kms = new Switchable();
  const readiness = kmsReadiness(kms, { memoMs: 0 });
  const results = await Promise.all(Array.from({ length: 50 }, () => handleHealthReady(readiness, () => false)));
  t.ok(results.every((r) => r.status === 200));
  t.equal(kms.calls, 1, 'one status() call for 50 probes');
  await handleHealthReady(readiness, () => false);
  t.equal(kms.calls, 2, 'memoMs 0: the next probe checks again');
});

t.test('a KeyProvider passed directly is checked on every probe', async (t) => {
  const kms = new Switchable();
  await handleHealthReady(kms, () => false);
  await handleHealthReady(kms, () => false);
  t.equal(kms.calls, 2);
});

t.test('cluster (MinIO ClusterCheckHandler): as ready; ?maintenance=true is 412, as a single-node MinIO answers (taking the only node down stops the service)', async (t) => {
  const writable = async () => ({ writable: true as const });
  t.same(await handleHealthCluster(null, () => false, writable, { maintenance: false, read: false }), { status: 200 });
  t.match(await handleHealthCluster(null, () => true, writable, { maintenance: false, read: false }), { status: 503, headers: { 'x-s3d-not-ready': 'shutting down' } });
  t.match(await handleHealthCluster(null, () => false, writable, { maintenance: true, read: false }), { status: 412 }, 'no other node serves this one\u2019s data: not safe to take down');
  t.match(await handleHealthCluster(null, () => true, writable, { maintenance: true, read: false }), { status: 412 }, 'MinIO: 412, not 503, whenever maintenance was asked');
});

t.test('cluster/read (MinIO ClusterReadCheckHandler): reads go on while the data directory takes no writes', async (t) => {
  const readOnly = async () => ({ writable: false as const, code: 'EROFS' });
  t.same(await handleHealthCluster(null, () => false, readOnly, { maintenance: false, read: true }), { status: 200 }, 'a read-only data directory still serves reads');
  t.match(await handleHealthCluster(null, () => false, readOnly, { maintenance: false, read: false }), { status: 503, headers: { 'x-s3d-not-ready': 'data directory not writable (EROFS)' } }, 'the write probe fails');
  t.match(await handleHealthCluster(null, () => true, readOnly, { maintenance: false, read: true }), { status: 503, headers: { 'x-s3d-not-ready': 'shutting down' } });
  const kms = new Switchable();
  kms.state = 'down';
  t.match(await handleHealthCluster(kms, () => false, readOnly, { maintenance: false, read: true }), { status: 503, headers: { 'x-s3d-not-ready': 'KMS unreachable' } }, 'no object opens without the KMS');
  t.match(await handleHealthCluster(null, () => false, readOnly, { maintenance: true, read: true }), { status: 412 });
});

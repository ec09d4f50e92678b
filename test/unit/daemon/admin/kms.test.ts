// KMS admin handlers: MinIO's KMSStatus / KMSKeyStatus shapes, root-only access, methods, no KMS,
// key status going past the unwrap cache, and each failure reported where MinIO reports it.

import t from 'tap';
import { handleKmsKeyStatus, handleKmsStatus, KEY_MISMATCH_MESSAGE } from '../../../../daemon/admin/kms.js';
import type { AdminKmsDeps } from '../../../../daemon/admin/kms.js';
import { CachingKeyProvider } from '../../../../daemon/kms/cache.js';
import { KmsError } from '../../../../daemon/kms/provider.js';
import type { DataKey, KmsStatus } from '../../../../daemon/kms/provider.js';
import { StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import type { RequestContext, Result } from '../../../../daemon/ops/types.js';

const ROOT = 'rootuser';
const KEY = 'my-key';

function ctx(over: Partial<{ method: string; accessKey: string; query: string; path: string }> = {}): RequestContext {
  const body = {
    declaredLength: 0,
    verifiedChecksums: () => ({}),
    digested: false,
    readAll: async () => Buffer.alloc(0),
    async *[Symbol.asyncIterator]() {},
  };
  return {
    requestId: 'REQ1',
    op: 'AdminKmsStatus',
    bucket: undefined,
    key: undefined,
    method: over.method ?? 'GET',
    rawPath: over.path ?? '/minio/admin/v3/kms/status',
    query: new URLSearchParams(over.query ?? ''),
    rawQuery: over.query ?? '',
    headers: {},
    secure: false,
    body,
    signal: new AbortController().signal,
    accessKey: over.accessKey ?? ROOT,
  };
}

const bodyOf = (r: Result): unknown => JSON.parse(String(r.body));

/** The static provider, counting calls and optionally failing or corrupting them. */
class Probe extends StaticKeyProvider {
  generates = 0;
  decrypts = 0;
  failGenerate: KmsError | undefined;
  failDecrypt: KmsError | undefined;
  corrupt = false;
  statusOverride: KmsStatus | Error | undefined;
  constructor() {
    super({ name: KEY, key: Buffer.alloc(32, 5) });
  }
  override async generateKey(name: string, context: Buffer): Promise<DataKey> {
    this.generates++;
    if (this.failGenerate) throw this.failGenerate;
    return super.generateKey(name, context);
  }
  override async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    this.decrypts++;
    if (this.failDecrypt) throw this.failDecrypt;
    const pt = await super.decrypt(name, ciphertext, context);
    if (this.corrupt) pt[0] = pt[0]! ^ 1;
    return pt;
  }
  override async status(): Promise<KmsStatus> {
    if (this.statusOverride instanceof Error) throw this.statusOverride;
    return this.statusOverride ?? super.status();
  }
}

function deps(kms: AdminKmsDeps['kms']): AdminKmsDeps {
  return { kms, rootUser: ROOT };
}

t.test('KMS status: MinIO KMSStatus shape, per-endpoint online/offline', async (t) => {
  const p = new Probe();
  const r = await handleKmsStatus(deps(p), ctx());
  t.equal(r.status, 200);
  t.equal(r.headers?.['content-type'], 'application/json');
  t.same(bodyOf(r), { name: 'MinIO builtin', 'default-key-id': KEY, endpoints: { '127.0.0.1': 'online' } });

  p.statusOverride = {
    kind: 'kes',
    defaultKey: KEY,
    ready: true,
    endpoints: [
      { endpoint: 'https://kes-1:7373', online: true, latencyMs: 1 },
      { endpoint: 'https://kes-2:7373', online: false, error: 'ECONNREFUSED' },
    ],
  };
  const kes = { ...p, kind: 'kes' as const, defaultKeyName: KEY, status: () => p.status() } as unknown as AdminKmsDeps['kms'];
  const r2 = await handleKmsStatus(deps(kes), ctx({ method: 'POST' }));
  t.same(bodyOf(r2), {
    name: 'MinIO KES',
    'default-key-id': KEY,
    endpoints: { 'https://kes-1:7373': 'online', 'https://kes-2:7373': 'offline' },
  }, 'POST (what mc sends) works too');

  p.statusOverride = new Error('boom');
  const r3 = await handleKmsStatus(deps(p), ctx());
  t.equal(r3.status, 500);
  t.match(bodyOf(r3), { Code: 'InternalError', Message: 'boom', Resource: '/minio/admin/v3/kms/status', RequestId: 'REQ1' });
});

t.test('root only: any other identity (or none) gets AccessDenied as a JSON error', async (t) => {
  const p = new Probe();
  for (const accessKey of ['someone-else', '']) {
    for (const h of [handleKmsStatus, handleKmsKeyStatus]) {
      const r = await h(deps(p), ctx({ accessKey }));
      t.equal(r.status, 403);
      t.match(bodyOf(r), { Code: 'AccessDenied', Message: /root user/ });
    }
  }
  t.equal(p.generates, 0, 'nothing reached the KMS');
});

t.test('methods: status GET/POST, key status GET; others 405 with Allow', async (t) => {
  const p = new Probe();
  const r = await handleKmsStatus(deps(p), ctx({ method: 'DELETE' }));
  t.equal(r.status, 405);
  t.equal(r.headers?.allow, 'GET, POST');
  t.match(bodyOf(r), { Code: 'MethodNotAllowed' });
  const r2 = await handleKmsKeyStatus(deps(p), ctx({ method: 'POST' }));
  t.equal(r2.status, 405);
  t.equal(r2.headers?.allow, 'GET');
});

t.test('no KMS configured: 501 NotImplemented, as MinIO', async (t) => {
  for (const h of [handleKmsStatus, handleKmsKeyStatus]) {
    const r = await h(deps(null), ctx());
    t.equal(r.status, 501);
    t.match(bodyOf(r), { Code: 'NotImplemented', Message: /KMS is not configured/ });
  }
});

t.test('key status: generate, decrypt, compare; default key or ?key-id=', async (t) => {
  const p = new Probe();
  const r = await handleKmsKeyStatus(deps(p), ctx({ path: '/minio/admin/v3/kms/key/status' }));
  t.equal(r.status, 200);
  t.same(bodyOf(r), { 'key-id': KEY }, 'success: no error members at all');
  t.equal(p.generates, 1);
  t.equal(p.decrypts, 1);

  const missing = await handleKmsKeyStatus(deps(p), ctx({ query: 'key-id=other-key' }));
  t.equal(missing.status, 200, 'KMS failures are reported in the body, status 200');
  t.same(bodyOf(missing), { 'key-id': 'other-key', 'encryption-error': "key 'other-key' does not exist" });

  p.failDecrypt = new KmsError('Unavailable', 'kes: no endpoint reachable');
  t.same(bodyOf(await handleKmsKeyStatus(deps(p), ctx())), { 'key-id': KEY, 'decryption-error': 'kes: no endpoint reachable' });
  p.failDecrypt = undefined;

  p.corrupt = true;
  t.same(bodyOf(await handleKmsKeyStatus(deps(p), ctx())), { 'key-id': KEY, 'decryption-error': KEY_MISMATCH_MESSAGE });
  p.corrupt = false;

  p.failGenerate = new KmsError('Unavailable', 'kes: down');
  t.same(bodyOf(await handleKmsKeyStatus(deps(p), ctx({ query: 'key-id=' }))), { 'key-id': KEY, 'encryption-error': 'kes: down' }, 'empty key-id = default');
});

t.test('key status: a key-id KES would refuse is 400 InvalidArgument, before any KMS call', async (t) => {
  // KES's names: 1-80 of [0-9A-Za-z_-], not starting or ending with '-', not '_' alone. Empty is
  // the default key, as on MinIO (mc admin kms key status ALIAS sends key-id=).
  const p = new Probe();
  const bad = ['k'.repeat(81), 'a/b', '../../v1/status', 'a b', '-lead', 'trail-', '_', 'clé', 'arn:aws:kms:my-key', 'a.b', 'a\u0000b'];
  for (const keyId of bad) {
    const r = await handleKmsKeyStatus(deps(p), ctx({ query: new URLSearchParams({ 'key-id': keyId }).toString(), path: '/minio/admin/v3/kms/key/status' }));
    const body = bodyOf(r) as { Code?: string; Message?: string; Resource?: string };
    t.same([r.status, body.Code, r.headers?.['content-type']], [400, 'InvalidArgument', 'application/json'], `${JSON.stringify(keyId).slice(0, 20)}: 400 InvalidArgument (JSON)`);
    t.match(body.Message, /key-id must be a key name/, 'the message says what a key name is');
  }
  t.equal(p.generates + p.decrypts, 0, 'the KMS was never asked');
  const longest = 'k'.repeat(80);
  t.same(bodyOf(await handleKmsKeyStatus(deps(p), ctx({ query: `key-id=${longest}` }))), { 'key-id': longest, 'encryption-error': `key '${longest}' does not exist` }, '80 characters: asked of the KMS');
});

t.test('key status goes past the unwrap cache: the decrypt reaches the KMS', async (t) => {
  const p = new Probe();
  const cache = new CachingKeyProvider(p); // primes on generate: a cached decrypt would never reach p
  t.teardown(() => cache.close());
  t.same(bodyOf(await handleKmsKeyStatus(deps(cache), ctx())), { 'key-id': KEY });
  t.equal(p.generates, 1);
  t.equal(p.decrypts, 1, 'decrypt answered by the KMS, not the cache');
  t.equal(cache.stats().size, 0, 'the throw-away data key was not cached');
});

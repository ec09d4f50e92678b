// The built-in single-key provider: S3_KMS_SECRET_KEY parsing, sealing in the KES layout, the
// kes-wire.json vectors (incl. legacy layouts), MinIO's key-not-found rule for other names.

import t from 'tap';
import { parseSecretKey, StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import { openCiphertext } from '../../../../daemon/kms/ciphertext.js';
import { KmsConfigError } from '../../../../daemon/kms/provider.js';
import { wire } from '../../../fixtures/kes-server/wire.js';

const KEY_B64 = wire.master_key.bytes_base64;

t.test('parseSecretKey accepts <name>:<base64 32 bytes>', async (t) => {
  const k = parseSecretKey(`my-minio-key:${KEY_B64}`, 'S3_KMS_SECRET_KEY');
  t.equal(k.name, 'my-minio-key');
  t.equal(k.key.toString('hex'), wire.master_key.bytes_hex);
  t.equal(parseSecretKey(`  a_b:${KEY_B64}\n`).name, 'a_b', 'surrounding whitespace (e.g. from a file) is ignored');
});

t.test('parseSecretKey errors name the variable and never echo the key', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['no-colon-here', /expected <key-name>:<base64/],
    [`:${KEY_B64}`, /key name \(before the ":", 0 characters\) is empty/],
    // Name and key swapped: the key (base64, with + / =) is the "name", and must not be echoed.
    [`${KEY_B64}:my-key`, /key name .* is empty, too long or contains invalid characters/],
    [`bad name:${KEY_B64}`, /invalid characters/],
    ['k:not base64!', /not standard base64/],
    [`k:${Buffer.alloc(16).toString('base64')}`, /invalid key length 16/],
    [`k:${Buffer.alloc(33).toString('base64')}`, /invalid key length 33/],
  ];
  for (const [value, msg] of cases) {
    const err = t.throws(() => parseSecretKey(value, 'MY_VAR'), KmsConfigError) as unknown as KmsConfigError;
    t.equal(err.variable, 'MY_VAR', value);
    t.match(err.message, /^MY_VAR: /);
    t.match(err.message, msg);
    t.notMatch(err.message, KEY_B64.slice(0, 10), 'key not echoed');
  }
});

t.test('generate → 76-byte KES v3 ciphertext that decrypts only with its context', async (t) => {
  const p = new StaticKeyProvider(parseSecretKey(`my-minio-key:${KEY_B64}`));
  const ctx = Buffer.from('{"bucket":"bucket/object"}');
  const dk = await p.generateKey('my-minio-key', ctx);
  t.equal(dk.plaintext.length, 32);
  t.equal(dk.ciphertext.length, 76);
  t.same(await p.decrypt('my-minio-key', dk.ciphertext, ctx), dk.plaintext);
  // Independent check: the layout is exactly KES's (the real server's master key opens it).
  t.same(openCiphertext(Buffer.from(wire.master_key.bytes_hex, 'hex'), dk.ciphertext, ctx), dk.plaintext);
  await t.rejects(p.decrypt('my-minio-key', dk.ciphertext, Buffer.from('{}')), { code: 'NotAuthentic' });
  const dk2 = await p.generateKey('my-minio-key', ctx);
  t.not(dk2.plaintext.toString('hex'), dk.plaintext.toString('hex'), 'fresh DEK per call');
});

t.test('decrypts every deterministic vector and every server-made ciphertext (same master key)', async (t) => {
  const p = new StaticKeyProvider(parseSecretKey(`vector-key:${KEY_B64}`));
  for (const v of wire.deterministic_vectors) {
    const ctx = v.context_id ? Buffer.from(wire.contexts[v.context_id]!.bytes_hex, 'hex') : Buffer.alloc(0);
    t.equal((await p.decrypt('vector-key', Buffer.from(v.ciphertext_hex, 'hex'), ctx)).toString('hex'), v.plaintext_hex, v.id);
  }
  const gen = wire.exchanges.find((e) => e.id === 'gen_ctx_unicode')!;
  const ctx = Buffer.from(wire.contexts.c_unicode!.bytes_hex, 'hex');
  t.equal(
    (await p.decrypt('vector-key', Buffer.from(gen.response_decoded!.ciphertext_hex!, 'hex'), ctx)).toString('hex'),
    gen.response_decoded!.plaintext_hex,
  );
});

t.test('other key names: KeyNotFound (MinIO kms:KeyNotFound); own name: KeyExists on create', async (t) => {
  const p = new StaticKeyProvider(parseSecretKey(`my-key:${KEY_B64}`));
  t.equal(p.kind, 'static');
  t.equal(p.defaultKeyName, 'my-key');
  await t.rejects(p.generateKey('other', Buffer.alloc(0)), { code: 'KeyNotFound', status: 404 });
  await t.rejects(p.decrypt('other', Buffer.alloc(76), Buffer.alloc(0)), { code: 'KeyNotFound' });
  await t.rejects(p.describeKey('other'), { code: 'KeyNotFound' });
  await t.rejects(p.createKey('other'), { code: 'KeyNotFound' });
  await t.rejects(p.createKey('my-key'), { code: 'KeyExists' });
  t.same(await p.describeKey('my-key'), { name: 'my-key', algorithm: 'AES256' });
  t.same(await p.listKeys(''), ['my-key']);
  t.same(await p.listKeys('*'), ['my-key']);
  t.same(await p.listKeys('my'), ['my-key']);
  t.same(await p.listKeys('zz'), []);
  t.match(await p.status(), { kind: 'static', defaultKey: 'my-key', ready: true, endpoints: [{ online: true }] });
});

t.test('the provider keeps its own key copy and wipes it on close', async (t) => {
  const secret = parseSecretKey(`k:${KEY_B64}`);
  const p = new StaticKeyProvider(secret);
  secret.key.fill(0); // the caller wiping its copy must not break the provider
  const dk = await p.generateKey('k', Buffer.alloc(0));
  t.same(openCiphertext(Buffer.from(wire.master_key.bytes_hex, 'hex'), dk.ciphertext, Buffer.alloc(0)), dk.plaintext);
  await p.close();
  await t.rejects(p.decrypt('k', dk.ciphertext, Buffer.alloc(0)), { code: 'Unavailable' });
  t.match(await p.status(), { ready: false });
});

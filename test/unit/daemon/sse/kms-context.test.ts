// The KMS context an SSE-S3/SSE-KMS data key is bound to, through createObjectEncryption and
// unsealForRead with the real built-in KMS: the bucket entry is the bucket's own entry whatever the
// bucket is called, and records written before 2026-12-04 with the two context mistakes fixed
// then (a bucket named `constructor` without its entry, a lone surrogate stored as Go's `\ufffd`
// escape) still open.

import t from 'tap';
import { canonicalContext } from '../../../../daemon/kms/context.js';
import { KmsError } from '../../../../daemon/kms/provider.js';
import { StaticKeyProvider } from '../../../../daemon/kms/static-provider.js';
import { createObjectEncryption, unsealForRead } from '../../../../daemon/sse/object-encryption.js';

/** The real built-in KMS, recording the contexts it is asked to bind; `rewrite` replays an old daemon's context. */
class RecordingKms extends StaticKeyProvider {
  contexts: string[] = [];
  rewrite: ((context: Buffer) => Buffer) | undefined;
  /** Unwraps under this context fail as an unreachable KMS does. */
  downFor: string | undefined;
  constructor() {
    super({ name: 'test-key', key: Buffer.alloc(32, 7) });
  }
  override async generateKey(name: string, context: Buffer): Promise<{ plaintext: Buffer; ciphertext: Buffer }> {
    const c = this.rewrite ? this.rewrite(context) : context;
    this.contexts.push(c.toString('utf8'));
    return super.generateKey(name, c);
  }
  override async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    if (context.toString('utf8') === this.downFor) throw new KmsError('Unavailable', 'connect ECONNREFUSED');
    return super.decrypt(name, ciphertext, context);
  }
}

t.test('the bucket entry is bound for every bucket name, `constructor` included', async (t) => {
  const kms = new RecordingKms();
  const env = { kms };
  for (const bucket of ['plain', 'constructor']) {
    const enc = await createObjectEncryption(env, { kind: 'SSE-S3' }, bucket, 'obj');
    t.equal(kms.contexts.at(-1), `{"${bucket}":"${bucket}/obj"}`, `${bucket}: the data key is bound to bucket/object`);
    const k = await unsealForRead(env, enc.record, {}, bucket, 'obj');
    t.ok(k.equals(enc.objectKey), `${bucket}: and opens`);
  }
  const kmsObj = await createObjectEncryption(env, { kind: 'SSE-KMS', keyId: 'test-key', context: { app: 'x' } }, 'constructor', 'o');
  t.equal(kms.contexts.at(-1), '{"app":"x","constructor":"constructor/o"}', 'SSE-KMS in `constructor`: the client context plus the bucket entry');
  t.ok((await unsealForRead(env, kmsObj.record, {}, 'constructor', 'o')).equals(kmsObj.objectKey), '… and opens');
});

t.test('a `constructor` record written without the bucket entry (before the fix) still opens; other buckets get no such fallback', async (t) => {
  const kms = new RecordingKms();
  const env = { kms };
  // What the old daemon asked the KMS for: the client context only.
  kms.rewrite = () => canonicalContext({});
  const old = await createObjectEncryption(env, { kind: 'SSE-S3' }, 'constructor', 'obj');
  t.equal(kms.contexts.at(-1), '{}', 'the old context');
  kms.rewrite = undefined;
  t.ok((await unsealForRead(env, old.record, {}, 'constructor', 'obj')).equals(old.objectKey), 'opens with the old context');
  kms.rewrite = () => canonicalContext({});
  const elsewhere = await createObjectEncryption(env, { kind: 'SSE-S3' }, 'plain', 'obj');
  kms.rewrite = undefined;
  await t.rejects(unsealForRead(env, elsewhere.record, {}, 'plain', 'obj'), { code: 'InternalError' }, 'an unbound data key in another bucket is refused, as a moved record is');
});

t.test('a `constructor` record written without the bucket entry, the KMS down when its old context is tried: 503, not 500', async (t) => {
  const kms = new RecordingKms();
  const env = { kms };
  kms.rewrite = () => canonicalContext({});
  const old = await createObjectEncryption(env, { kind: 'SSE-S3' }, 'constructor', 'obj');
  kms.rewrite = undefined;
  // The first unwrap (the current context) is answered NotAuthentic; the fallback meets the outage.
  kms.downFor = '{}';
  await t.rejects(unsealForRead(env, old.record, {}, 'constructor', 'obj'), { code: 'KMSUnavailable' }, 'the outage, which clients retry (was the first answer: 500 InternalError)');
  kms.downFor = undefined;
  t.ok((await unsealForRead(env, old.record, {}, 'constructor', 'obj')).equals(old.objectKey), 'and opens once the KMS is back');
});

t.test('a context with a lone surrogate, stored before the fix, still opens', async (t) => {
  const kms = new RecordingKms();
  const env = { kms };
  // createObjectEncryption does not validate (parseEncryptionRequest does, since the fix): the old
  // daemon handed it the parsed header as is.
  const value = 'a\ud800b\\ufffd\ufffd';
  const enc = await createObjectEncryption(env, { kind: 'SSE-KMS', keyId: 'test-key', context: { k: value } }, 'bkt', 'obj');
  t.equal(kms.contexts.at(-1), '{"bkt":"bkt/obj","k":"a\\ufffdb\\\\ufffd\ufffd"}', 'bound with Go\'s escape for the surrogate, a backslash escaped, U+FFFD raw');
  t.equal(Buffer.from(enc.record.kmsContext!, 'base64').toString('utf8'), '{"k":"a\\ufffdb\\\\ufffd\ufffd"}', 'stored so');
  const k = await unsealForRead(env, enc.record, {}, 'bkt', 'obj');
  t.ok(k.equals(enc.objectKey), 'opens (it was 500 InternalError on every read)');
});

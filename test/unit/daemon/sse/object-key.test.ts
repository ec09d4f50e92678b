// Known-answer tests for MinIO's object-key scheme (test/vectors/objectkey.json) and Go path.Clean.
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  SEAL_ALGORITHM,
  SecretKeyMismatchError,
  canonicalObjectPath,
  cleanPath,
  derivePartKey,
  etagKey,
  generateObjectKey,
  metadataSubkey,
  sealETag,
  sealObjectKey,
  sealingKey,
  unsealETag,
  unsealObjectKey,
  type SseDomain,
} from '../../../../daemon/sse/object-key.js';
import { openBuffer, sealBuffer } from '../../../../workers/format/index.js';
import { projectPath } from '../../../helpers/root.js';

interface SealVector {
  domain: SseDomain;
  bucket: string;
  object: string;
  canonical_path: string;
  sealing_key_hex: string;
  dare_nonce_hex: string;
  sealed_key_hex: string;
  sealed_key_base64: string;
  iv_base64: string;
  metadata: Record<string, string>;
}
interface PartVector {
  part_number: number;
  part_key_hex: string;
  nonce_input: string;
  dare_nonce_hex: string;
  plaintext_size: number;
  ciphertext_size: number;
  ciphertext_sha256: string;
  ciphertext_hex?: string;
}
interface ObjectKeyVectors {
  seal_algorithm: string;
  external_key_hex: string;
  generation_random_hex: string;
  object_key_hex: string;
  iv_hex: string;
  seals: SealVector[];
  etag: Record<string, string>;
  upload_id: string;
  parts: PartVector[];
  metadata_subkeys: Record<string, string>;
}

const vec = JSON.parse(readFileSync(projectPath('test/vectors/objectkey.json'), 'utf8')) as ObjectKeyVectors;
const hex = (s: string) => Buffer.from(s, 'hex');
const ek = hex(vec.external_key_hex);
const oek = hex(vec.object_key_hex);
const iv = hex(vec.iv_hex);
const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
const sealedKeyName: Record<SseDomain, string> = {
  'SSE-S3': 'X-Minio-Internal-Server-Side-Encryption-S3-Sealed-Key',
  'SSE-KMS': 'X-Minio-Internal-Server-Side-Encryption-Kms-Sealed-Key',
  'SSE-C': 'X-Minio-Internal-Server-Side-Encryption-Sealed-Key',
};

t.test('object key generation', async (t) => {
  t.equal(SEAL_ALGORITHM, vec.seal_algorithm);
  t.equal(generateObjectKey(ek, hex(vec.generation_random_hex)).toString('hex'), vec.object_key_hex);
  t.equal(generateObjectKey(ek).length, 32);
  t.not(generateObjectKey(ek).toString('hex'), generateObjectKey(ek).toString('hex'), 'fresh random by default');
  t.throws(() => generateObjectKey(ek.subarray(1)), RangeError);
});

t.test('every seal vector: sealing key, sealed key, metadata, unseal', async (t) => {
  t.equal(vec.seals.length, 5);
  for (const s of vec.seals) {
    const name = `${s.domain} ${s.bucket}/${s.object}`;
    t.equal(canonicalObjectPath(s.bucket, s.object), s.canonical_path, `${name} canonical path`);
    t.equal(sealingKey(ek, iv, s.domain, s.bucket, s.object).toString('hex'), s.sealing_key_hex, `${name} sealing key`);
    const sealed = sealObjectKey(oek, ek, s.domain, s.bucket, s.object, iv, hex(s.dare_nonce_hex));
    t.equal(sealed.sealedKey.toString('hex'), s.sealed_key_hex, `${name} sealed key`);
    t.equal(sealed.sealedKey.toString('base64'), s.sealed_key_base64);
    t.equal(sealed.iv.toString('base64'), s.iv_base64);
    t.equal(sealed.algorithm, 'DAREv2-HMAC-SHA256');
    t.same(
      s.metadata,
      {
        'X-Minio-Internal-Server-Side-Encryption-Iv': sealed.iv.toString('base64'),
        'X-Minio-Internal-Server-Side-Encryption-Seal-Algorithm': sealed.algorithm,
        [sealedKeyName[s.domain]]: sealed.sealedKey.toString('base64'),
      },
      `${name} metadata`,
    );
    t.equal(unsealObjectKey(hex(s.sealed_key_hex), ek, s.domain, s.bucket, s.object, iv).toString('hex'), vec.object_key_hex, `${name} unseals`);
  }
});

t.test('unseal refuses any mismatch', async (t) => {
  const s = vec.seals[0]!;
  const sealed = hex(s.sealed_key_hex);
  const cases: [string, () => unknown][] = [
    ['other external key', () => unsealObjectKey(sealed, Buffer.alloc(32, 1), 'SSE-S3', 'bucket', 'object', iv)],
    ['other domain', () => unsealObjectKey(sealed, ek, 'SSE-KMS', 'bucket', 'object', iv)],
    ['other object', () => unsealObjectKey(sealed, ek, 'SSE-S3', 'bucket', 'object2', iv)],
    ['other bucket', () => unsealObjectKey(sealed, ek, 'SSE-S3', 'bucket2', 'object', iv)],
    ['other IV', () => unsealObjectKey(sealed, ek, 'SSE-S3', 'bucket', 'object', Buffer.alloc(32))],
    ['flipped byte', () => unsealObjectKey(Buffer.from(sealed).fill(0xff, 40, 41), ek, 'SSE-S3', 'bucket', 'object', iv)],
    ['63 bytes', () => unsealObjectKey(sealed.subarray(0, 63), ek, 'SSE-S3', 'bucket', 'object', iv)],
  ];
  for (const [name, fn] of cases) t.throws(fn, SecretKeyMismatchError, name);
  // A sealed 31-byte "key" is authentic DARE but not an object key.
  const kek = sealingKey(ek, iv, 'SSE-S3', 'bucket', 'object');
  const short = Buffer.concat([sealBuffer(kek, Buffer.alloc(31)), Buffer.alloc(1)]);
  t.throws(() => unsealObjectKey(short, ek, 'SSE-S3', 'bucket', 'object', iv), SecretKeyMismatchError, '64 bytes that are not a sealed 32-byte key');
  // Paths that clean to the same string are the same binding.
  const v3 = vec.seals[3]!;
  t.equal(unsealObjectKey(hex(v3.sealed_key_hex), ek, 'SSE-S3', 'bucket', 'dir/sub', iv).toString('hex'), vec.object_key_hex);
  const rnd = sealObjectKey(oek, ek, 'SSE-C', 'b', 'o');
  t.equal(rnd.sealedKey.length, 64);
  t.equal(unsealObjectKey(rnd.sealedKey, ek, 'SSE-C', 'b', 'o', rnd.iv).toString('hex'), vec.object_key_hex, 'random IV and nonce round trip');
});

t.test('ETag sealing', async (t) => {
  const e = vec.etag;
  const md5 = createHash('md5').update(pattern(16)).digest();
  t.equal(md5.toString('hex'), e.content_md5_hex);
  t.equal(etagKey(oek).toString('hex'), e.etag_key_hex);
  const sealed = sealETag(oek, md5, hex(e.dare_nonce_hex!));
  t.equal(sealed.toString('hex'), e.sealed_etag_hex);
  t.equal(sealed.length, 48);
  t.equal(unsealETag(oek, sealed).toString('hex'), e.client_etag_sse_s3);
  t.equal(sealed.subarray(-16).toString('hex'), e.client_etag_sse_c_or_kms, 'SSE-C/KMS clients see the tag bytes');
  t.throws(() => unsealETag(Buffer.alloc(32, 3), sealed), { code: 'NotAuthentic' });
  t.equal(sealETag(oek, Buffer.alloc(0)).length, 0, 'empty ETag stays empty');
});

t.test('part keys and part streams', async (t) => {
  t.equal(vec.parts.length, 3);
  for (const p of vec.parts) {
    const key = derivePartKey(oek, p.part_number);
    t.equal(key.toString('hex'), p.part_key_hex, `part ${p.part_number} key`);
    // MinIO's deterministic per-part DARE random value (we draw random ones; readers do not care).
    t.equal(p.nonce_input, `${vec.upload_id}${p.part_number}`);
    const nonce = createHash('sha256').update(p.nonce_input).digest().subarray(0, 12);
    t.equal(nonce.toString('hex'), p.dare_nonce_hex);
    const ct = sealBuffer(key, pattern(p.plaintext_size), nonce);
    t.equal(ct.length, p.ciphertext_size);
    t.equal(createHash('sha256').update(ct).digest('hex'), p.ciphertext_sha256, `part ${p.part_number} ciphertext`);
    if (p.ciphertext_hex !== undefined) {
      t.equal(ct.toString('hex'), p.ciphertext_hex);
      t.ok(openBuffer(key, hex(p.ciphertext_hex)).equals(pattern(p.plaintext_size)));
    }
  }
  t.throws(() => derivePartKey(oek, -1), RangeError);
  t.throws(() => derivePartKey(oek, 2 ** 32), RangeError);
});

t.test('metadata subkeys', async (t) => {
  t.equal(metadataSubkey(oek, 'object-checksum').toString('hex'), vec.metadata_subkeys['object-checksum']);
  t.equal(metadataSubkey(oek, 'compression-index').toString('hex'), vec.metadata_subkeys['compression-index']);
});

t.test('Go path.Clean and path.Join', async (t) => {
  const cases: [string, string][] = [
    ['', '.'], ['.', '.'], ['/', '/'], ['//', '/'], ['a/b/', 'a/b'], ['a//b', 'a/b'], ['a/./b', 'a/b'], ['a/../b', 'b'],
    ['a/b/../../..', '..'], ['../a', '../a'], ['/../a', '/a'], ['/a/b/..', '/a'], ['a/..', '.'], ['abc/./../def', 'def'],
    ['a/b/c/../../d/', 'a/d'], ['./a', 'a'], ['...', '...'], ['a/.../b', 'a/.../b'],
  ];
  for (const [input, want] of cases) t.equal(cleanPath(input), want, JSON.stringify(input));
  t.equal(canonicalObjectPath('bucket', 'dir/sub/'), 'bucket/dir/sub');
  t.equal(canonicalObjectPath('bucket', 'a//b/./c'), 'bucket/a/b/c');
  t.equal(canonicalObjectPath('bucket', '../x'), 'x');
  t.equal(canonicalObjectPath('bucket', ''), 'bucket');
  t.equal(canonicalObjectPath('', ''), '');
  t.equal(canonicalObjectPath('bucket', '/object'), 'bucket/object');
});

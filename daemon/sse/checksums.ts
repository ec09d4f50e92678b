// Checksums of encrypted objects as they are stored: checksums of the plaintext, so their values
// are sealed as MinIO seals them (DARE 2.0 under HMAC-SHA256(object key, "object-checksum"); a
// part's under its part key, which binds it to its part number). The algorithms and their types
// stay in clear. Unencrypted objects keep plain checksums, and so do the records of encrypted
// objects an earlier version wrote: those are served as they are.

import { S3Error } from '../errors.js';
import { DareError } from '../../workers/format/index.js';
import type { ChecksumFields, PartRecord, SealedChecksums } from '../meta/records.js';
import { derivePartKey, sealMetadata, unsealMetadata } from './object-key.js';

export type Checksums = Record<string, string>;

const LABEL = 'object-checksum';

/** A stored checksum's type: a multipart object's COMPOSITE value ends in "-N" (its part count). */
export function checksumType(value: string): 'COMPOSITE' | 'FULL_OBJECT' {
  return /-\d+$/.test(value) ? 'COMPOSITE' : 'FULL_OBJECT';
}

/**
 * The record fields that keep `sums`: sealed under `key` (an encrypted object's key; a part's part
 * key), in clear without one. No fields when there is no checksum.
 */
export function checksumFields(sums: Readonly<Checksums> | undefined, key: Uint8Array | undefined): ChecksumFields {
  if (sums === undefined || Object.keys(sums).length === 0) return {};
  if (key === undefined) return { checksums: { ...sums } };
  const types: Record<string, 'COMPOSITE' | 'FULL_OBJECT'> = {};
  for (const [alg, value] of Object.entries(sums)) types[alg] = checksumType(value);
  const sealedChecksums: SealedChecksums = { types, sealed: sealMetadata(key, LABEL, Buffer.from(JSON.stringify(sums), 'utf8')) };
  return { sealedChecksums };
}

/** The fields of a part's checksums: sealed under its part key when the upload is encrypted. */
export function partChecksumFields(sums: Readonly<Checksums> | undefined, objectKey: Uint8Array | undefined, partNumber: number): ChecksumFields {
  if (objectKey === undefined || sums === undefined || Object.keys(sums).length === 0) return checksumFields(sums, undefined);
  const partKey = derivePartKey(objectKey, partNumber);
  try {
    return checksumFields(sums, partKey);
  } finally {
    partKey.fill(0);
  }
}

/** A part of an encrypted object or upload whose checksums an earlier version kept in clear, with them sealed now. */
export function sealedPart(p: PartRecord, objectKey: Uint8Array): PartRecord {
  if (p.checksums === undefined) return p;
  const { checksums, ...rest } = p;
  return { ...rest, ...partChecksumFields(checksums, objectKey, p.n) };
}

/**
 * A record's checksums in clear (undefined: none): plain ones as stored, sealed ones opened with
 * `key` (the object key; a part's part key). One that does not open is a tampered record.
 */
export function openChecksums(rec: ChecksumFields, key: Uint8Array | undefined): Checksums | undefined {
  const s = rec.sealedChecksums;
  if (s === undefined) return rec.checksums;
  const tampered = (): S3Error => new S3Error('XMinioObjectTampered', 'The object\'s checksums do not unseal: the object record was modified or moved.');
  // No key (a record without encryption: s3d never seals there), a malformed value, or an empty
  // one (it opens to nothing without being authenticated): never what was sealed.
  if (key === undefined || typeof s.types !== 'object' || s.types === null || !(s.sealed instanceof Uint8Array) || s.sealed.length === 0) throw tampered();
  let sums: unknown;
  try {
    sums = JSON.parse(unsealMetadata(key, LABEL, s.sealed).toString('utf8'));
  } catch (err) {
    if (err instanceof DareError || err instanceof SyntaxError) throw tampered();
    throw err;
  }
  // The algorithms in clear (what listings show) must be those sealed.
  const algs = typeof sums === 'object' && sums !== null && !Array.isArray(sums) ? Object.entries(sums as Record<string, unknown>) : undefined;
  const types = Object.keys(s.types);
  if (algs === undefined || algs.length !== types.length || algs.some(([alg, v]) => typeof v !== 'string' || s.types[alg] !== checksumType(v))) throw tampered();
  return sums as Checksums;
}

/** A part's checksums in clear (see openChecksums); `objectKey`: the upload's (the object's) key. */
export function openPartChecksums(part: ChecksumFields & { readonly n: number }, objectKey: Uint8Array | undefined): Checksums | undefined {
  if (part.sealedChecksums === undefined) return part.checksums;
  if (objectKey === undefined) return openChecksums(part, undefined);
  const partKey = derivePartKey(objectKey, part.n);
  try {
    return openChecksums(part, partKey);
  } finally {
    partKey.fill(0);
  }
}

/** Algorithm → type of a record's checksums, without any key (what listings show). */
export function checksumTypes(rec: ChecksumFields): Readonly<Record<string, 'COMPOSITE' | 'FULL_OBJECT'>> {
  if (rec.sealedChecksums !== undefined) return rec.sealedChecksums.types ?? {};
  const out: Record<string, 'COMPOSITE' | 'FULL_OBJECT'> = {};
  for (const [alg, value] of Object.entries(rec.checksums ?? {})) out[alg] = checksumType(value);
  return out;
}

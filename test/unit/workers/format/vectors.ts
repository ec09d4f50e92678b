// Loads the DARE known-answer vectors (test/vectors/dare-v2.json) and the shared plaintext rule.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { projectPath } from '../../../helpers/root.js';

export interface DarePackageVector {
  seq: number;
  ciphertext_offset: number;
  package_length: number;
  payload_length: number;
  final: boolean;
  header_hex: string;
  aead_nonce_hex: string;
  tag_hex: string;
}

export interface DareVector {
  name: string;
  cipher_suite: 'AES_256_GCM' | 'CHACHA20_POLY1305';
  cipher_suite_byte: 0 | 1;
  plaintext_size: number;
  plaintext_sha256: string;
  ciphertext_size: number;
  ciphertext_sha256: string;
  ciphertext_hex?: string;
  packages: DarePackageVector[];
}

export interface RangeVector {
  object_plaintext_size: number;
  range_offset: number;
  range_length: number;
  encrypted_offset: number;
  encrypted_length: number;
  skip_plaintext_bytes: number;
  first_sequence_number: number;
  expected_plaintext_sha256: string;
}

export interface DareVectorFile {
  key_hex: string;
  configured_nonce_hex: string;
  vectors: DareVector[];
  single_part_ranges: RangeVector[];
}

const path = projectPath('test/vectors/dare-v2.json');
export const dareVectors: DareVectorFile = JSON.parse(readFileSync(path, 'utf8')) as DareVectorFile;
export const vectorKey = Buffer.from(dareVectors.key_hex, 'hex');
export const vectorRandom = Buffer.from(dareVectors.configured_nonce_hex, 'hex');

/** plaintext[i] = i mod 251 (the vectors' rule). */
export function patternPlaintext(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

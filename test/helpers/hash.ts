// Digests the tests compare against: ETags (MD5 hex), Content-MD5 and SSE-C key MD5s (base64),
// x-amz-content-sha256 (SHA-256 hex) and x-amz-checksum-crc32 (base64).

import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

export function md5Base64(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The x-amz-checksum-crc32 value: the big-endian CRC32, base64. */
export function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
}

// Flexible checksums as the handlers share them: the algorithm a request names, checksums computed
// over data as it passes, their XML elements, and the type a stored value has. (Checking a request
// body against its x-amz-checksum-* headers is the payload decoder's, auth/payload.ts.)
import { S3Error } from '../errors.js';
import { checksumType } from '../sse/checksums.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type Hasher } from '../auth/payload.js';
import { throughKeepingLend } from './object-data.js';
import type { XmlObject } from './xml.js';

/** Algorithms S3 takes and s3d does not compute. */
export const S3_ONLY_ALGORITHMS: ReadonlySet<string> = new Set(['SHA512', 'MD5', 'XXHASH3', 'XXHASH64', 'XXHASH128']);

/** `x-amz-checksum-algorithm`'s value, refused as S3 refuses an unknown one. */
export function parseChecksumAlgorithm(raw: string): ChecksumAlgorithm {
  const name = raw.trim().toUpperCase();
  const alg = CHECKSUM_ALGORITHMS.find((a) => a === name);
  // One S3 computes and s3d does not is a missing feature (501, as the value headers get), not a bad request.
  if (alg === undefined && S3_ONLY_ALGORITHMS.has(name)) throw new S3Error('NotImplemented', `The ${name} checksum algorithm is not implemented: s3d computes ${CHECKSUM_ALGORITHMS.join(', ')}.`);
  if (alg === undefined) throw new S3Error('InvalidRequest', `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.join(', ')}]`);
  return alg;
}

export { checksumType };

/**
 * S3's default checksum: an object written without one (PutObject, a POST form, a CopyObject of a
 * source that has none) gets a CRC64NVME of its bytes, type FULL_OBJECT, kept and shown as a
 * checksum the client sent would be (S3's Checksum, PutObject and CopyObjectResult
 * ChecksumCRC64NVME: "or if the object was uploaded without a checksum (and Amazon S3 added the
 * default checksum, CRC64NVME …)"). A multipart upload created without an algorithm gets it only
 * in answers: UploadPart's, and CompleteMultipartUpload's FULL_OBJECT value combined from the
 * parts'; neither part nor object shows it afterwards (versitygw #1547; PartRecord.defaultChecksum).
 */
export const DEFAULT_CHECKSUM: ChecksumAlgorithm = 'CRC64NVME';

/** x-amz-checksum-* headers, with x-amz-checksum-type when `withType` (an object's, not a part's). */
export function checksumHeaders(checksums: Readonly<Record<string, string>> | undefined, withType = false): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums ?? {})) {
    h[`x-amz-checksum-${alg.toLowerCase()}`] = value;
    if (withType) h['x-amz-checksum-type'] = checksumType(value);
  }
  return h;
}

/** Checksum<ALG> elements (CopyObjectResult, CopyPartResult, ListParts, CompleteMultipartUploadResult), with ChecksumType when `withType`. */
export function checksumElements(checksums: Readonly<Record<string, string>> | undefined, withType = false): XmlObject {
  const out: XmlObject = {};
  for (const [alg, v] of Object.entries(checksums ?? {})) {
    out[`Checksum${alg}`] = v;
    if (withType) out.ChecksumType = checksumType(v);
  }
  return out;
}

/** `source` with every chunk also fed to `hasher` (a request body keeps its lent mode). */
export function hashing(source: AsyncIterable<Buffer>, hasher: Hasher): AsyncIterable<Buffer> {
  return throughKeepingLend(source, async function* (chunks) {
    for await (const chunk of chunks) {
      hasher.update(chunk);
      yield chunk;
    }
  });
}

export async function digestBase64(hasher: Hasher): Promise<string> {
  const d = await hasher.digest();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64');
}

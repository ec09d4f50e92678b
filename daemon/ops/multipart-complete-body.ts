// The CompleteMultipartUpload document read into the parts it lists (multipart-complete.ts
// completes them): its size bounded before the parse, the parse off the event loop, each Part's
// number, ETag and checksum elements checked as S3 checks them.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { CHECKSUM_ALGORITHMS, isChecksumValue, type ChecksumAlgorithm } from '../auth/payload.js';
import { S3Error } from '../errors.js';
import { S3_ONLY_ALGORITHMS } from './checksums.js';
import { PARTS_PER_TURN } from './multipart-checksums.js';
import { parseXmlOffLoop } from './xml-thread.js';

/** How many parts an upload may have (S3's limit). */
export const MAX_PARTS = 10000;

export interface RequestedPart {
  n: number;
  etag: string;
  /** Checksum<ALG> elements of the Part: each must be the stored part's. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /**
   * A Checksum<ALG> of an algorithm S3 has and s3d does not compute (ChecksumSHA512, …): no
   * upload here has it (CreateMultipartUpload refuses it), so the part cannot match, as on S3.
   */
  foreign?: string;
}

const TOO_MANY_PARTS = { element: 'Part', max: MAX_PARTS, message: `Too many parts: at most ${MAX_PARTS}.` };

function tooManyParts(): S3Error {
  return new S3Error('MalformedXML', TOO_MANY_PARTS.message);
}

/**
 * The elements and attributes a CompleteMultipartUpload may hold: its root (with an xmlns) and
 * MAX_PARTS Parts, each with every element S3's CompletedPart has (PartNumber, ETag, five
 * checksums). Past it, parseXml refuses the document before the parse.
 */
const MAX_COMPLETE_MARKUP = 2 + MAX_PARTS * 8;

// A Part's checksum elements, named once: spelled out for each of 10,000 Parts, the names took as
// long as the rest of reading the parts.
const S3_ONLY_ELEMENTS = [...S3_ONLY_ALGORITHMS].map((alg) => `Checksum${alg}`);
const CHECKSUM_ELEMENTS = CHECKSUM_ALGORITHMS.map((alg) => [alg, `Checksum${alg}`] as const);

export async function parseCompleteBody(body: Buffer): Promise<RequestedPart[]> {
  // No body at all (boto3's complete_multipart_upload without MultipartUpload): S3's words.
  if (body.length === 0) throw new S3Error('InvalidRequest', 'You must specify at least one part');
  // Counted before the parse, where the parse runs (parseXml's `most`): the 4 MiB read can list
  // ~80,000 Parts, whose parse held the event loop (every other request) for ~1 s and ~70 MiB of
  // heap each; the scan stops at MAX_PARTS + 1. 10,000 Parts took ~100-280 ms to parse: on the
  // parsing thread, not the event loop's.
  const doc = await parseXmlOffLoop(body, { maxMarkup: MAX_COMPLETE_MARKUP, most: TOO_MANY_PARTS });
  const root = doc.CompleteMultipartUpload as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') throw new S3Error('MalformedXML');
  const parts = root.Part as unknown[] | undefined;
  if (!Array.isArray(parts) || parts.length === 0) throw new S3Error('MalformedXML', 'The CompleteMultipartUpload document must list at least one Part.');
  if (parts.length > MAX_PARTS) throw tooManyParts();
  // Checked PARTS_PER_TURN to a turn of the event loop, in order (the first fault is the answer):
  // 10,000 in one go held it ~20-25 ms, in the turn that also took the parsing thread's answer.
  const requested: RequestedPart[] = [];
  for (const [i, p] of parts.entries()) {
    if (i > 0 && i % PARTS_PER_TURN === 0) await nextTurn();
    requested.push(requestedPart(p as Record<string, unknown>));
  }
  return requested;
}

/** A listed Part's number, ETag and checksums, checked as S3 checks them. */
function requestedPart(rec: Record<string, unknown>): RequestedPart {
  const num = rec.PartNumber;
  const etag = rec.ETag;
  // S3's answer to a part number below 1 (a number, not malformed XML).
  if (typeof num === 'string' && /^\s*(-\d+|0+)\s*$/.test(num)) throw new S3Error('InvalidArgument', 'PartNumber must be >= 1', { fields: { ArgumentName: 'PartNumber', ArgumentValue: num.trim() } });
  if (typeof num !== 'string' || !/^\d+$/.test(num) || typeof etag !== 'string') throw new S3Error('MalformedXML', 'Each Part needs a PartNumber and an ETag.');
  const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
  // They were ignored: the part completed as if listed without them.
  let foreign: string | undefined;
  for (const element of S3_ONLY_ELEMENTS) {
    const v = rec[element];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new S3Error('MalformedXML', `A Part's ${element} must be a single value.`);
    if (foreign !== undefined) throw invalidPartChecksums(rec);
    foreign = element;
  }
  for (const [alg, element] of CHECKSUM_ELEMENTS) {
    const v = rec[element];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new S3Error('MalformedXML', `A Part's ${element} must be a single value.`);
    // A part has one checksum, of the upload's algorithm, in base64 (S3's answer otherwise).
    if (!isChecksumValue(alg, v.trim()) || Object.keys(checksums).length > 0 || foreign !== undefined) throw invalidPartChecksums(rec);
    checksums[alg] = v.trim();
  }
  return { n: Number(num), etag: etag.replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, ''), checksums, ...(foreign !== undefined ? { foreign } : {}) };
}

/**
 * A listed part's checksum that is no base64 of its algorithm's size, or more than one checksum:
 * S3 names the part's checksums as `ALGORITHM:value;` each, in ArgumentValue (OpenStack Swift's
 * test_object_checksums.py, run against AWS: `CRC32C:4waSgx==;`, `CRC32:…;CRC32C:…;SHA1:…;SHA256:…;`).
 */
function invalidPartChecksums(rec: Record<string, unknown>): S3Error {
  const named = Object.keys(rec)
    .filter((k) => k.startsWith('Checksum') && typeof rec[k] === 'string')
    .map((k) => `${k.slice('Checksum'.length).toUpperCase()}:${(rec[k] as string).trim()};`)
    .sort();
  return new S3Error('InvalidArgument', 'Invalid Base64 or multiple checksums present in request', { fields: { ArgumentName: 'Checksum', ArgumentValue: named.join('') } });
}

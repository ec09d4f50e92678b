// GetObjectAttributes (GET /bucket/key?attributes): an object's ETag, checksum, parts, storage
// class and size in one call, without reading its data. The attributes come from the
// `x-amz-object-attributes` header; the part list pages with `x-amz-max-parts` and
// `x-amz-part-number-marker`, as ListParts does. An SSE-C object needs its customer key, as
// for HEAD (S3 requires it); other objects are answered from metadata alone, except the
// checksums of an SSE-S3/SSE-KMS object (Checksum, and ObjectParts' part checksums): they are
// sealed under its key, which is then unsealed through the KMS.
import { S3Error } from '../errors.js';
import type { ObjectRecord, PartRecord } from '../meta/records.js';
import { sseResponseHeaders } from '../sse/object-encryption.js';
import { checksumTypes, openChecksums, openPartChecksums } from '../sse/checksums.js';
import { customerKeyMd5, customerKeySent } from '../sse/params.js';
import { readableRecord, readKey, readVersionHeader } from './object.js';
import type { OpsEnv } from './env.js';
import type { RequestContext, Result } from './types.js';
import { toXml, type XmlObject } from './xml.js';
import { httpDate } from '../dates.js';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];
const MAX_PARTS = 1000;

// The header read as S3 reads it (recorded: versitygw #917 and #1000, backlot's tests of
// 2026-09-29): split at commas, empty names at the end dropped (`ETag,` is ETag; `,` is none),
// each name trimmed and matched exactly (`etag`, and an empty name between commas, are refused
// with the name as ArgumentValue).
function requestedAttributes(header: string | undefined): Set<Attribute> {
  const names = header === undefined ? [] : header.split(',');
  while (names.length > 0 && names[names.length - 1] === '') names.pop();
  if (names.length === 0) throw new S3Error('InvalidRequest', 'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty');
  const out = new Set<Attribute>();
  for (const sent of names) {
    const n = sent.trim();
    const known = ATTRIBUTES.find((a) => a === n);
    if (known === undefined) {
      throw new S3Error('InvalidArgument', 'Invalid attribute name specified.', { fields: { ArgumentName: 'x-amz-object-attributes', ArgumentValue: n } });
    }
    out.add(known);
  }
  return out;
}

function intHeader(v: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new S3Error('InvalidArgument', `${name} must be an integer between ${min} and ${max}.`);
  return Number(v);
}

/**
 * x-amz-max-parts as S3 reads it: a count that is none (`-1`, `abc`) is ignored, the page the
 * default 1000 parts, not refused (versitygw#1806, observed against S3; versitygw reads it so).
 */
function maxPartsHeader(v: string | undefined): number {
  return v !== undefined && /^\d+$/.test(v) && Number(v) <= 2_147_483_647 ? Number(v) : MAX_PARTS;
}

function checksumXml(checksums: Record<string, string> | undefined): XmlObject | undefined {
  const entries = Object.entries(checksums ?? {});
  if (entries.length === 0) return undefined;
  const out: XmlObject = {};
  for (const [alg, value] of entries) {
    // A multipart object's COMPOSITE checksum is stored (and sent by HEAD and GET) with its "-N";
    // S3 answers it here without, the type saying what it is.
    const composite = /-\d+$/.exec(value);
    out[`Checksum${alg}`] = composite ? value.slice(0, composite.index) : value;
    out.ChecksumType = composite ? 'COMPOSITE' : 'FULL_OBJECT';
  }
  return out;
}

/** The parts a page shows (x-amz-max-parts after x-amz-part-number-marker). */
function partsPage(rec: ObjectRecord, maxParts: number, marker: number): { page: PartRecord[]; truncated: boolean } {
  const after = rec.parts!.filter((p) => p.n > marker);
  const page = after.slice(0, Math.min(maxParts, MAX_PARTS));
  // x-amz-max-parts 0 lists nothing and is not truncated, as ListParts answers: truncated with the
  // marker unchanged sent a paging client round the same empty page forever.
  return { page, truncated: maxParts > 0 && page.length < after.length };
}

/**
 * Whether the part list shows parts: only for an object with a COMPOSITE checksum, the one formed
 * of its parts'. "If an additional checksum … isn't applied to the object specified in the
 * request, the response doesn't return the Part element" (S3's GetObjectAttributesParts, general
 * purpose buckets). The parts of an upload created without a checksum algorithm may still have
 * checksums (the SDKs send a CRC32 with every part by default), but the object has none: S3
 * answers the part count alone. So it does for a FULL_OBJECT object, whose checksum is the whole
 * object's (LocalStack's AWS-checked tests, localstack#12764), as GET and HEAD with partNumber
 * show none of its parts' checksums; s3d listed its parts and their CRCs.
 */
function listsParts(rec: ObjectRecord): boolean {
  return Object.values(checksumTypes(rec)).includes('COMPOSITE');
}

function partsXml(rec: ObjectRecord, maxParts: number, marker: number, objectKey: Buffer | undefined): XmlObject {
  const parts = rec.parts!;
  // The part count alone, as S3 answers it for such an object (versitygw#1001 has its answer): no
  // paging fields, which would page through pages without parts.
  if (!listsParts(rec)) return { PartsCount: parts.length };
  const { page, truncated } = partsPage(rec, maxParts, marker);
  return {
    // The wire name of TotalPartsCount.
    PartsCount: parts.length,
    PartNumberMarker: marker,
    // 0 when the page is empty, as S3 answers (and ListParts).
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.n : 0,
    MaxParts: maxParts,
    IsTruncated: truncated,
    // Parts an earlier version stored without their checksums are not listed either.
    Part: !parts.some((p) => p.checksums !== undefined || p.sealedChecksums !== undefined) ? [] : page.map((p) => ({
      PartNumber: p.n,
      Size: p.size,
      ...Object.fromEntries(Object.entries(openPartChecksums(p, objectKey) ?? {}).map(([alg, v]) => [`Checksum${alg}`, v])),
    })),
  };
}

export async function handleGetObjectAttributes(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const wanted = requestedAttributes(ctx.headers['x-amz-object-attributes']);
  const maxParts = maxPartsHeader(ctx.headers['x-amz-max-parts']);
  const marker = intHeader(ctx.headers['x-amz-part-number-marker'], 'x-amz-part-number-marker', 0, 2_147_483_647, 0);
  const rec = readableRecord(env, ctx);
  // The customer key of an SSE-C object is checked (and one sent for another object refused), as
  // for HEAD; an SSE-S3/SSE-KMS key is unsealed only for checksums sealed under it.
  const sealed = (wanted.has('Checksum') && rec.sealedChecksums !== undefined) || (wanted.has('ObjectParts') && rec.parts !== undefined && listsParts(rec) && partsPage(rec, maxParts, marker).page.some((p) => p.sealedChecksums !== undefined));
  const objectKey = rec.sse?.kind === 'SSE-C' || customerKeySent(ctx.headers) || sealed ? await readKey(env, rec, ctx.headers, ctx.bucket!, ctx.key!) : undefined;
  try {
    const body: XmlObject = {};
    if (wanted.has('ETag')) body.ETag = rec.etag;
    if (wanted.has('Checksum')) {
      const c = checksumXml(openChecksums(rec, objectKey));
      if (c !== undefined) body.Checksum = c;
    }
    if (wanted.has('ObjectParts') && rec.parts) body.ObjectParts = partsXml(rec, maxParts, marker, objectKey);
    if (wanted.has('StorageClass')) body.StorageClass = 'STANDARD';
    if (wanted.has('ObjectSize')) body.ObjectSize = rec.size;
    return {
      status: 200,
      headers: { 'content-type': 'application/xml', 'last-modified': httpDate(rec.mtime), ...readVersionHeader(env.meta.getBucket(ctx.bucket!)!, rec), ...sseResponseHeaders(rec.sse, customerKeyMd5(ctx.headers)) },
      body: toXml('GetObjectAttributesResponse', body),
    };
  } finally {
    objectKey?.fill(0);
  }
}

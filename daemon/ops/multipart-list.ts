// ListMultipartUploads: a bucket's uploads in progress, a page at a time (meta/listing.ts reads
// the index), with S3's markers, prefixes and common prefixes. The uploads themselves:
// multipart.ts.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { S3Error } from '../errors.js';
import type { BucketRecord, UploadRecord } from '../meta/records.js';
import { requireBucket, requireBucketStill, type OpsEnv } from './env.js';
import { initiator, owner, UPLOAD_ID_SHAPE } from './multipart.js';
import { uploadChecksumElements } from './multipart-checksums.js';
import { intParam, keyEncoder, refuseNonInteger } from './query.js';
import type { RequestContext, Result } from './types.js';
import { XmlWriter } from './xml-writer.js';
import { isoDate } from '../dates.js';

const XML = { 'content-type': 'application/xml' };

// Read and written as ops/list.ts reads its pages, a slice of at most this many entries to a turn
// of the event loop: a page of 1,000 uploads read and written in one go held every other request
// back (see docs/performance.md).
const ENTRIES_PER_TURN = 100;

// ListMultipartUploads refuses bad input in S3's order (measured by backlot's tests, 2026-09-11):
// a max-uploads that is no integer first, before the bucket lookup; after the lookup
// encoding-type, then a negative max-uploads, then the upload-id marker. s3d looked the bucket up
// first and judged the marker before both, so `?uploads&max-uploads=abc` on a missing bucket was
// NoSuchBucket, and a request with two faults was refused for the other one.

export async function handleListMultipartUploads(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const q = ctx.query;
  refuseNonInteger(q, 'max-uploads');
  const seen = requireBucket(env, ctx.bucket);
  const { encodingType, enc } = keyEncoder(q);
  // MaxUploads is the page's size, at most 1,000 whatever was asked (S3 answers max-uploads=1001
  // with <MaxUploads>1000</MaxUploads>, unlike a listing's MaxKeys).
  const max = intParam(q, 'max-uploads', 1000, 1000);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  // Without a key marker the upload-id marker is ignored (and not echoed), as S3 does.
  const uploadIdMarker = keyMarker === '' ? '' : (q.get('upload-id-marker') ?? '');
  if (uploadIdMarker !== '') {
    // One that cannot be an s3d upload id, or names an upload of another key, is refused as S3
    // refuses it: it marks no place in this listing. (One of an upload since completed or
    // aborted still does: the uploads after it in id order, see listUploads.)
    const marked = UPLOAD_ID_SHAPE.test(uploadIdMarker) ? env.meta.getUpload(uploadIdMarker) : undefined;
    if (!UPLOAD_ID_SHAPE.test(uploadIdMarker) || (marked !== undefined && (marked.bucket !== ctx.bucket || marked.key !== keyMarker))) {
      throw new S3Error('InvalidArgument', 'Invalid uploadId marker', { fields: { ArgumentName: 'upload-id-marker', ArgumentValue: uploadIdMarker } });
    }
  }
  const who = owner(env);
  const entries = new XmlWriter('ListMultipartUploadsResult', true);
  const parts: Buffer[] = [];
  const write = (u: UploadRecord): void => {
    entries.open('Upload').text('Key', enc(u.key)).text('UploadId', u.id).element('Initiator', initiator(env, u)).element('Owner', who).text('StorageClass', 'STANDARD').text('Initiated', isoDate(u.initiated));
    entries.elements(uploadChecksumElements(u), 'Upload').close('Upload');
  };
  const r = await uploadPage(env, seen, prefix, delimiter, keyMarker, uploadIdMarker, max, write, () => parts.push(entries.take()));
  for (const p of r.prefixes) entries.open('CommonPrefixes').text('Prefix', enc(p)).close('CommonPrefixes');
  parts.push(entries.take());
  const doc = new XmlWriter('ListMultipartUploadsResult')
    .text('Bucket', ctx.bucket!)
    .text('KeyMarker', enc(keyMarker))
    .text('UploadIdMarker', uploadIdMarker)
    // Always there, as S3 sends them: where a truncated page ends (a common prefix has no upload
    // id), else the last upload listed ("" when none was).
    .text('NextKeyMarker', enc(r.truncated && r.nextKey !== undefined ? r.nextKey : (r.lastUpload?.key ?? '')))
    .text('NextUploadIdMarker', r.truncated && r.nextKey !== undefined ? (r.nextId ?? '') : (r.lastUpload?.id ?? ''))
    .text('Prefix', prefix !== '' ? enc(prefix) : undefined)
    .text('Delimiter', delimiter !== '' ? enc(delimiter) : undefined)
    .text('MaxUploads', max)
    .text('IsTruncated', r.truncated)
    .text('EncodingType', encodingType);
  return { status: 200, headers: XML, body: doc.endWith(parts) };
}

/**
 * A page of at most `max` uploads and common prefixes after the markers, read a slice of at most
 * ENTRIES_PER_TURN entries to a turn of the event loop (as ops/list.ts reads its pages): each
 * slice its own scan of the index from where the last ended, as the next page would start from
 * its NextKeyMarker and NextUploadIdMarker. The uploads are handed to `write` as they are read
 * (and `slice` called before each turn), the common prefixes returned, to be written after them.
 */
async function uploadPage(env: OpsEnv, seen: BucketRecord, prefix: string, delimiter: string, keyMarker: string, uploadIdMarker: string, max: number, write: (u: UploadRecord) => void, slice: () => void): Promise<{ prefixes: string[]; truncated: boolean; nextKey: string | undefined; nextId: string | undefined; lastUpload: UploadRecord | undefined }> {
  const bucket = seen.name;
  const prefixes: string[] = [];
  let truncated = false;
  // Where the next page (or slice) starts: the last upload, or the last common prefix (no upload id).
  let nextKey: string | undefined;
  let nextId: string | undefined;
  let lastUpload: UploadRecord | undefined;
  let listed = 0;
  let from = { keyMarker, uploadIdMarker };
  let pastPrefix: string | undefined;
  // Common prefixes collapse many uploads into one entry: read until max entries are collected
  // and one more entry proves the listing is truncated. Each common prefix is seeked past as soon
  // as it is listed (and one at or before the slice's key marker, listed on an earlier page or
  // slice, when met), its uploads not read one by one (a page of one common prefix over 20,000
  // uploads held the daemon for minutes).
  page: for (;;) {
    let inSlice = 0;
    const markerBytes = Buffer.from(from.keyMarker);
    slice: for (;;) {
      let skip: string | undefined;
      for (const u of env.meta.uploadsAfter(bucket, { prefix, ...from, ...(pastPrefix !== undefined ? { pastPrefix } : {}) })) {
        const i = delimiter === '' ? -1 : u.key.indexOf(delimiter, prefix.length);
        const cp = i >= 0 ? u.key.slice(0, i + delimiter.length) : undefined;
        if (cp !== undefined && from.keyMarker !== '' && Buffer.compare(Buffer.from(cp), markerBytes) <= 0) {
          skip = cp;
          break;
        }
        if (listed >= max) {
          // max-uploads=0 lists nothing and is not truncated (a paging client would loop).
          truncated = max > 0;
          break page;
        }
        // A full slice ends once the entry after it is known to exist; the next slice reads it again.
        if (inSlice >= ENTRIES_PER_TURN) break slice;
        listed++;
        inSlice++;
        if (cp !== undefined) {
          prefixes.push(cp);
          nextKey = cp;
          nextId = undefined;
          skip = cp;
          break;
        }
        write(u);
        lastUpload = u;
        nextKey = u.key;
        nextId = u.id;
      }
      if (skip === undefined) break page;
      pastPrefix = skip;
    }
    // The next slice starts where this one ended, as the next page would (a common prefix:
    // past every upload under it).
    from = { keyMarker: nextKey!, uploadIdMarker: nextId ?? '' };
    pastPrefix = nextId === undefined ? nextKey : undefined;
    slice();
    await nextTurn();
    requireBucketStill(env, seen);
  }
  return { prefixes, truncated, nextKey, nextId, lastUpload };
}

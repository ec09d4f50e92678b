// ListMultipartUploads: a bucket's uploads in progress, a page at a time (meta/listing.ts reads
// the index), with S3's markers, prefixes and common prefixes. The uploads themselves:
// multipart.ts.
import { S3Error } from '../errors.js';
import type { UploadRecord } from '../meta/records.js';
import { requireBucket, type OpsEnv } from './env.js';
import { owner, UPLOAD_ID_SHAPE } from './multipart.js';
import { uploadChecksumElements } from './multipart-checksums.js';
import { intParam, keyEncoder } from './query.js';
import type { RequestContext, Result } from './types.js';
import type { XmlObject } from './xml.js';
import { writeXml } from './xml-writer.js';
import { isoDate } from '../dates.js';

const XML = { 'content-type': 'application/xml' };

export async function handleListMultipartUploads(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  requireBucket(env, ctx.bucket);
  const q = ctx.query;
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
  const max = intParam(q, 'max-uploads', 1000, 1000);
  const { url, enc } = keyEncoder(q);
  const uploads: UploadRecord[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  // Where the next page starts: the last upload, or the last common prefix (no upload id).
  let nextKey: string | undefined;
  let nextId: string | undefined;
  let pastPrefix: string | undefined;
  const markerBytes = Buffer.from(keyMarker);
  // Common prefixes collapse many uploads into one entry: read until max entries are collected
  // and one more entry proves the listing is truncated. Past a common prefix already listed (on
  // this page, or at or before key-marker on an earlier one) the uploads under it are skipped in
  // one seek, not read one by one (a page of one common prefix over 20,000 uploads held the
  // daemon for minutes).
  page: for (;;) {
    let skip: string | undefined;
    for (const u of env.meta.uploadsAfter(ctx.bucket!, { prefix, keyMarker, uploadIdMarker, ...(pastPrefix !== undefined ? { pastPrefix } : {}) })) {
      const i = delimiter === '' ? -1 : u.key.indexOf(delimiter, prefix.length);
      if (i >= 0) {
        const cp = u.key.slice(0, i + delimiter.length);
        if (prefixes[prefixes.length - 1] === cp || (keyMarker !== '' && Buffer.compare(Buffer.from(cp), markerBytes) <= 0)) {
          skip = cp;
          break;
        }
        if (uploads.length + prefixes.length >= max) {
          // max-uploads=0 lists nothing and is not truncated (a paging client would loop).
          truncated = max > 0;
          break page;
        }
        prefixes.push(cp);
        nextKey = cp;
        nextId = undefined;
      } else {
        if (uploads.length + prefixes.length >= max) {
          // max-uploads=0 lists nothing and is not truncated (a paging client would loop).
          truncated = max > 0;
          break page;
        }
        uploads.push(u);
        nextKey = u.key;
        nextId = u.id;
      }
    }
    if (skip === undefined) break;
    pastPrefix = skip;
  }
  const body: XmlObject = {
    Bucket: ctx.bucket!,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: uploadIdMarker,
    // Always there, as S3 sends them: where a truncated page ends (a common prefix has no upload
    // id), else the last upload listed ("" when none was).
    NextKeyMarker: enc(truncated && nextKey !== undefined ? nextKey : (uploads[uploads.length - 1]?.key ?? '')),
    NextUploadIdMarker: truncated && nextKey !== undefined ? (nextId ?? '') : (uploads[uploads.length - 1]?.id ?? ''),
    ...(prefix !== '' ? { Prefix: enc(prefix) } : {}),
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    MaxUploads: max,
    IsTruncated: truncated,
    ...(url ? { EncodingType: 'url' } : {}),
    Upload: uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.id,
      Initiator: owner(env),
      Owner: owner(env),
      StorageClass: 'STANDARD',
      Initiated: isoDate(u.initiated),
      ...uploadChecksumElements(u),
    })),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  };
  // The bytes toXml writes: 1,000 uploads through fast-xml-parser's builder held the event loop ~7-22 ms.
  return { status: 200, headers: XML, body: writeXml('ListMultipartUploadsResult', body) };
}

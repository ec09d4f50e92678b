// The S3 requests the load generator sends, as raw HTTP/1.1 over one HttpConnection: PutObject,
// GetObject, HeadObject, DeleteObject, ListObjectsV2 and a whole multipart upload.

import type { BodySource, HttpConnection, HttpResponse } from './connection.js';
import { canonicalQueryOf } from './signer.js';
import type { FastSigner } from './signer.js';
import type { HeaderList, SseHeaders } from './sse-headers.js';

export interface S3Session {
  conn: HttpConnection;
  signer: FastSigner;
  bucket: string;
  sse: SseHeaders;
  timeoutMs: number;
}

export class S3RequestError extends Error {
  readonly status: number;
  constructor(op: string, res: HttpResponse) {
    const text = res.body === undefined ? '' : res.body.toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '';
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
    super(`${op}: HTTP ${res.status}${code === '' ? '' : ` ${code}`}${message === '' ? '' : `: ${message}`}`);
    this.name = 'S3RequestError';
    this.status = res.status;
  }
}

function objectPath(bucket: string, key: string): string {
  // Bench keys use only unreserved characters and '/', so the raw path is already canonical.
  return `/${bucket}/${key}`;
}

function head(method: string, path: string, query: string, auth: string, contentLength: number | null): string {
  const target = query === '' ? path : `${path}?${query}`;
  const length = contentLength === null ? '' : `content-length: ${contentLength}\r\n`;
  return `${method} ${target} HTTP/1.1\r\n${auth}${length}\r\n`;
}

async function send(
  s: S3Session,
  op: string,
  method: string,
  path: string,
  query: string,
  extra: HeaderList,
  body: BodySource | null,
  opts: { headOnly?: boolean; captureBytes?: number; ok?: (status: number) => boolean } = {},
): Promise<HttpResponse> {
  const auth = s.signer.sign(method, path, query, extra);
  const needsLength = method === 'PUT' || method === 'POST';
  const res = await s.conn.request(head(method, path, query, auth, needsLength ? (body?.size ?? 0) : null), body, {
    headOnly: opts.headOnly,
    captureBytes: opts.captureBytes,
    timeoutMs: s.timeoutMs,
  });
  const ok = opts.ok ?? ((st: number) => st >= 200 && st < 300);
  if (!ok(res.status)) throw new S3RequestError(op, res);
  return res;
}

export function putObject(s: S3Session, key: string, body: BodySource): Promise<HttpResponse> {
  return send(s, 'PutObject', 'PUT', objectPath(s.bucket, key), '', s.sse.write, body);
}

export function getObject(s: S3Session, key: string): Promise<HttpResponse> {
  return send(s, 'GetObject', 'GET', objectPath(s.bucket, key), '', s.sse.read, null);
}

export function headObject(s: S3Session, key: string): Promise<HttpResponse> {
  return send(s, 'HeadObject', 'HEAD', objectPath(s.bucket, key), '', s.sse.read, null, { headOnly: true });
}

export function deleteObject(s: S3Session, key: string): Promise<HttpResponse> {
  return send(s, 'DeleteObject', 'DELETE', objectPath(s.bucket, key), '', [], null);
}

/** One ListObjectsV2 page; returns the number of keys listed. */
export async function listObjects(s: S3Session, prefix: string, maxKeys: number): Promise<{ res: HttpResponse; keys: number }> {
  const query = canonicalQueryOf({ 'list-type': '2', 'max-keys': String(maxKeys), prefix });
  const res = await send(s, 'ListObjectsV2', 'GET', `/${s.bucket}`, query, [], null, { captureBytes: 4 << 20 });
  const text = res.body?.toString('utf8') ?? '';
  const count = /<KeyCount>(\d+)<\/KeyCount>/.exec(text);
  const keys = count !== null ? Number(count[1]) : (text.match(/<Key>/g) ?? []).length;
  return { res, keys };
}

export interface MultipartTimings {
  initMs: number;
  partMs: number[];
  completeMs: number;
}

const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** CreateMultipartUpload, the parts in order on this connection, CompleteMultipartUpload. */
export async function multipartUpload(s: S3Session, key: string, size: number, partSize: number, chunk: Buffer): Promise<MultipartTimings> {
  const path = objectPath(s.bucket, key);
  let t = process.hrtime.bigint();
  const init = await send(s, 'CreateMultipartUpload', 'POST', path, canonicalQueryOf({ uploads: '' }), s.sse.write, null, { captureBytes: 64 * 1024 });
  const initMs = msSince(t);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.body?.toString('utf8') ?? '')?.[1];
  if (uploadId === undefined) throw new Error('CreateMultipartUpload: no UploadId in the response');
  const parts: string[] = [];
  const partMs: number[] = [];
  const count = Math.max(1, Math.ceil(size / partSize));
  for (let n = 1; n <= count; n++) {
    const len = Math.min(partSize, size - (n - 1) * partSize);
    t = process.hrtime.bigint();
    const res = await send(s, 'UploadPart', 'PUT', path, canonicalQueryOf({ partNumber: String(n), uploadId }), s.sse.part, { size: len, chunk });
    partMs.push(msSince(t));
    const etag = res.headers['etag'];
    if (etag === undefined) throw new Error(`UploadPart ${n}: no ETag`);
    parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${etag}</ETag></Part>`);
  }
  const xml = Buffer.from(`<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`);
  t = process.hrtime.bigint();
  const done = await send(s, 'CompleteMultipartUpload', 'POST', path, canonicalQueryOf({ uploadId }), [], { size: xml.length, chunk: xml }, { captureBytes: 64 * 1024 });
  // S3 may answer 200 with an <Error> body when completion fails late.
  if ((done.body?.toString('utf8') ?? '').includes('<Error>')) throw new S3RequestError('CompleteMultipartUpload', { ...done, status: 500 });
  return { initMs, partMs, completeMs: msSince(t) };
}

// Browser-form uploads (POST Object) for the s3-post-object-* suites: a browser's FormData, the
// bytes fetch sends for it, an unsigned POST of them to the bucket URL (HTTP or HTTPS), and the
// object read back.

import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { TestDaemon } from './daemon.js';
import type { RawResponse } from './http.js';
import { bodyBytes, s3Code } from './s3.js';

/** A form field: name and value. */
export type Field = [string, string];

/** The file of a form. */
export interface FilePart {
  data: Buffer;
  /** Default upload.bin. */
  filename?: string;
  /** The part's Content-Type (a Blob without a type goes out as application/octet-stream). */
  type?: string;
}

/** A browser's FormData: the fields in order, then the file (as `<input type=file name=file>`), then `after`. */
export function formData(fields: Field[], file?: FilePart, after: Field[] = []): FormData {
  const fd = new FormData();
  for (const [k, v] of fields) fd.append(k, v);
  if (file) fd.append('file', new Blob([file.data], file.type ? { type: file.type } : {}), file.filename ?? 'upload.bin');
  for (const [k, v] of after) fd.append(k, v);
  return fd;
}

/** The bytes and Content-Type (with its boundary) fetch would send for `fd`. */
export async function encodeForm(fd: FormData): Promise<{ body: Buffer; contentType: string }> {
  const req = new Request('http://form.invalid/', { method: 'POST', body: fd });
  return { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type')! };
}

/** One unsigned POST of `body` on a fresh connection (HTTPS trusting the daemon's CA when it has one). */
export function sendPost(d: TestDaemon, path: string, body: Buffer, headers: Record<string, string>): Promise<RawResponse> {
  const opts = { host: '127.0.0.1', port: d.port, method: 'POST', path, agent: false as const, headers: { host: `127.0.0.1:${d.port}`, 'content-length': String(body.length), ...headers } };
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    };
    const req: ClientRequest = d.caCert ? httpsRequest({ ...opts, ca: d.caCert }, onResponse) : httpRequest(opts, onResponse);
    req.on('error', reject);
    req.end(body);
  });
}

/** Posts a FormData to /bucket as a browser would (extra request headers such as Origin allowed). */
export async function postForm(d: TestDaemon, bucket: string, fd: FormData, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { body, contentType } = await encodeForm(fd);
  return sendPost(d, `/${bucket}`, body, { 'content-type': contentType, ...headers });
}

/** An ETag as the daemon writes it (quoted), and read back without quotes. */
export const quoted = (md5: string): string => `"${md5}"`;
export const unquote = (etag: string | undefined): string | undefined => etag?.replace(/&quot;/g, '"').replace(/^"|"$/g, '');

/** GetObject and its body. */
export async function getObject(client: S3Client, Bucket: string, Key: string, extra: Record<string, string> = {}) {
  const out = await client.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return { out, body: await bodyBytes(out) };
}

/** 'ok' when the key exists, else `Code/status` (NotFound/404). */
export function headCode(client: S3Client, Bucket: string, Key: string): Promise<string> {
  return s3Code(client.send(new HeadObjectCommand({ Bucket, Key })));
}

/** The path of a Location URL, percent-decoded. */
export function locationPath(location: string | undefined): string {
  return decodeURIComponent(new URL(String(location)).pathname);
}

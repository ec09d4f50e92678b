// Browser-form uploads (POST Object) for the s3-post-object-* suites: a browser's FormData, the
// bytes fetch sends for it, an unsigned POST of them to the bucket URL (HTTP or HTTPS), and the
// object read back.

import { createHmac } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { deriveSigningKey } from '../../daemon/auth/sigv4.js';
import { ACCESS_KEY, REGION, SECRET_KEY, type TestDaemon } from './daemon.js';
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

export interface Part {
  name: string;
  value: Buffer | string;
  filename?: string;
  type?: string;
}

/** A hand-built multipart/form-data body (CRLF line ends, `--boundary--` at the end unless `unterminated`). */
export function multipart(boundary: string, parts: Part[], opts: { unterminated?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.type !== undefined) head += `Content-Type: ${p.type}\r\n`;
    out.push(Buffer.from(`${head}\r\n`), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  if (!opts.unterminated) out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

// Policies signed here (SigV4, or V2 fields), for forms built by hand.

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export interface PolicySpec {
  /** `{"bucket": …}` condition (omitted when null). */
  bucket: string | null;
  /** Conditions besides the bucket and the x-amz-* signature fields (which are added, as boto3 does). */
  conditions?: unknown[];
  /** Default: ten minutes from now. */
  expiration?: Date;
  accessKey?: string;
  secret?: string;
  /** Signature Version 2 fields (AWSAccessKeyId, signature) instead of SigV4. */
  v2?: boolean;
  /** Sign this text as the policy instead of the base64 JSON built from the rest. */
  rawPolicy?: string;
  /** Replaces the policy field after signing (the signature then covers another text). */
  swapPolicy?: string;
  /** Replaces the signature. */
  signature?: string;
}

/** The policy and signature fields of a form (the credential fields of SigV4 included). */
export function policyFields(p: PolicySpec): Field[] {
  const now = new Date();
  const accessKey = p.accessKey ?? ACCESS_KEY;
  const secret = p.secret ?? SECRET_KEY;
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const credential = `${accessKey}/${day}/${REGION}/s3/aws4_request`;
  const conditions: unknown[] = [...(p.conditions ?? [])];
  if (p.bucket !== null) conditions.push({ bucket: p.bucket });
  if (!p.v2) conditions.push({ 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date });
  const expiration = (p.expiration ?? new Date(now.getTime() + 600_000)).toISOString();
  const policy = p.rawPolicy ?? b64(JSON.stringify({ expiration, conditions }));
  const sent = p.swapPolicy ?? policy;
  if (p.v2) {
    const signature = p.signature ?? createHmac('sha1', secret).update(policy, 'utf8').digest('base64');
    return [
      ['AWSAccessKeyId', accessKey],
      ['policy', sent],
      ['signature', signature],
    ];
  }
  const signature = p.signature ?? createHmac('sha256', deriveSigningKey(secret, day, REGION, 's3')).update(policy, 'utf8').digest('hex');
  return [
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', credential],
    ['x-amz-date', date],
    ['policy', sent],
    ['x-amz-signature', signature],
  ];
}

/** The usual form: `key`, then `fields`, then the policy fields; `conditions` default to an exact key. */
export function signedForm(bucket: string, key: string | null, fields: Field[], spec: Partial<PolicySpec> = {}, file?: FilePart, after: Field[] = []): FormData {
  const conditions = spec.conditions ?? (key === null ? [] : [{ key }]);
  return formData([...(key === null ? [] : ([['key', key]] as Field[])), ...fields, ...policyFields({ bucket, ...spec, conditions })], file, after);
}

// POST Object: uploads from an HTML form (a browser page, boto3's generate_presigned_post,
// minio-js's presignedPostPolicy). The multipart/form-data body is parsed as it streams (busboy):
// the fields before the `file` part are collected, the signed policy is checked against them
// (auth/post-policy.ts) before a byte of the file is stored, then the file streams through the
// same write path as PutObject (encryption, MD5 ETag, durable before visible), bounded by the
// policy's content-length-range as it arrives. Fields after the file are ignored, as on S3.
// busboy is loaded by the first form upload: ~20 ms of CPU at a start most daemons never use.
import type BusboyModule from 'busboy';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { badDigest, createPayloadDecoder, isChecksumValueHeader, parseContentMd5, type PayloadDecoder } from '../auth/payload.js';
import { extraFields, missingField, verifyPostPolicy, type PostAuth } from '../auth/post-policy.js';
import { keyTooLongError, MAX_KEY_BYTES } from '../http/router.js';
import { S3Error, isS3Error } from '../errors.js';
import { newObjectRecord } from './new-object.js';
import { clientETag, createObjectEncryption, sseResponseHeaders } from '../sse/object-encryption.js';
import { checksumHeaders, DEFAULT_CHECKSUM } from './checksums.js';
import { parseCustomerKey } from '../sse/params.js';
import { inSameBucket, metaError, requireBucket, type OpsEnv } from './env.js';
import { capped, writeData, type WrittenData } from './object-data.js';
import { collectStoredHeaders, collectUserMeta, quoteETag } from './object-headers.js';
import { dataEnv, discardWritten, needsMd5, writeEncryption, versionHeader, MAX_OBJECT_SIZE } from './object.js';
import { objectLocation } from './multipart-complete.js';
import { MAX_OBJECT_TAGS, parseTagging } from './tagging.js';
import { uploadOptionActions, userMay } from './policy.js';
import { lockAt, lockFromHeaders, requireLockedFormSigV4 } from './object-lock.js';
import { expirationHeader } from './lifecycle.js';
import { requestEvents } from './notification.js';
import { utf8Text } from '../utf8.js';
import type { RequestBody, RequestContext, Result } from './types.js';
import { toXml } from './xml.js';

/**
 * S3's bound on the fields before the file (`MaxPostPreDataLengthBytes` 20480): names and values
 * together. They are held in memory before anything is authenticated, so the bound is what keeps
 * unauthenticated forms from filling the heap (one at 64 KiB × 200 fields held 13 MiB).
 */
const MAX_PRE_DATA_BYTES = 20 * 1024;
/** A file sent as a text field (`file=…`, no filename) may be this long; it is not pre-data. */
const MAX_TEXT_FILE_BYTES = 64 * 1024;
/** The bound on the raw body before the file, with room for a text file, part headers and boundaries. */
const MAX_PRE_DATA_RAW = MAX_PRE_DATA_BYTES + MAX_TEXT_FILE_BYTES + 64 * 1024;
const MAX_FIELDS = 200;
/** AWS's limit for one POST upload. */
const MAX_POST_OBJECT = 5 * 1024 ** 3;

/**
 * S3's answer to a form without a file, or with more than one (a file input with `multiple`):
 * it names the field and how many files the form had (`count`, the ones read so far).
 */
function notOneFile(count: number): S3Error {
  return new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', { fields: { ArgumentName: 'file', ArgumentValue: String(count) } });
}

function preDataTooLarge(): S3Error {
  return new S3Error('MaxPostPreDataLengthExceeded', undefined, { fields: { MaxPostPreDataLengthBytes: String(MAX_PRE_DATA_BYTES) } });
}

interface FormFile {
  stream: AsyncIterable<Buffer>;
  /** Fails the stream (the file's consumer sees `err`). */
  destroy(err: Error): void;
  filename: string;
  mimeType: string;
}

interface Form {
  fields: Map<string, string>;
  file: FormFile | undefined;
  /** Settles once the whole body has been parsed (fields after the file are read and dropped). */
  done: Promise<void>;
  /** Stops parsing: the file stream fails and the rest of the body is left to the HTTP layer. */
  stop(err: Error): void;
}

/** With the `u` flag a surrogate pair is one code point: only an unpaired surrogate matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

let busboyLoaded: typeof BusboyModule | undefined;
function busboy(config: BusboyModule.BusboyConfig): BusboyModule.Busboy {
  return (busboyLoaded ??= createRequire(import.meta.url)('busboy') as typeof BusboyModule)(config);
}

/** Parses the form up to the start of the file part. */
function readForm(body: RequestBody, contentType: string): Promise<Form> {
  let bb: BusboyModule.Busboy;
  try {
    bb = busboy({
      headers: { 'content-type': contentType },
      // Text comes decoded as UTF-8 (or as the charset a part names), names and filenames too
      // (raw, or RFC 5987 `filename*`); one holding U+FFFD, what a byte that is not UTF-8 becomes,
      // is refused (formText): never a key other than the one sent, nor one many forms name.
      // Busboy keeps no raw bytes of text, so a U+FFFD sent as such is refused too (documented).
      defParamCharset: 'utf8',
      // Files: form fields may come as parts with a filename too (Python requests' `files=`).
      limits: { fieldSize: MAX_TEXT_FILE_BYTES, fields: MAX_FIELDS, parts: MAX_FIELDS + 10, files: MAX_FIELDS + 1, fieldNameSize: 200 },
    });
  } catch (err) {
    return Promise.reject(new S3Error('MalformedPOSTRequest', `The body of a POST upload must be multipart/form-data with a boundary: ${(err as Error).message}`));
  }
  const fields = new Map<string, string>();
  const stopper = new AbortController();
  let file: FormFile | undefined;
  let fileSeen = false;
  let failure: Error | undefined;
  /** Bytes of field names and values before the file, and of the raw body before it. */
  let preData = 0;
  let fed = 0;

  return new Promise<Form>((resolve, reject) => {
    let started = false;
    /** Fields sent as parts with a filename, still being read; the form starts once they are in. */
    let pendingFields = 0;
    let startWhenRead = false;
    const start = (): void => {
      if (started) return;
      if (pendingFields > 0) {
        startWhenRead = true;
        return;
      }
      started = true;
      resolve({ fields, file, done, stop });
    };
    const fail = (err: Error): void => {
      failure ??= err;
      if (!started) {
        started = true;
        reject(err);
      }
      file?.destroy(err);
      stopper.abort(err);
    };
    const stop = (err: Error): void => {
      failure ??= err;
      file?.destroy(err);
      stopper.abort(err);
    };
    /**
     * Another part named `file` after the file: S3 refuses such a form (its other fields after
     * the file are ignored). It has been stored by now, or is being stored: the form fails before
     * the object becomes visible (the handler awaits `done`).
     */
    let files = 0;
    const anotherFile = (): void => fail(notOneFile(++files));
    bb.on('field', (rawName: string | undefined, value, info) => {
      if (fileSeen) {
        if (rawName?.toLowerCase() === 'file') anotherFile();
        return;
      }
      const name = formText(rawName, 'A form field name');
      if (name === undefined) return;
      if (info.nameTruncated) {
        fail(new S3Error('MalformedPOSTRequest', `The form field name ${JSON.stringify(name)} is longer than 200 bytes.`));
        return;
      }
      const n = name.toLowerCase();
      if (n === 'file') {
        // S3 takes the file as a plain text field too (a form without a file input); it is not
        // among the fields before the file.
        if (info.valueTruncated) {
          fail(new S3Error('MalformedPOSTRequest', `A file sent as a text field may be at most ${MAX_TEXT_FILE_BYTES} bytes; send it as a file part.`));
          return;
        }
        fileSeen = true;
        files = 1;
        // Decoded as text, a byte that is not UTF-8 is lost: such a file (curl -F 'file=<data.bin')
        // is refused rather than stored changed; a file part (with a filename) takes any bytes.
        const content = formText(value, 'A file sent as a text field (send binary data as a file part, with a filename)');
        if (content === undefined) return;
        file = { stream: [Buffer.from(content, 'utf8')] as unknown as AsyncIterable<Buffer>, destroy: () => undefined, filename: '', mimeType: '' };
        start();
        return;
      }
      const text = formText(value, `The form field ${JSON.stringify(n)}`);
      if (text !== undefined) addField(n, text, info.valueTruncated);
    });
    const notUtf8 = (what: string): undefined => {
      fail(new S3Error('InvalidArgument', `${what} is not valid UTF-8.`));
      return undefined;
    };
    /**
     * Text busboy decoded; undefined (and the form failed) if a byte of it was not UTF-8, or if it
     * is a part's name and the part has none (`form-data` without `name=`: busboy gives undefined).
     */
    const formText = (text: string | undefined, what: string): string | undefined => {
      if (text === undefined) {
        fail(new S3Error('MalformedPOSTRequest', 'Every part of a POST upload before the file needs a name (Content-Disposition: form-data; name="…").'));
        return undefined;
      }
      // A lone surrogate: a part that names UTF-16 as its charset is decoded by busboy without a
      // check. Such a key is no Unicode text; stored (UTF-8) it became U+FFFD, a key other than
      // the one the policy judged, and its Location could not be written (a 500 after the commit).
      return text.includes('\uFFFD') || LONE_SURROGATE.test(text) ? notUtf8(what) : text;
    };
    const addField = (n: string, value: string, truncated: boolean): void => {
      preData += Buffer.byteLength(n) + Buffer.byteLength(value);
      if (truncated || preData > MAX_PRE_DATA_BYTES) {
        fail(preDataTooLarge());
        return;
      }
      if (fields.has(n)) {
        fail(new S3Error('InvalidArgument', `The form field ${JSON.stringify(n)} appears more than once.`));
        return;
      }
      fields.set(n, value);
    };
    bb.on('file', (rawName: string | undefined, stream, info) => {
      stream.on('error', () => undefined);
      if (fileSeen) {
        // A part after the file: read and dropped (its failure is the form's), unless it is
        // another file.
        stream.resume();
        if (rawName?.toLowerCase() === 'file') anotherFile();
        return;
      }
      const name = formText(rawName, 'A form field name');
      if (name === undefined) {
        stream.resume();
        return;
      }
      if (Buffer.byteLength(name) > 200) {
        fail(new S3Error('MalformedPOSTRequest', `The form field name ${JSON.stringify(name.slice(0, 40))}… is longer than 200 bytes.`));
        stream.resume();
        return;
      }
      if (name.toLowerCase() !== 'file') {
        // A form field sent as a part with a filename (Python requests' `files=` sends every
        // field so): S3 tells the file by its field name, so this is a field like any other.
        pendingFields++;
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // Beyond the bound it is refused at the end; what is kept stays bounded.
          if (size <= MAX_PRE_DATA_BYTES + 1) chunks.push(chunk);
        });
        stream.on('close', () => {
          pendingFields--;
          const text = failure === undefined ? (utf8Text(Buffer.concat(chunks)) ?? notUtf8(`The form field ${JSON.stringify(name)}`)) : undefined;
          if (text !== undefined) addField(name.toLowerCase(), text, size > MAX_PRE_DATA_BYTES);
          if (pendingFields === 0 && startWhenRead) start();
        });
        return;
      }
      // Only the file's own name is used (`${filename}` in the key); a field part's is not read.
      const filename = formText(info.filename ?? '', 'The file name');
      if (filename === undefined) {
        stream.resume();
        return;
      }
      fileSeen = true;
      files = 1;
      // Failing the stream before anyone reads it must not be an unhandled 'error' event (the
      // handler above); a reader that is iterating gets the error from its iterator.
      file = { stream, destroy: (err) => stream.destroy(err), filename, mimeType: info.mimeType };
      start();
    });
    bb.on('filesLimit', () => {
      if (!fileSeen) fail(new S3Error('MalformedPOSTRequest', `A POST upload may have at most ${MAX_FIELDS} fields.`));
    });
    // Fields after the file are ignored, however many (as on S3).
    bb.on('fieldsLimit', () => {
      if (!fileSeen) fail(new S3Error('MalformedPOSTRequest', `A POST upload may have at most ${MAX_FIELDS} fields.`));
    });
    bb.on('error', (err: Error) => fail(new S3Error('MalformedPOSTRequest', `The body is not well-formed multipart/form-data: ${err.message}`)));
    // The body ended without a file part.
    bb.on('close', start);

    const done = (async () => {
      try {
        for await (const chunk of body) {
          if (stopper.signal.aborted) break;
          fed += chunk.length;
          const more = bb.write(chunk);
          if (!fileSeen && fed > MAX_PRE_DATA_RAW) {
            fail(preDataTooLarge());
            break;
          }
          if (!more) await once(bb, 'drain', { signal: stopper.signal });
        }
        if (!stopper.signal.aborted) {
          const closed = once(bb, 'close', { signal: stopper.signal });
          bb.end();
          await closed;
        }
      } catch (err) {
        // A body that fails (truncated, client gone) fails the file being stored.
        fail(stopper.signal.aborted && failure ? failure : (err as Error));
      }
      if (failure) throw failure;
    })();
    done.catch(() => undefined);
  });
}

/**
 * The checker of the file's checksum: the form's x-amz-checksum-* field (throws S3Error for bad
 * ones), or S3's default checksum of a file sent without one.
 */
function checksumDecoder(headers: Readonly<Record<string, string>>): PayloadDecoder {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (isChecksumValueHeader(name)) fields[name] = value;
  return createPayloadDecoder({ payload: { kind: 'unsigned' }, seedSignature: '', signingKey: Buffer.alloc(0), scope: '', amzDate: '' }, fields, { defaultChecksum: DEFAULT_CHECKSUM });
}

/** The file's bytes, hashed as they pass; at the end, BadDigest unless they match the checksum. */
async function* checked(source: AsyncIterable<Buffer>, decoder: PayloadDecoder): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    decoder.push(chunk, () => undefined);
    yield chunk;
  }
  await decoder.finish();
}

/** The file's bytes, refused as soon as they pass `max` (no need to store 5 GiB to say no). */
async function* bounded(source: AsyncIterable<Buffer>, max: number, tooLarge: () => S3Error): AsyncGenerator<Buffer> {
  try {
    yield* capped(source, { maxBytes: max, tooLarge });
  } catch (err) {
    // The parser fails the file part with its own errors (a form cut off before its closing
    // boundary): the client's fault, said as S3 says it.
    if (isS3Error(err)) throw err;
    throw new S3Error('MalformedPOSTRequest', `The body is not well-formed multipart/form-data: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads up to `limit` + 1 bytes ahead: a file that ends within them has a known length (and is
 * stored inline in LMDB when small, like a PutObject); a longer one streams on.
 */
async function peek(source: AsyncIterable<Buffer>, limit: number): Promise<{ length: number | undefined; chunks: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) {
      return {
        length: n,
        chunks: (async function* () {
          yield* head;
        })(),
      };
    }
    head.push(r.value);
    n += r.value.length;
    if (n > limit) break;
  }
  return {
    length: undefined,
    chunks: (async function* () {
      yield* head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
  };
}

/** The form's fields as the request headers a PutObject would carry (names lower-cased). */
function fieldsAsHeaders(fields: ReadonlyMap<string, string>): Record<string, string> {
  const h: Record<string, string> = Object.fromEntries(fields);
  // The form's `acl` field is the x-amz-acl header of a PutObject (checked the same way).
  if (h.acl !== undefined && h['x-amz-acl'] === undefined) h['x-amz-acl'] = h.acl;
  // The Content-Type field only, which the policy judges: the file part's own type (what the
  // browser guessed, text/html for a .html file, text/plain from busboy when the part has none)
  // is no field, so the form's holder could give an object any type the signer never allowed.
  // As on S3, an object posted without the field, or with it empty, is binary/octet-stream.
  if (h['content-type'] === '') delete h['content-type'];
  return h;
}

function successResult(fields: ReadonlyMap<string, string>, bucket: string, key: string, etag: string, location: string, extra: Record<string, string>): Result {
  const headers: Record<string, string> = { etag: quoteETag(etag), location, ...extra };
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  // S3: a redirect it cannot interpret is as if the field were absent.
  const url = redirect !== undefined && /^https?:\/\//i.test(redirect) && URL.canParse(redirect) ? new URL(redirect) : undefined;
  if (url !== undefined) {
    // S3 appends bucket, key and etag to the URL as query parameters: the signer's own query is
    // kept as signed (searchParams.set re-encoded it, `~` as %7E, `%20` as `+`, `flag` as
    // `flag=`, and replaced a `bucket` in it, breaking a token the page checks). Every value is
    // percent-encoded (no `+` for a space, which decodeURIComponent would not read back); the
    // fragment stays last. The URL parser dropped any CR, LF or tab: no header can be injected.
    const appended = `bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}&etag=${encodeURIComponent(quoteETag(etag))}`;
    url.search = url.search.length > 1 ? `${url.search.slice(1)}&${appended}` : appended;
    return { status: 303, headers: { ...headers, location: url.href } };
  }
  const status = fields.get('success_action_status');
  if (status === '200') return { status: 200, headers };
  if (status === '201') {
    return {
      status: 201,
      headers: { ...headers, 'content-type': 'application/xml' },
      body: toXml('PostResponse', { Location: location, Bucket: bucket, Key: key, ETag: quoteETag(etag) }, false),
    };
  }
  return { status: 204, headers };
}

const FANOUT_FIELD = 'x-minio-fanout-list';

export async function handlePostObject(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucketName = ctx.bucket!;
  // A form to no bucket is answered before its body is read.
  requireBucket(env, bucketName);
  // S3 takes a form upload's parameters from the form only (its answer, with the parameter named).
  const first = ctx.query.entries().next();
  if (first.done !== true) {
    const [name, value] = first.value;
    throw new S3Error('InvalidArgument', 'Query String Parameters not allowed on POST requests.', { fields: { ArgumentName: name, ArgumentValue: value === '' ? 'null' : value } });
  }
  const form = await readForm(ctx.body, ctx.headers['content-type'] ?? '');
  let written: WrittenData | undefined;
  let objectKey: Buffer | undefined;
  let sealingKey: Buffer | undefined;
  try {
    const { fields, file } = form;
    // The form's shape first (as S3 does), then its signature: a badly signed form learns nothing
    // more, not even whether the bucket exists. An anonymous form (no policy, no signer) goes on
    // as an unsigned PutObject would: NoSuchBucket, or what the bucket's policy admits.
    const rawKey = fields.get('key');
    // S3's answers: a form without the field (or with it after the file) is told to check the
    // order of its fields; one with an empty key, as an empty key after `${filename}` below.
    if (rawKey === undefined) throw missingField('key');
    if (file === undefined) throw notOneFile(0);
    // MinIO's PutObjectFanOut (minio-go): one file stored under every key of this JSON list. Not
    // implemented, and said so: as an unconditioned field it was 403 "Extra input fields", which
    // sent callers to their credentials; a policy naming it stored the file once, the list ignored.
    if (fields.has(FANOUT_FIELD)) throw new S3Error('NotImplemented', `MinIO's PutObjectFanOut (the ${FANOUT_FIELD} form field) is not implemented; upload each object with PutObject.`);
    // `${filename}` in the key is the file's name, put in before the policy judges the key (as
    // S3 and MinIO do): the policy's conditions hold for the key the object gets.
    // The name goes in as it is: a string replacement would read `$$`, `$&` or `` $` `` in it as
    // patterns (`Q3 $$ report.pdf` was stored as `Q3 $ report.pdf`).
    const key = rawKey.replaceAll('${filename}', () => file.filename);
    // An empty key field, or an empty file input (`filename=""`, what a browser sends when none
    // was chosen) under a key of `${filename}` alone: S3 stores no object with an empty key,
    // which nothing could address.
    if (key === '') throw new S3Error('InvalidArgument', 'User key must have a length greater than 0.');
    fields.set('key', key);
    const auth: PostAuth = verifyPostPolicy(fields, env.credentials, { bucket: bucketName, region: env.config.region, sigV2: env.config.sigV2, ...(env.sessions !== undefined ? { sessions: env.sessions } : {}) });
    const bucket = requireBucket(env, bucketName);
    // SSE fields no condition names only add encryption, except where the bucket's default names
    // a KMS key: there they would move the object off that key (to the server's, or the form
    // holder's own SSE-C key), which only the signer may choose, in a condition (a key id field
    // has one: the policy named it).
    const displacesKey = bucket.encryption?.algorithm === 'aws:kms' && bucket.encryption.kmsKeyId !== undefined && !fields.has('x-amz-server-side-encryption-aws-kms-key-id');
    if (auth.unconditionedSse !== undefined && displacesKey) throw extraFields(auth.unconditionedSse);
    const keyBytes = Buffer.byteLength(key);
    if (keyBytes > MAX_KEY_BYTES) throw keyTooLongError(keyBytes);
    if (key.includes('\u0000')) throw new S3Error('InvalidArgument', 'Object keys must not contain NUL (U+0000).');
    // The form's signer, when it is a user, needs s3:PutObject on the key its policies allow (an
    // anonymous form: on the key the bucket's policy admits to anyone), and
    // the actions of the options the form sets (tags, Object Lock), as a PutObject with them
    // would. Conditions are judged on what the upload does: the form's fields (its SSE is the
    // form's `x-amz-server-side-encryption` field, not an HTTP header the browser sent beside it);
    // Referer and User-Agent are the request's.
    const headers = fieldsAsHeaders(fields);
    const judged: Record<string, string> = { ...headers };
    delete judged.referer;
    delete judged['user-agent'];
    for (const name of ['referer', 'user-agent']) if (ctx.headers[name] !== undefined) judged[name] = ctx.headers[name];
    const who = { headers: judged, remoteAddress: ctx.remoteAddress ?? '', secure: ctx.secure };
    // The form's tags are its s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys, as S3 judges a POST.
    const taggingXml = fields.get('tagging');
    const tags = taggingXml === undefined || taggingXml === '' ? undefined : parseTagging(Buffer.from(taggingXml, 'utf8'), MAX_OBJECT_TAGS);
    const actions = ['s3:PutObject', ...uploadOptionActions(headers), ...(taggingXml !== undefined ? ['s3:PutObjectTagging'] : [])];
    // s3:authType POST; s3:signatureversion as the form was signed (none for an anonymous form):
    // V4 when x-amz-signature was checked, else V2 (an x-amz-algorithm field beside a V2 signature
    // made a V2 form count as V4, past a policy that requires V4).
    const signer = auth.accessKeyId === '' ? undefined : { authType: 'POST' as const, signatureVersion: fields.has('x-amz-signature') ? 'AWS4-HMAC-SHA256' as const : 'AWS' as const };
    if (!actions.every((a) => userMay(env, auth.accessKeyId, a, bucketName, key, who, { requestTags: tags, signer }))) throw new S3Error('AccessDenied');

    const customerKey = parseCustomerKey(headers);
    if (customerKey) customerKey.key.fill(0);
    if (customerKey && !ctx.secure) {
      throw new S3Error('InvalidRequest', 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.');
    }
    const encReq = writeEncryption(env, { ...ctx, op: 'PutObject', headers }, bucket.encryption, signer?.signatureVersion === 'AWS4-HMAC-SHA256');
    // Wiped at the end, whichever way the upload ends.
    if (encReq.kind === 'SSE-C') sealingKey = encReq.key;
    const none = new URLSearchParams();
    const stored = collectStoredHeaders(headers, none);
    const userMeta = collectUserMeta(headers, none);
    const lock = lockFromHeaders(bucket, headers, none, Date.now());
    requireLockedFormSigV4(lock, signer?.signatureVersion === 'AWS4-HMAC-SHA256');

    // x-amz-checksum-* fields are checked against the file and kept, as the headers are on
    // PutObject (the same rules: one checksum, a valid value, 501 for algorithms s3d lacks); a file
    // without one gets S3's default checksum.
    const sums = checksumDecoder(headers);
    const max = Math.min(auth.lengthRange?.max ?? MAX_POST_OBJECT, MAX_POST_OBJECT, MAX_OBJECT_SIZE);
    // S3 names the bound (MaxSizeAllowed, MinSizeAllowed) and the size; a file cut off at the bound
    // has no size yet, so only the bound is named.
    const tooLarge = (): S3Error => {
      const byPolicy = auth.lengthRange !== undefined && auth.lengthRange.max < MAX_POST_OBJECT;
      const message = byPolicy ? `Your proposed upload exceeds the maximum allowed size of the policy (content-length-range ${auth.lengthRange!.min}-${auth.lengthRange!.max}).` : undefined;
      return new S3Error('EntityTooLarge', message, { fields: { MaxSizeAllowed: String(max) } });
    };
    const source = await peek(bounded(checked(file.stream, sums), max, tooLarge), env.config.inlineThreshold);

    // A Content-MD5 field is checked against the file, as the header is on PutObject; its form
    // before the data key is made: a malformed one costs no KMS call (nor is it a 503 while the KMS is down).
    const wantMd5 = headers['content-md5'] === undefined ? undefined : parseContentMd5(headers['content-md5']);
    const enc = encReq.kind === 'none' ? undefined : await createObjectEncryption(env, encReq, bucketName, key);
    objectKey = enc?.objectKey;
    if (encReq.kind === 'SSE-C') encReq.key.fill(0);
    written = await writeData(dataEnv(env), source.chunks, { key: enc?.objectKey, md5: needsMd5(encReq.kind) || wantMd5 !== undefined, declaredLength: source.length, signal: ctx.signal });
    if (wantMd5 !== undefined && !wantMd5.equals(written.md5!)) throw badDigest(wantMd5, written.md5!); // asked for above
    if (auth.lengthRange && written.size < auth.lengthRange.min) {
      throw new S3Error('EntityTooSmall', `Your proposed upload is smaller than the minimum allowed size of the policy (content-length-range ${auth.lengthRange.min}-${auth.lengthRange.max}).`, {
        fields: { ProposedSize: String(written.size), MinSizeAllowed: String(auth.lengthRange.min) },
      });
    }
    // The whole form must have arrived intact before the object becomes visible.
    await form.done;
    const etag = clientETag(encReq.kind, written.md5, enc?.objectKey);
    const checksums = sums.checksums;
    const mtime = Date.now();
    const record = newObjectRecord(written, { etag, mtime, headers: stored, userMeta, checksums, enc, tags, lock: lockAt(bucket, lock, mtime) });
    const events = requestEvents(env, ctx, bucket, auth.accessKeyId);
    const storedRecord = await env.meta.putObject(bucketName, key, record, inSameBucket(bucket), events?.created('s3:ObjectCreated:Post', key, record)).catch(metaError);
    // Committed: the data file is the object's now, whatever happens to the answer.
    written = undefined;
    events?.wake();
    const location = objectLocation(env, ctx, bucketName, key);
    return successResult(fields, bucketName, key, etag, location, {
      ...versionHeader(storedRecord),
      ...sseResponseHeaders(enc?.record, encReq.kind === 'SSE-C' ? encReq.keyMd5 : undefined),
      ...checksumHeaders(checksums, true),
      // The lifecycle rule that will expire the object, as PutObject's answer (and S3's to a POST) names it.
      ...expirationHeader(bucket.lifecycle, key, record),
    });
  } catch (err) {
    form.stop(err as Error);
    await discardWritten(env, written);
    throw err;
  } finally {
    objectKey?.fill(0);
    sealingKey?.fill(0);
  }
}

// A model-based randomized test of how operations on one bucket play together, encryption
// included: a seeded run of random operations over eight keys (prefixes of each other around `/`,
// one with spaces, one beyond ASCII) against the built daemon, every answer compared with an
// in-memory model of S3's rules. Beside s3-versioning-model.test.ts (versioning, tagging,
// concurrency), this one varies what each version holds: random binary bodies (some past a DARE
// package), no encryption, SSE-S3 or SSE-C under one of two customer keys, Content-Type and user
// metadata; copies with COPY or REPLACE, from a version, re-encrypting (an SSE-C copy onto itself
// rotates its key); two-part multipart uploads (a 5 MiB first part) under each encryption. The
// operations: PutObject, CopyObject, DeleteObject (with and without a version id),
// DeleteObjects, PutBucketVersioning (Enabled/Suspended once versioned), multipart uploads,
// GetObject/HeadObject (with the right customer key, none, the wrong one, or one the object does
// not need), ListObjectsV2 and ListObjectVersions read in random pages under a random prefix and
// delimiter; a restart of the daemon on its data dir mid-run (and at random), after which every
// version of every key is read back. The model's rules (S3 User Guide: versioning, delete markers,
// SSE-C, CopyObject):
//
// - Unversioned and Suspended: a write replaces the key's null version and becomes current;
//   Enabled adds a version. DELETE without a version id: unversioned removes the object, Enabled
//   adds a delete marker, Suspended replaces the null version with a null delete marker. DELETE of
//   a version id removes that version only.
// - GET/HEAD of a key whose current version is a marker: 404 (x-amz-delete-marker); of a marker by
//   id: 405; of a missing version: 404. An SSE-C object read without its key: 400 InvalidRequest,
//   with another key: 403 AccessDenied; customer key headers on an object that is not SSE-C: 400.
// - CopyObject from a current delete marker: 404; naming a marker: 400 InvalidRequest. The copy is
//   encrypted as its request asks (never as its source), holds COPY the source's metadata and
//   Content-Type, REPLACE the request's; onto itself (the current version) without a change of
//   metadata or encryption: 400 InvalidRequest.
// - ETags: the body's MD5 (unencrypted, SSE-S3), MD5 of the parts' MD5s with `-2` for a
//   multipart upload; SSE-C's are opaque (the model keeps what the write answered).
//
// S3D_FUZZ_SEED=<n> replays a seed, S3D_FUZZ_STEPS=<n> runs longer (default 150 steps, a few
// seconds). A failure prints the seed and the last operations.

import t from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ObjectIdentifier,
} from '@aws-sdk/client-s3';
import { prng, startDaemon } from '../helpers/daemon.js';
import { buildHeaders, encodeKey, errorCode, xmlField, type RawOptions } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';
import { ssec, ssecCopy, ssecHeaders } from '../helpers/sse.js';
import { crc32Base64 } from '../helpers/hash.js';
import { byBytes, md5, rollUp, type Status } from '../helpers/versioning-model.js';

const SEED = process.env.S3D_FUZZ_SEED !== undefined ? Number(process.env.S3D_FUZZ_SEED) : 0x5eed_f022;
const STEPS = process.env.S3D_FUZZ_STEPS !== undefined ? Number(process.env.S3D_FUZZ_STEPS) : 150;
const KEYS = ['a', 'a/b', 'a/b/c', 'a/b c', 'ab', 'b/é/ü', 'b/x y z', 'c'];
const PREFIXES = ['', 'a', 'a/', 'a/b', 'a/b/', 'b', 'b/', 'b/é/', 'c', 'z'];
const CUSTOMER_KEYS = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
const CTYPES = ['text/plain', 'application/json', 'image/png'];
/** A well-formed version id no version has. */
const NEVER = '01890a5d-ac96-774b-bcce-b302099a8057';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The first part of multipart uploads: 5 MiB, S3's smallest part but the last. */
const BIG = randomBytes(5 * 1024 * 1024);

type Sse = 'none' | 'SSE-S3' | 'SSE-C';
interface Version {
  id: string;
  marker: boolean;
  body: Buffer;
  etag: string;
  sse: Sse;
  /** Index in CUSTOMER_KEYS (SSE-C). */
  ck: number;
  ctype: string;
  meta: string;
  /** A multipart object's part sizes. */
  parts?: number[];
}

const plainEtag = (b: Buffer): string => `"${md5(b).toString('hex')}"`;
const describe = (v: Version): string => (v.marker ? `marker ${v.id}` : `${v.id} ${v.sse}${v.sse === 'SSE-C' ? v.ck : ''} ${v.body.length}B ${v.etag}`);

class Model {
  status: Status = 'Unversioned';
  readonly keys = new Map<string, Version[]>();
  vs(key: string): Version[] {
    let v = this.keys.get(key);
    if (!v) this.keys.set(key, (v = []));
    return v;
  }
  readId(v: Version): string | undefined {
    return this.status === 'Unversioned' ? undefined : v.id;
  }
  write(key: string, v: Omit<Version, 'id' | 'marker'>, newId: string | undefined): string | undefined {
    const vs = this.vs(key);
    if (this.status === 'Enabled') {
      vs.unshift({ ...v, id: newId ?? '<missing version id>', marker: false });
      return newId;
    }
    const i = vs.findIndex((x) => x.id === 'null');
    if (i >= 0) vs.splice(i, 1);
    vs.unshift({ ...v, id: 'null', marker: false });
    return undefined;
  }
  delete(key: string, versionId: string | undefined, newId: string | undefined): { removed?: Version; marker?: Version } {
    const vs = this.vs(key);
    if (versionId !== undefined) {
      const i = vs.findIndex((v) => v.id === versionId);
      return i < 0 ? {} : { removed: vs.splice(i, 1)[0]! };
    }
    if (this.status === 'Unversioned') {
      const i = vs.findIndex((v) => v.id === 'null');
      return i < 0 ? {} : { removed: vs.splice(i, 1)[0]! };
    }
    const marker: Version = { id: this.status === 'Enabled' ? (newId ?? '<missing marker id>') : 'null', marker: true, body: Buffer.alloc(0), etag: '', sse: 'none', ck: 0, ctype: '', meta: '' };
    let removed: Version | undefined;
    if (this.status === 'Suspended') {
      const i = vs.findIndex((v) => v.id === 'null');
      if (i >= 0) removed = vs.splice(i, 1)[0];
    }
    vs.unshift(marker);
    return removed ? { removed, marker } : { marker };
  }
  /** The version a read or copy names, or its error (status, code). */
  find(key: string, versionId: string | undefined, copy: boolean): Version | { status: number; code: string; marker?: Version } {
    const vs = this.vs(key);
    if (versionId === undefined) {
      const cur = vs[0];
      if (!cur) return { status: 404, code: 'NoSuchKey' };
      if (cur.marker) return { status: 404, code: 'NoSuchKey', marker: cur };
      return cur;
    }
    const v = vs.find((x) => x.id === versionId);
    if (!v) return { status: 404, code: 'NoSuchVersion' };
    if (v.marker) return copy ? { status: 400, code: 'InvalidRequest' } : { status: 405, code: 'MethodNotAllowed', marker: v };
    return v;
  }
  ids(key: string): string[] {
    return this.vs(key).map((v) => v.id);
  }
}

// TLS: S3 takes customer keys over secure connections only.
let d = await startDaemon({ tls: true });
let s3 = d.s3();
let agent = new Agent({ keepAlive: true, maxSockets: 2, ca: d.caCert });
t.teardown(async () => {
  agent.destroy();
  await d.stop();
  d.cleanup();
});

async function restart(): Promise<void> {
  agent.destroy();
  s3.destroy();
  const code = await d.stop();
  if (code !== 0) throw new Error(`the daemon stopped with ${code}`);
  d = await startDaemon({ dataDir: d.dataDir, tls: true });
  s3 = d.s3();
  agent = new Agent({ keepAlive: true, maxSockets: 2, ca: d.caCert });
}

/** A signed request over the daemon's TLS port, its whole answer read. */
function raw(port: number, opts: RawOptions & { agent: Agent }): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const headers = buildHeaders(port, opts);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method, path: opts.query ? `${opts.path}?${opts.query}` : opts.path, headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** An SDK call's result, or its error answer (status, code). */
async function sdk<T>(p: Promise<T>): Promise<{ ok: T } | { err: { status: number; code: string } }> {
  try {
    return { ok: await p };
  } catch (e) {
    const err = e as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (err.$metadata?.httpStatusCode === undefined) throw e;
    return { err: { status: err.$metadata.httpStatusCode, code: err.Code ?? err.name } };
  }
}

t.test(`random operations against the model (seed ${SEED}, S3D_FUZZ_SEED to replay, ${STEPS} steps)`, async (t) => {
  t.comment(`S3D_FUZZ_SEED=${SEED} S3D_FUZZ_STEPS=${STEPS}`);
  const rnd = prng(SEED);
  const bucket = await createBucket(s3, 'fuzz');
  const model = new Model();
  const seen = new Set<string>();
  const trace: string[] = [];
  const counts = new Map<string, number>();
  const count = (what: string): void => void counts.set(what, (counts.get(what) ?? 0) + 1);
  let divergence: string | undefined;
  const started = Date.now();

  const compare = (what: string, expected: unknown, actual: unknown): void => {
    if (divergence !== undefined) return;
    const e = JSON.stringify(expected);
    const a = JSON.stringify(actual);
    if (e !== a) divergence = `${what}\n  expected ${e}\n  actual   ${a}`;
  };
  /** A new version id the daemon answered: checked to be a fresh UUID. */
  const fresh = (what: string, id: string | undefined): string | undefined => {
    if (model.status !== 'Enabled') return id;
    if (id === undefined || !UUID.test(id) || seen.has(id)) compare(`${what}: a new version id`, 'a new UUID', id ?? null);
    if (id !== undefined) seen.add(id);
    return id;
  };
  const vq = (id: string | undefined): string => (id === undefined ? '' : `?versionId=${id}`);
  const pickVersion = (key: string): string | undefined => {
    const r = rnd.next();
    if (r < 0.5) return undefined;
    const own = model.ids(key);
    if (own.length > 0 && r < 0.9) return rnd.pick(own);
    if (r < 0.95) return 'null';
    return seen.size > 0 && rnd.bool() ? rnd.pick([...seen]) : NEVER;
  };
  const pickSse = (): { sse: Sse; ck: number } => {
    const r = rnd.next();
    return { sse: r < 0.4 ? 'none' : r < 0.7 ? 'SSE-S3' : 'SSE-C', ck: rnd.int(2) };
  };
  const sseInput = (sse: Sse, ck: number): Record<string, string> => (sse === 'SSE-C' ? ssec(CUSTOMER_KEYS[ck]!) : sse === 'SSE-S3' ? { ServerSideEncryption: 'AES256' } : {});
  /** The SSE headers of an answer, as the model expects them. */
  const sseAnswer = (sse: Sse, ck: number): Record<string, string> =>
    sse === 'SSE-C' ? { alg: 'AES256', md5: ssec(CUSTOMER_KEYS[ck]!).SSECustomerKeyMD5 } : sse === 'SSE-S3' ? { sse: 'AES256' } : {};
  const sdkSse = (o: { ServerSideEncryption?: string; SSECustomerAlgorithm?: string; SSECustomerKeyMD5?: string }): Record<string, string> => ({
    ...(o.SSECustomerAlgorithm !== undefined ? { alg: o.SSECustomerAlgorithm } : {}),
    ...(o.SSECustomerKeyMD5 !== undefined ? { md5: o.SSECustomerKeyMD5 } : {}),
    ...(o.ServerSideEncryption !== undefined ? { sse: o.ServerSideEncryption } : {}),
  });

  /**
   * GET or HEAD of one version; `keyChoice` says which customer key headers to send. With the
   * right key (or none needed), sometimes a Range, a partNumber, If-Match or If-None-Match, and
   * x-amz-checksum-mode: ENABLED (a whole body's CRC32, when shown, must be its own).
   */
  async function read(key: string, versionId: string | undefined, head: boolean, keyChoice: 'right' | 'none' | 'wrong'): Promise<void> {
    const target = model.find(key, versionId, false);
    let headers: Record<string, string> = {};
    let expected: Record<string, unknown>;
    let query = versionId === undefined ? '' : `versionId=${encodeURIComponent(versionId)}`;
    let extra = '';
    if ('status' in target) {
      expected = { status: target.status, ...(head ? {} : { code: target.code }), ...(target.marker ? { deleteMarker: 'true', versionId: target.marker.id } : {}) };
      if (keyChoice !== 'none') headers = ssecHeaders(CUSTOMER_KEYS[rnd.int(2)]!);
    } else if (target.sse === 'SSE-C' && keyChoice === 'wrong') {
      headers = ssecHeaders(CUSTOMER_KEYS[1 - target.ck]!);
      expected = { status: 403, ...(head ? {} : { code: 'AccessDenied' }) };
    } else if (target.sse === 'SSE-C' && keyChoice === 'none') {
      expected = { status: 400, ...(head ? {} : { code: 'InvalidRequest' }) };
    } else if (target.sse !== 'SSE-C' && keyChoice === 'wrong') {
      headers = ssecHeaders(CUSTOMER_KEYS[rnd.int(2)]!);
      expected = { status: 400, ...(head ? {} : { code: 'InvalidRequest' }) };
    } else {
      if (target.sse === 'SSE-C') headers = ssecHeaders(CUSTOMER_KEYS[target.ck]!);
      if (rnd.bool(0.3)) headers['x-amz-checksum-mode'] = 'ENABLED';
      const size = target.body.length;
      const x = rnd.next();
      let start = 0;
      let end = size - 1;
      let status = 200;
      let partsCount: string | undefined;
      let failed: Record<string, unknown> | undefined;
      if (x < 0.2 && size > 0) {
        // A range: often around the 5 MiB part boundary or a 64 KiB DARE package boundary.
        const near = (): number => Math.max(0, Math.min(size - 1, rnd.pick([0, 65536, 5 * 1024 * 1024, size - 1, rnd.int(size)]) + rnd.int(64) - 32));
        const kind = rnd.int(4);
        if (kind === 0) {
          const a = near();
          const b = a + rnd.pick([0, 1, 15, 16, 17, 65535, 65536, 1_000_000]);
          headers.range = `bytes=${a}-${b}`;
          start = a;
          end = Math.min(b, size - 1);
        } else if (kind === 1) {
          start = near();
          headers.range = `bytes=${start}-`;
        } else if (kind === 2) {
          const n = 1 + rnd.pick([0, 15, 16, 100, 65536, size]);
          headers.range = `bytes=-${n}`;
          start = Math.max(0, size - n);
        } else {
          headers.range = `bytes=${size + rnd.int(3)}-`;
          failed = { status: 416, ...(head ? {} : { code: 'InvalidRange' }) };
        }
        status = 206;
        extra = ` Range: ${headers.range}`;
      } else if (x < 0.3) {
        const parts = target.parts ?? [size];
        const n = 1 + rnd.int(parts.length + 1);
        query += `${query === '' ? '' : '&'}partNumber=${n}`;
        extra = ` partNumber=${n}`;
        if (n > parts.length) failed = { status: 416, ...(head ? {} : { code: 'InvalidPartNumber' }) };
        else {
          start = parts.slice(0, n - 1).reduce((a, b) => a + b, 0);
          end = start + parts[n - 1]! - 1;
          status = end >= start ? 206 : 200;
          if (target.parts) partsCount = String(parts.length);
        }
      } else if (x < 0.4) {
        const match = rnd.bool();
        const etag = match ? target.etag : '"0123456789abcdef0123456789abcdef"';
        if (rnd.bool()) {
          headers['if-match'] = etag;
          if (!match) failed = { status: 412, ...(head ? {} : { code: 'PreconditionFailed' }) };
        } else {
          headers['if-none-match'] = etag;
          // 304: the ETag (and Last-Modified), no x-amz-version-id (as s3d answers it; what S3 sends is not documented).
          if (match) failed = { status: 304, etag: target.etag };
        }
        extra = ` ${headers['if-match'] !== undefined ? 'If-Match' : 'If-None-Match'}: ${etag}`;
      }
      const slice = target.body.subarray(start, end + 1);
      expected = failed ?? {
        status,
        ...(model.readId(target) !== undefined ? { versionId: model.readId(target) } : {}),
        etag: target.etag,
        length: slice.length,
        ...(status === 206 ? { range: `bytes ${start}-${end}/${size}` } : {}),
        ...(partsCount !== undefined ? { partsCount } : {}),
        ctype: target.ctype,
        meta: target.meta,
        sse: sseAnswer(target.sse, target.ck),
        ...(head ? {} : { md5: md5(slice).toString('hex') }),
      };
    }
    const r = await raw(d.port, { method: head ? 'HEAD' : 'GET', path: `/${bucket}/${encodeKey(key)}`, query, headers, agent });
    const actual: Record<string, unknown> = { status: r.status };
    if (r.status >= 300 && !head) actual.code = errorCode(r.body);
    if (r.status < 300 || r.headers['x-amz-delete-marker'] !== undefined) {
      if (r.headers['x-amz-delete-marker'] !== undefined) actual.deleteMarker = String(r.headers['x-amz-delete-marker']);
      if (r.headers['x-amz-version-id'] !== undefined) actual.versionId = String(r.headers['x-amz-version-id']);
    }
    if (r.status === 304) actual.etag = r.headers.etag;
    if (r.status === 200 || r.status === 206) {
      actual.etag = r.headers.etag;
      actual.length = Number(r.headers['content-length']);
      if (r.headers['content-range'] !== undefined) actual.range = r.headers['content-range'];
      if (r.headers['x-amz-mp-parts-count'] !== undefined) actual.partsCount = r.headers['x-amz-mp-parts-count'];
      actual.ctype = r.headers['content-type'];
      actual.meta = r.headers['x-amz-meta-step'];
      const sse: Record<string, string> = {};
      if (r.headers['x-amz-server-side-encryption-customer-algorithm'] !== undefined) sse.alg = String(r.headers['x-amz-server-side-encryption-customer-algorithm']);
      if (r.headers['x-amz-server-side-encryption-customer-key-md5'] !== undefined) sse.md5 = String(r.headers['x-amz-server-side-encryption-customer-key-md5']);
      if (r.headers['x-amz-server-side-encryption'] !== undefined) sse.sse = String(r.headers['x-amz-server-side-encryption']);
      actual.sse = sse;
      if (!head) actual.md5 = md5(r.body).toString('hex');
      // A whole body's full-object CRC32, when shown, is the body's.
      const crc = r.headers['x-amz-checksum-crc32'];
      if (!head && r.status === 200 && typeof crc === 'string' && !crc.includes('-') && r.headers['x-amz-checksum-type'] !== 'COMPOSITE') {
        compare(`GET ${key}${vq(versionId)}: x-amz-checksum-crc32 of the body`, crc32Base64(r.body), crc);
      }
    }
    count(`${head ? 'HEAD' : 'GET'} ${String(expected.status)}`);
    compare(`${head ? 'HEAD' : 'GET'} ${key}${vq(versionId)}${extra} (customer key: ${keyChoice})`, expected, actual);
  }

  async function listV2(prefix: string, delimiter: string | undefined, maxKeys: number, startAfter: string | undefined): Promise<void> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    for (let page = 0; ; page++) {
      if (page > 200) throw new Error('ListObjectsV2 did not end');
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter, MaxKeys: maxKeys, ContinuationToken: token, StartAfter: startAfter }));
      const n = (out.Contents ?? []).length + (out.CommonPrefixes ?? []).length;
      if (n > maxKeys || (out.IsTruncated && n === 0)) compare('ListObjectsV2 page size', `1..${maxKeys}`, n);
      keys.push(...(out.Contents ?? []).map((c) => `${c.Key} ${c.ETag} ${c.Size}`));
      prefixes.push(...(out.CommonPrefixes ?? []).map((c) => `${c.Prefix}`));
      if (!out.IsTruncated) break;
      token = out.NextContinuationToken;
    }
    const current = [...model.keys.keys()]
      .filter((k) => k.startsWith(prefix) && (startAfter === undefined || byBytes(k, startAfter) > 0) && model.vs(k)[0] !== undefined && !model.vs(k)[0]!.marker)
      .sort(byBytes);
    const { direct, prefixes: rolled } = rollUp(current, prefix, delimiter);
    // A common prefix at or before start-after counts as listed before: S3's API reference filters
    // out a common prefix not lexicographically greater than StartAfter (s3d, MinIO and Ceph RGW agree).
    const eprefixes = rolled.filter((p) => startAfter === undefined || byBytes(p, startAfter) > 0);
    count('ListObjectsV2');
    compare(
      `ListObjectsV2 prefix=${prefix} delimiter=${String(delimiter)} max-keys=${maxKeys} start-after=${String(startAfter)}`,
      { keys: direct.map((k) => `${k} ${model.vs(k)[0]!.etag} ${model.vs(k)[0]!.body.length}`), prefixes: eprefixes },
      { keys, prefixes: [...new Set(prefixes)].sort(byBytes) },
    );
  }

  async function listVersions(prefix: string, delimiter: string | undefined, maxKeys: number): Promise<void> {
    const out: string[] = [];
    const prefixes: string[] = [];
    let markers = '';
    const scope = `${prefix !== '' ? `&prefix=${encodeURIComponent(prefix)}` : ''}${delimiter !== undefined ? `&delimiter=${encodeURIComponent(delimiter)}` : ''}`;
    for (let page = 0; ; page++) {
      if (page > 500) throw new Error('ListObjectVersions did not end');
      const r = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: `max-keys=${maxKeys}&versions=${scope}${markers}`, agent });
      if (r.status !== 200) throw new Error(`ListObjectVersions: ${r.status} ${r.body.toString()}`);
      const text = r.body.toString();
      let n = 0;
      for (const m of text.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
        n++;
        const f = (name: string): string | undefined => xmlField(m[2]!, name)?.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
        out.push(`${f('Key')} ${f('VersionId')}${m[1] === 'DeleteMarker' ? ' M' : ''}${f('IsLatest') === 'true' ? ' *' : ''}${m[1] === 'Version' ? ` ${f('ETag')} ${f('Size')}` : ''}`);
      }
      for (const m of text.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
        n++;
        prefixes.push(xmlField(m[1]!, 'Prefix')!.replace(/&amp;/g, '&'));
      }
      if (n > maxKeys) compare('ListObjectVersions page size', `<= ${maxKeys}`, n);
      if (xmlField(text, 'IsTruncated') !== 'true') break;
      const nk = xmlField(text, 'NextKeyMarker')?.replace(/&amp;/g, '&');
      const nv = xmlField(text, 'NextVersionIdMarker');
      markers = `&key-marker=${encodeURIComponent(nk ?? '')}${nv !== undefined ? `&version-id-marker=${encodeURIComponent(nv)}` : ''}`;
    }
    const keys = [...model.keys.keys()].filter((k) => k.startsWith(prefix) && model.vs(k).length > 0).sort(byBytes);
    const { direct, prefixes: eprefixes } = rollUp(keys, prefix, delimiter);
    const expected = direct.flatMap((k) => model.vs(k).map((v, i) => `${k} ${v.id}${v.marker ? ' M' : ''}${i === 0 ? ' *' : ''}${v.marker ? '' : ` ${v.etag} ${v.body.length}`}`));
    count('ListObjectVersions');
    compare(`ListObjectVersions prefix=${prefix} delimiter=${String(delimiter)} max-keys=${maxKeys}`, { versions: expected, prefixes: eprefixes }, { versions: out, prefixes: [...new Set(prefixes)].sort(byBytes) });
  }

  /** Every version of every key read back, and the listings whole. */
  async function verifyAll(why: string): Promise<void> {
    trace.push(`verify all (${why})`);
    const gv = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    compare(`GetBucketVersioning (${why})`, model.status === 'Unversioned' ? undefined : model.status, gv.Status);
    for (const [key, vs] of model.keys) {
      await read(key, undefined, false, 'right');
      for (const v of vs) if (divergence === undefined && model.status !== 'Unversioned') await read(key, v.id, false, 'right');
    }
    if (divergence === undefined) await listVersions('', undefined, 1000);
    if (divergence === undefined) await listV2('', undefined, 1000, undefined);
  }

  for (let step = 0; step < STEPS && divergence === undefined; step++) {
    const key = rnd.pick(KEYS);
    const r = rnd.next();
    const meta = String(step);
    if (step === Math.floor(STEPS / 2) || r < 0.01) {
      trace.push(`${step}: restart`);
      count('restart');
      await restart();
      await verifyAll(`after the restart at step ${step}`);
    } else if (step === 5 || (step > 5 && r < 0.06)) {
      const Status = step === 5 ? rnd.pick(['Enabled', 'Suspended'] as const) : model.status === 'Enabled' ? 'Suspended' : 'Enabled';
      trace.push(`${step}: PutBucketVersioning ${Status}`);
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
      model.status = Status;
    } else if (r < 0.3) {
      const { sse, ck } = pickSse();
      const size = rnd.bool(0.05) ? 65536 + rnd.int(70000) : rnd.bool(0.1) ? 0 : 1 + rnd.int(300);
      const bodyBytes = randomBytes(size);
      const ctype = rnd.pick(CTYPES);
      trace.push(`${step}: PUT ${key} ${size}B ${sse}${sse === 'SSE-C' ? ck : ''} ${ctype}`);
      const res = await sdk(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bodyBytes, ContentType: ctype, Metadata: { step: meta }, ...sseInput(sse, ck) })));
      if ('err' in res) compare(`PUT ${key}`, 'ok', res.err);
      else {
        const etag = sse === 'SSE-C' ? res.ok.ETag! : plainEtag(bodyBytes);
        const id = model.write(key, { body: bodyBytes, etag, sse, ck, ctype, meta }, fresh(`PUT ${key}`, res.ok.VersionId));
        compare(`PUT ${key}`, { versionId: id, etag, sse: sseAnswer(sse, ck) }, { versionId: res.ok.VersionId, etag: res.ok.ETag, sse: sdkSse(res.ok) });
        count(`PUT ${sse}`);
      }
    } else if (r < 0.45) {
      const from = rnd.bool(0.25) ? key : rnd.pick(KEYS);
      const vid = pickVersion(from);
      const { sse, ck } = pickSse();
      const replace = rnd.bool(0.4);
      const ctype = rnd.pick(CTYPES);
      const src = model.find(from, vid, true);
      // The source's customer key: the right one, or (rarely) none.
      const srcKey = !('status' in src) && src.sse === 'SSE-C' ? (rnd.bool(0.9) ? src.ck : -1) : -1;
      trace.push(`${step}: COPY ${from}${vq(vid)} → ${key} ${replace ? `REPLACE ${ctype}` : 'COPY'} ${sse}${sse === 'SSE-C' ? ck : ''}${srcKey >= 0 ? ` source key ${srcKey}` : ''}`);
      const res = await sdk(
        s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key,
            CopySource: `${bucket}/${encodeKey(from)}${vid === undefined ? '' : `?versionId=${encodeURIComponent(vid)}`}`,
            ...(replace ? { MetadataDirective: 'REPLACE', ContentType: ctype, Metadata: { step: meta } } : {}),
            ...sseInput(sse, ck),
            ...(srcKey >= 0 ? ssecCopy(CUSTOMER_KEYS[srcKey]!) : {}),
          }),
        ),
      );
      const what = `COPY ${from}${vq(vid)} → ${key}`;
      const actualErr = 'err' in res ? res.err : { status: 200 };
      if ('status' in src) {
        count(`COPY ${src.status}`);
        compare(what, { status: src.status, code: src.code }, actualErr);
      } else {
        const current = model.vs(from)[0];
        const sameObject = from === key && current === src;
        const changes = replace || sse !== 'none' || src.sse !== 'none';
        if (src.sse === 'SSE-C' && srcKey < 0) {
          count('COPY without the source key');
          compare(what, { status: 400, code: 'InvalidRequest' }, actualErr);
        } else if (sameObject && !changes) {
          count('COPY onto itself 400');
          compare(what, { status: 400, code: 'InvalidRequest' }, actualErr);
        } else if ('err' in res) compare(what, { status: 200 }, res.err);
        else {
          count(`COPY ${sameObject ? 'onto itself ' : ''}${src.sse}→${sse}`);
          const etag = sse === 'SSE-C' ? res.ok.CopyObjectResult?.ETag ?? '<none>' : plainEtag(src.body);
          const sourceId = model.readId(src);
          // A copy is a single-part object, but for s3d's SSE-C key rotation in place, which keeps the data (and its parts).
          const rotation = sameObject && src.sse === 'SSE-C' && sse === 'SSE-C';
          const id = model.write(key, { body: src.body, etag, sse, ck, ctype: replace ? ctype : src.ctype, meta: replace ? meta : src.meta, ...(rotation && src.parts ? { parts: src.parts } : {}) }, fresh(what, res.ok.VersionId));
          compare(what, { versionId: id, copySourceVersionId: sourceId, etag, sse: sseAnswer(sse, ck) }, { versionId: res.ok.VersionId, copySourceVersionId: res.ok.CopySourceVersionId, etag: res.ok.CopyObjectResult?.ETag, sse: sdkSse(res.ok) });
        }
      }
    } else if (r < 0.57) {
      const vid = pickVersion(key);
      trace.push(`${step}: DELETE ${key}${vq(vid)}`);
      const out = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(vid === undefined ? {} : { VersionId: vid }) }));
      const res = model.delete(key, vid, vid === undefined ? fresh(`DELETE ${key}`, out.VersionId) : undefined);
      count(`DELETE ${vid === undefined ? model.status : 'by id'}`);
      let expected: Record<string, unknown>;
      if (vid !== undefined) expected = { ...(res.removed?.marker ? { deleteMarker: true } : {}), versionId: vid };
      else if (res.marker) expected = { deleteMarker: true, versionId: res.marker.id };
      else expected = {};
      compare(`DELETE ${key}${vq(vid)}`, expected, { ...(out.DeleteMarker !== undefined ? { deleteMarker: out.DeleteMarker } : {}), ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}) });
    } else if (r < 0.63) {
      const batch = KEYS.filter(() => rnd.bool(0.35));
      if (batch.length === 0) continue;
      const objects: ObjectIdentifier[] = batch.map((k) => {
        const vid = pickVersion(k);
        return vid === undefined ? { Key: k } : { Key: k, VersionId: vid };
      });
      trace.push(`${step}: DeleteObjects ${objects.map((o) => `${o.Key}${vq(o.VersionId)}`).join(', ')}`);
      count('DeleteObjects');
      const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      const deleted = out.Deleted ?? [];
      const expected = objects.map((o) => {
        const got = deleted.find((x) => x.Key === o.Key);
        const res = model.delete(o.Key!, o.VersionId, o.VersionId === undefined ? fresh(`DeleteObjects ${o.Key}`, got?.DeleteMarkerVersionId) : undefined);
        if (o.VersionId !== undefined) return { Key: o.Key, VersionId: o.VersionId, ...(res.removed?.marker ? { DeleteMarker: true, DeleteMarkerVersionId: o.VersionId } : {}) };
        return { Key: o.Key, ...(res.marker ? { DeleteMarker: true, DeleteMarkerVersionId: res.marker.id } : {}) };
      });
      const actual = objects.map((o) => {
        const got = deleted.find((x) => x.Key === o.Key);
        if (!got) return { Key: o.Key, error: out.Errors?.find((e) => e.Key === o.Key)?.Code ?? 'missing' };
        return { Key: got.Key, ...(got.VersionId !== undefined ? { VersionId: got.VersionId } : {}), ...(got.DeleteMarker !== undefined ? { DeleteMarker: got.DeleteMarker } : {}), ...(got.DeleteMarkerVersionId !== undefined ? { DeleteMarkerVersionId: got.DeleteMarkerVersionId } : {}) };
      });
      compare('DeleteObjects', expected, actual);
    } else if (r < 0.67) {
      // A multipart upload: a 5 MiB first part and a small last one, or one small part; the last
      // part uploaded, or copied (UploadPartCopy) from a range of a version of any key.
      const { sse, ck } = pickSse();
      const two = rnd.bool(0.5);
      const sources = [...model.keys].flatMap(([k, vs]) => vs.filter((v) => !v.marker && v.body.length > 0).map((v) => ({ k, v })));
      const copied = sources.length > 0 && rnd.bool(0.4) ? rnd.pick(sources) : undefined;
      let last: Buffer = randomBytes(rnd.int(200));
      let range: string | undefined;
      if (copied) {
        const size = copied.v.body.length;
        const a = rnd.bool(0.3) ? Math.max(0, 5 * 1024 * 1024 - rnd.int(100)) % size : rnd.int(size);
        const b = Math.min(size - 1, a + rnd.int(300));
        range = rnd.bool(0.2) && size <= 300 ? undefined : `bytes=${a}-${b}`;
        last = range === undefined ? copied.v.body : copied.v.body.subarray(a, b + 1);
      }
      const parts = two ? [BIG, last] : [last];
      const ctype = rnd.pick(CTYPES);
      const copyVid = copied && (model.status === 'Unversioned' || (rnd.bool(0.3) && model.vs(copied.k)[0] === copied.v)) ? undefined : copied?.v.id;
      trace.push(`${step}: MULTIPART ${key} ${parts.map((p) => p.length).join('+')}B ${sse}${sse === 'SSE-C' ? ck : ''}${copied ? ` last part copied from ${copied.k}${vq(copyVid)} ${range ?? 'whole'} (${copied.v.sse}${copied.v.sse === 'SSE-C' ? copied.v.ck : ''})` : ''}`);
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: ctype, Metadata: { step: meta }, ...sseInput(sse, ck) }));
      compare(`CreateMultipartUpload ${key}`, sseAnswer(sse, ck), sdkSse(up));
      const etags: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        const dstKey = sse === 'SSE-C' ? ssec(CUSTOMER_KEYS[ck]!) : {};
        if (copied && i === parts.length - 1) {
          const pc = await sdk(
            s3.send(
              new UploadPartCopyCommand({
                Bucket: bucket,
                Key: key,
                UploadId: up.UploadId,
                PartNumber: i + 1,
                CopySource: `${bucket}/${encodeKey(copied.k)}${copyVid === undefined ? '' : `?versionId=${encodeURIComponent(copyVid)}`}`,
                ...(range !== undefined ? { CopySourceRange: range } : {}),
                ...dstKey,
                ...(copied.v.sse === 'SSE-C' ? ssecCopy(CUSTOMER_KEYS[copied.v.ck]!) : {}),
              }),
            ),
          );
          if ('err' in pc) {
            compare(`UploadPartCopy from ${copied.k}${vq(copyVid)} ${range ?? ''}`, 'ok', pc.err);
            break;
          }
          compare(`UploadPartCopy from ${copied.k}${vq(copyVid)}: x-amz-copy-source-version-id`, model.readId(copied.v) ?? null, pc.ok.CopySourceVersionId ?? null);
          if (sse !== 'SSE-C') compare(`UploadPartCopy ${i + 1} ETag`, plainEtag(last), pc.ok.CopyPartResult?.ETag);
          etags.push(pc.ok.CopyPartResult!.ETag!);
        } else {
          const p = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body: parts[i], ...dstKey }));
          if (sse !== 'SSE-C') compare(`UploadPart ${i + 1}`, plainEtag(parts[i]!), p.ETag);
          etags.push(p.ETag!);
        }
      }
      if (divergence !== undefined) break;
      const res = await sdk(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } })));
      if ('err' in res) compare(`MULTIPART ${key}`, 'ok', res.err);
      else {
        const etag = sse === 'SSE-C' ? res.ok.ETag! : `"${md5(Buffer.concat(parts.map(md5))).toString('hex')}-${parts.length}"`;
        const id = model.write(key, { body: Buffer.concat(parts), etag, sse, ck, ctype, meta, parts: parts.map((p) => p.length) }, fresh(`MULTIPART ${key}`, res.ok.VersionId));
        count(`MULTIPART ${sse}${copied ? ' part copied' : ''}`);
        compare(`MULTIPART ${key}`, { versionId: id, etag, sse: sse === 'SSE-S3' ? { sse: 'AES256' } : {} }, { versionId: res.ok.VersionId, etag: res.ok.ETag, sse: sdkSse(res.ok) });
      }
    } else if (r < 0.87) {
      const vid = pickVersion(key);
      const keyChoice = rnd.pick(['right', 'right', 'right', 'none', 'wrong'] as const);
      trace.push(`${step}: READ ${key}${vq(vid)} ${keyChoice}`);
      await read(key, vid, rnd.bool(0.3), keyChoice);
      continue;
    } else if (r < 0.94) {
      const prefix = rnd.pick(PREFIXES);
      const delimiter = rnd.pick([undefined, '/', '/', 'b']);
      const maxKeys = rnd.pick([1, 2, 3, 5, 1000]);
      const startAfter = rnd.bool(0.2) ? rnd.pick(KEYS) : undefined;
      trace.push(`${step}: ListObjectsV2 ${prefix}|${String(delimiter)}|${maxKeys}|${String(startAfter)}`);
      await listV2(prefix, delimiter, maxKeys, startAfter);
      continue;
    } else {
      const prefix = rnd.pick(PREFIXES);
      const delimiter = rnd.pick([undefined, '/', '/', 'b']);
      const maxKeys = rnd.pick([1, 2, 3, 5, 1000]);
      trace.push(`${step}: ListObjectVersions ${prefix}|${String(delimiter)}|${maxKeys}`);
      await listVersions(prefix, delimiter, maxKeys);
      continue;
    }
    // After each change, the key read back as it is now.
    if (divergence === undefined) await read(key, undefined, false, 'right');
  }
  if (divergence === undefined) await verifyAll('at the end');

  t.comment([...counts].sort().map(([k, n]) => `${k}: ${n}`).join(', '));
  if (divergence !== undefined) {
    const state = [...model.keys].filter(([, vs]) => vs.length > 0).map(([k, vs]) => `  ${k}: ${vs.map(describe).join(' | ')}`);
    t.comment(`operations (seed ${SEED}):\n${trace.slice(-60).join('\n')}\nmodel (${model.status}):\n${state.join('\n')}`);
    t.fail(`seed ${SEED}: the daemon and the model differ: ${divergence}`);
  } else t.pass(`seed ${SEED}: ${STEPS} steps agree with the model in ${Date.now() - started} ms`);
});

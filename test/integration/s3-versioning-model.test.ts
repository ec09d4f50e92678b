// A model-based randomized test of bucket versioning: an in-memory reference model of S3's
// documented versioning behaviour for one bucket (AWS S3 User Guide, "Working with objects in a
// versioning-enabled bucket", "... in a versioning-suspended bucket", "Deleting object versions",
// "Working with delete markers"), and a seeded run of random operations over six keys against the
// built daemon, every answer compared with the model's: PutObject (tagged, If-None-Match: *,
// If-Match), POST Object, one-part multipart uploads (the part uploaded or UploadPartCopy'd from a
// version), CopyObject (from a key, a version, the key itself), DeleteObject with and without a
// version id (of objects, delete markers, the null version, versions removed before, ids that never
// existed), DeleteObjects batches, PutBucketVersioning Enabled/Suspended (the bucket starts
// unversioned and never goes back), GetObject/HeadObject (status, x-amz-delete-marker,
// x-amz-version-id, body, ETag, metadata, tag count), GetObjectAttributes and the tagging calls,
// with and without a version id; requests on distinct keys at once, and requests on one key at once
// (with a versioning change among them: the answers, the key's versions and what the versions they
// wrote hold must be those of some order of them, a copy reading its source at one moment and
// writing at a later one); restarts. Every tenth step: GetBucketVersioning, ListObjectVersions
// whole, in pages, from a key or version marker, under a prefix and delimiter (and each key's
// Last-Modified never going up along its versions, but for multipart uploads', which s3d dates at
// their initiation and places at their completion: a deliberate difference), ListObjectsV2
// likewise. The model's rules:
//
// - Unversioned and Suspended: a write replaces the key's null version (object or marker), wherever
//   it is in the key's history, and becomes current, answering no x-amz-version-id; Enabled: a write
//   adds a version with a new id.
// - DELETE without a version id: unversioned, removes the object; Enabled, adds a delete marker;
//   Suspended, removes the null version and adds a null delete marker on top.
// - DELETE with a version id removes that version for good (the next newest becomes current); of a
//   marker, answers x-amz-delete-marker: true; of an id the key does not have, 204 all the same.
// - GET/HEAD: a key whose current version is a marker is 404 NoSuchKey with x-amz-delete-marker
//   and the marker's id; naming a marker is 405 MethodNotAllowed; a missing version NoSuchVersion.
//   x-amz-version-id is on every read once the bucket has had versioning (`null` included).
// - CopyObject and UploadPartCopy from a key whose current version is a marker are NoSuchKey;
//   naming a marker is 400 InvalidRequest. The tagging calls on a marker are 405.
// - ListObjectVersions: keys in order, each key's versions newest first, IsLatest on the first.
//
// A failure prints the seed and the operations before it; VMODEL_SEED=<n> replays a seed,
// VMODEL_STEPS=<n> runs longer, VMODEL_KEYS=<n> uses the first n keys only (deeper histories). The
// default seed and 1,000 steps take about 15 s.

import t from 'tap';
import { Agent } from 'node:http';
import { createHmac } from 'node:crypto';
import { deriveSigningKey } from '../../daemon/auth/sigv4.js';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectAttributesCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ObjectIdentifier,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, prng, REGION, SECRET_KEY, startDaemon } from '../helpers/daemon.js';
import { formData, postForm } from '../helpers/post-object.js';
import { encodeKey, errorCode, raw, xmlField } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';
import { type Answer, byBytes, etag, line, Model, multipartEtag, type NewId, type Version } from '../helpers/versioning-model.js';

const SEED = process.env.VMODEL_SEED !== undefined ? Number(process.env.VMODEL_SEED) : 0x7e51_0d1e;
const STEPS = process.env.VMODEL_STEPS !== undefined ? Number(process.env.VMODEL_STEPS) : 1000;
/** Keys that are prefixes of each other, sort around the delimiter and a space, and one beyond ASCII (S3 lists in UTF-8 byte order). */
const KEYS = ['a', 'a b', 'a/', 'a/b', 'c/d', 'é'].slice(0, process.env.VMODEL_KEYS !== undefined ? Number(process.env.VMODEL_KEYS) : undefined);
/** Well-formed version ids no version ever has (UUIDv7 from 2023). */
const NEVER = ['01890a5d-ac96-774b-bcce-b302099a8057', '01890a5d-ac96-7000-8000-000000000000'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---- the run

let d = await startDaemon();
let s3 = d.s3();
t.teardown(async () => {
  await d.stop();
  d.cleanup();
});
let agent = new Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

/** Stops the daemon and starts another on its data dir. */
async function restart(): Promise<void> {
  agent.destroy();
  const code = await d.stop();
  if (code !== 0) throw new Error(`the daemon stopped with ${code}`);
  d = await startDaemon({ dataDir: d.dataDir });
  s3 = d.s3();
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
}

/** An SDK call's result, or its error answer (status and code). */
async function sdk<T>(p: Promise<T>): Promise<{ ok: T } | { err: Answer }> {
  try {
    return { ok: await p };
  } catch (e) {
    const err = e as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (err.$metadata?.httpStatusCode === undefined) throw e;
    return { err: { status: err.$metadata.httpStatusCode, code: err.Code ?? err.name } };
  }
}

function tagString(tags: Array<{ Key?: string; Value?: string }> | undefined): string {
  return (tags ?? []).map((x) => `${x.Key}=${x.Value}`).join('&');
}

t.test(`random operations against the model (seed ${SEED}, VMODEL_SEED to replay)`, async (t) => {
  const rnd = prng(SEED);
  const bucket = await createBucket(s3, 'vmodel');
  const model = new Model();
  const seen = new Set<string>(); // every version id the daemon handed out
  const removedIds: string[] = []; // real ids of versions removed for good
  const trace: string[] = [];
  const counts = new Map<string, number>();
  const count = (what: string): void => void counts.set(what, (counts.get(what) ?? 0) + 1);
  let divergence: string | undefined;
  let ops = 0;
  const started = Date.now();

  /** The id a creating operation answered, if it is a new UUID (otherwise a value that cannot match). */
  const fresh =
    (got: string | undefined): NewId =>
    () => {
      if (got === undefined || !UUID.test(got) || seen.has(got)) return `<not a new version id: ${String(got)}>`;
      seen.add(got);
      return got;
    };

  const compare = (what: string, expected: unknown, actual: unknown): void => {
    if (divergence !== undefined) return;
    if (JSON.stringify(expected) !== JSON.stringify(actual)) {
      divergence = `${what}\n  expected ${JSON.stringify(expected)}\n  actual   ${JSON.stringify(actual)}`;
    }
  };

  const objectPath = (key: string): string => `/${bucket}/${encodeKey(key)}`;
  const vq = (versionId: string | undefined): string => (versionId === undefined ? '' : `?versionId=${versionId}`);

  /** A version id to name for `key`: one of its own, null, another key's, one removed, one never made. */
  const pickVersionId = (key: string): string => {
    const own = model.ids(key);
    const r = rnd.next();
    if (own.length > 0 && r < 0.6) return rnd.pick(own);
    if (r < 0.72) return 'null';
    if (r < 0.84 && seen.size > 0) return rnd.pick([...seen]);
    if (r < 0.92 && removedIds.length > 0) return rnd.pick(removedIds);
    return rnd.pick(NEVER);
  };
  const maybeVersionId = (key: string): string | undefined => (rnd.bool(0.5) ? pickVersionId(key) : undefined);

  const noteRemoved = (v: Version | undefined): void => {
    if (v && v.id !== 'null') removedIds.push(v.id);
  };

  async function readStep(key: string, versionId: string | undefined, head: boolean): Promise<void> {
    const actual = await readAnswer(key, versionId, head);
    const expected = { ...model.read(key, versionId) };
    if (head) {
      delete expected.code;
      delete expected.body;
      delete expected.tagCount; // s3d sends it on HEAD too (a deliberate difference)
    }
    count(`${head ? 'HEAD' : 'GET'} ${expected.status}`);
    compare(`${head ? 'HEAD' : 'GET'} ${key}${vq(versionId)}`, expected, actual);
  }

  /** A GET or HEAD as an Answer. */
  async function readAnswer(key: string, versionId: string | undefined, head: boolean): Promise<Answer> {
    const r = await raw(d.port, { method: head ? 'HEAD' : 'GET', path: objectPath(key), query: versionId === undefined ? undefined : `versionId=${encodeURIComponent(versionId)}`, agent });
    const actual: Answer = { status: r.status };
    if (r.status !== 200 && !head) actual.code = errorCode(r.body);
    if (r.headers['x-amz-delete-marker'] !== undefined) actual.deleteMarker = String(r.headers['x-amz-delete-marker']);
    if (r.headers['x-amz-version-id'] !== undefined) actual.versionId = String(r.headers['x-amz-version-id']);
    if (r.status === 200) {
      if (!head) actual.body = r.body.toString();
      actual.etag = String(r.headers.etag);
      actual.meta = String(r.headers['x-amz-meta-step']);
      if (!head && r.headers['x-amz-tagging-count'] !== undefined) actual.tagCount = String(r.headers['x-amz-tagging-count']);
    }
    return actual;
  }

  async function checkListings(): Promise<void> {
    const gv = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
    compare('GetBucketVersioning', model.status === 'Unversioned' ? undefined : model.status, gv.Status);
    // The whole listing in one page, then in pages of 1–8 entries, then under a prefix or delimited.
    // The paged walk was half the file's requests (~3,300 of ~7,000 in pages of 1–4, over a
    // history that grows all along); in pages of 1–8, ~1,900: a page still ends at every kind of
    // entry, pages of one entry included.
    compare('ListObjectVersions', model.listing(), await listVersions(1000));
    const size = 1 + rnd.int(8);
    const encoded = rnd.bool(0.5);
    compare(`ListObjectVersions in pages of ${size}${encoded ? ' encoding-type=url' : ''}`, model.listing(), await listVersions(size, '', undefined, '', encoded));
    const prefix = rnd.pick(['', 'a', 'a/', 'c', 'c/d', 'é']);
    const delimiter = rnd.pick([undefined, '/']);
    const pageSize = rnd.pick([1, 2, 3, 1000]);
    compare(`ListObjectVersions prefix=${prefix} delimiter=${String(delimiter)} max-keys=${pageSize}${encoded ? ' encoding-type=url' : ''}`, model.listing(prefix, delimiter), await listVersions(pageSize, prefix, delimiter, '', encoded));
    // Starting after a key (key-marker alone), or after one of its versions (with version-id-marker).
    const all = model.listing();
    if (all.length > 0) {
      const at = rnd.int(all.length);
      const [k, rest] = all[at]!.split('\t') as [string, string];
      const id = rest.split(' ')[0]!;
      const byKey = rnd.bool(0.3);
      const expected = byKey ? all.filter((l) => byBytes(l.split('\t')[0]!, k) > 0) : all.slice(at + 1);
      const from = `&key-marker=${encodeURIComponent(k)}${byKey ? '' : `&version-id-marker=${encodeURIComponent(id)}`}`;
      compare(`ListObjectVersions key-marker=${k}${byKey ? '' : ` version-id-marker=${id}`}`, expected, await listVersions(1 + rnd.int(1000), '', undefined, from));
    }
    for (const [p, dl, max] of [['', undefined, 1000], [prefix, delimiter, pageSize]] as const) {
      const keys: string[] = [];
      const prefixes: string[] = [];
      let token: string | undefined;
      do {
        const v2 = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: p, Delimiter: dl, MaxKeys: max, ContinuationToken: token }));
        keys.push(...(v2.Contents ?? []).map((c) => c.Key!));
        prefixes.push(...(v2.CommonPrefixes ?? []).map((c) => c.Prefix!));
        token = v2.IsTruncated ? v2.NextContinuationToken : undefined;
      } while (token !== undefined);
      compare(`ListObjectsV2 prefix=${p} delimiter=${String(dl)} max-keys=${max}`, model.current(p, dl), [...keys, ...prefixes]);
    }
  }

  /** ListObjectVersions read to its end; `encoded` asks for encoding-type=url (keys decoded as the SDKs do, `+` a space). */
  async function listVersions(maxKeys: number, prefix = '', delimiter?: string, from = '', encoded = false): Promise<string[]> {
    const dec = (v: string | undefined): string | undefined => (encoded && v !== undefined ? decodeURIComponent(v.replace(/\+/g, ' ')) : v);
    const out: string[] = [];
    const prefixes: string[] = [];
    let markers = from;
    let lastKey = '';
    let lastModified = Infinity;
    const scope = `${prefix !== '' ? `&prefix=${encodeURIComponent(prefix)}` : ''}${delimiter !== undefined ? `&delimiter=${encodeURIComponent(delimiter)}` : ''}${encoded ? '&encoding-type=url' : ''}`;
    for (let page = 0; page < 2000; page++) {
      const r = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: `max-keys=${maxKeys}&versions=${scope}${markers}`, agent });
      if (r.status !== 200) throw new Error(`ListObjectVersions: ${r.status} ${r.body.toString()}`);
      const text = r.body.toString();
      for (const m of text.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
        const isMarker = m[1] === 'DeleteMarker';
        // Each key's versions newest first: Last-Modified never goes up along them. Not a multipart
        // upload's (its initiation, placed where it completed: a deliberate difference from S3).
        const k = dec(xmlField(m[2]!, 'Key'))!;
        const lm = Date.parse(xmlField(m[2]!, 'LastModified')!);
        if (k !== lastKey) lastModified = Infinity;
        lastKey = k;
        if (!/-\d+&quot;/.test(xmlField(m[2]!, 'ETag') ?? '')) {
          if (lm > lastModified) compare(`ListObjectVersions: ${k}'s versions newest first`, `${xmlField(m[2]!, 'VersionId')} not after ${lastModified}`, lm);
          lastModified = lm;
        }
        out.push(line(k, xmlField(m[2]!, 'VersionId')!, isMarker, xmlField(m[2]!, 'IsLatest') === 'true', isMarker ? undefined : xmlField(m[2]!, 'ETag')?.replace(/&quot;/g, '"')));
      }
      for (const m of text.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) prefixes.push(dec(xmlField(m[1]!, 'Prefix'))!);
      if (xmlField(text, 'IsTruncated') !== 'true') return [...out, ...prefixes];
      const nk = dec(xmlField(text, 'NextKeyMarker'));
      const nv = xmlField(text, 'NextVersionIdMarker');
      markers = `&key-marker=${encodeURIComponent(nk ?? '')}${nv !== undefined ? `&version-id-marker=${encodeURIComponent(nv)}` : ''}`;
    }
    throw new Error('ListObjectVersions did not end');
  }

  /** A write's answer against the model's: the error, or the new version's id. */
  function checkWrite(what: string, key: string, content: Omit<Version, 'id' | 'marker'>, pre: Answer | undefined, res: { ok: { VersionId?: string } } | { err: Answer }): void {
    if (pre) {
      count(`${what.split(' ')[0]} ${pre.status}`);
      compare(what, pre, 'err' in res ? res.err : { status: 200 });
      return;
    }
    if ('err' in res) return compare(what, { status: 200 }, res.err);
    count(`${what.split(' ')[0]} ${model.status}`);
    compare(what, { versionId: model.write(key, content, fresh(res.ok.VersionId)) }, { versionId: res.ok.VersionId });
  }

  /** A browser-form upload with a SigV4 policy that names the key. */
  function postObject(key: string, body: string, tags: string, meta: string): ReturnType<typeof postForm> {
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const credential = `${ACCESS_KEY}/${date.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(Date.now() + 600_000).toISOString(),
        conditions: [{ bucket }, { key }, ['starts-with', '$tagging', ''], { 'x-amz-meta-step': meta }, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date }],
      }),
    ).toString('base64');
    const signature = createHmac('sha256', deriveSigningKey(SECRET_KEY, date.slice(0, 8), REGION, 's3')).update(policy).digest('hex');
    const tagging = tags === '' ? '<Tagging><TagSet></TagSet></Tagging>' : `<Tagging><TagSet>${tags.split('&').map((p) => `<Tag><Key>${p.split('=')[0]}</Key><Value>${p.split('=')[1]}</Value></Tag>`).join('')}</TagSet></Tagging>`;
    const fields: Array<[string, string]> = [
      ['key', key],
      ['tagging', tagging],
      ['x-amz-meta-step', meta],
      ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
      ['x-amz-credential', credential],
      ['x-amz-date', date],
      ['policy', policy],
      ['x-amz-signature', signature],
    ];
    return postForm(d, bucket, formData(fields, { data: Buffer.from(body) }));
  }

  /** One of a burst's concurrent requests: a PUT, a DELETE (with or without a version id) or a copy from one of `others`. */
  function burstJob(key: string, others: string[], step: number): { what: string; run: () => Promise<unknown>; check: (res: unknown) => void } {
    const kind = others.length > 0 ? rnd.int(3) : rnd.int(2);
    if (kind === 0) {
      const body = `${key}#${step}`;
      return {
        what: `PUT ${key} ${JSON.stringify(body)}`,
        run: () => sdk(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { step: String(step) } }))),
        check: (res) => checkWrite(`PUT ${key}`, key, { body, etag: etag(body), tags: '', meta: String(step) }, undefined, res as { ok: { VersionId?: string } }),
      };
    }
    if (kind === 1) {
      const vid = maybeVersionId(key);
      return {
        what: `DELETE ${key}${vq(vid)}`,
        run: () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(vid === undefined ? {} : { VersionId: vid }) })),
        check: (res) => {
          const out = res as { DeleteMarker?: boolean; VersionId?: string };
          const m = model.delete(key, vid, fresh(out.VersionId));
          noteRemoved(m.removed);
          const expected = vid !== undefined ? { ...(m.removed?.marker ? { deleteMarker: true } : {}), versionId: vid } : m.marker ? { deleteMarker: true, versionId: m.marker.id } : {};
          compare(`DELETE ${key}${vq(vid)}`, expected, { ...(out.DeleteMarker !== undefined ? { deleteMarker: out.DeleteMarker } : {}), ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}) });
        },
      };
    }
    const from = rnd.pick(others);
    const vid = maybeVersionId(from);
    const src = model.source(from, vid);
    return {
      what: `COPY ${from}${vq(vid)} → ${key}`,
      run: () => sdk(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${encodeKey(from)}${vid === undefined ? '' : `?versionId=${encodeURIComponent(vid)}`}` }))),
      check: (res) => {
        const r = res as { ok: { VersionId?: string } } | { err: Answer };
        if ('status' in src) return compare(`COPY ${from}${vq(vid)} → ${key}`, src, 'err' in r ? r.err : { status: 200 });
        checkWrite(`COPY ${from}${vq(vid)} → ${key}`, key, { body: src.body, etag: etag(src.body), tags: src.tags, meta: src.meta }, undefined, r);
      },
    };
  }

  interface BurstOp {
    what: string;
    /** Run one after another before the burst (a multipart upload's creation and part). */
    prepare?: () => Promise<void>;
    run: () => Promise<unknown>;
    /**
     * A copy reads its source at one moment and writes at a later one (as on S3, a write may come
     * between): what it read of `m`, handed to apply.
     */
    read?: (m: Model) => unknown;
    /** Applies the answer to `m`: [expected, actual] answers. */
    apply: (m: Model, res: unknown, newId: (got: string | undefined) => NewId, read: unknown) => [unknown, unknown];
  }

  /** A write's [expected, actual] against `m` (applying it there when it succeeds). */
  function burstWrite(m: Model, key: string, content: Omit<Version, 'id' | 'marker'>, pre: Answer | undefined, res: unknown, newId: (got: string | undefined) => NewId): [unknown, unknown] {
    const r = res as { ok: { VersionId?: string } } | { err: Answer };
    if (pre) return [pre, 'err' in r ? r.err : { status: 200 }];
    if ('err' in r) return [{ status: 200 }, r.err];
    return [m.write(key, content, newId(r.ok.VersionId)), r.ok.VersionId];
  }

  async function sameKeyBurst(key: string, step: number): Promise<void> {
    const ops: BurstOp[] = [];
    const n = 2 + rnd.int(3);
    let toggled = false;
    for (let i = 0; i < n; i++) {
      const kind = rnd.int(model.status === 'Unversioned' || toggled ? 7 : 8);
      const meta = `${step}.${i}`;
      if (kind === 0) {
        const body = `${key}#${meta}`;
        const ifNoneMatch = rnd.bool(0.3);
        ops.push({
          what: `PUT ${key} ${JSON.stringify(body)}${ifNoneMatch ? ' If-None-Match: *' : ''}`,
          run: () => sdk(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { step: meta }, ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}) }))),
          apply: (m, res, newId) => burstWrite(m, key, { body, etag: etag(body), tags: '', meta }, ifNoneMatch ? m.precondition(key, { ifNoneMatch: '*' }) : undefined, res, newId),
        });
      } else if (kind === 1 || kind === 2 || kind === 5) {
        const vid = kind !== 1 && rnd.bool(0.7) ? pickVersionId(key) : undefined;
        const batch = kind === 5;
        ops.push({
          what: `${batch ? 'DeleteObjects' : 'DELETE'} ${key}${vq(vid)}`,
          run: () =>
            batch
              ? s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key, VersionId: vid }] } })).then((out) => {
                  const got = out.Deleted?.[0];
                  return { DeleteMarker: got?.DeleteMarker, VersionId: vid === undefined ? got?.DeleteMarkerVersionId : got?.VersionId, error: out.Errors?.[0]?.Code };
                })
              : s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(vid === undefined ? {} : { VersionId: vid }) })),
          apply: (m, res, newId) => {
            const out = res as { DeleteMarker?: boolean; VersionId?: string; error?: string };
            const r = m.delete(key, vid, newId(out.VersionId));
            const expected = vid !== undefined ? { ...(r.removed?.marker ? { deleteMarker: true } : {}), versionId: vid } : r.marker ? { deleteMarker: true, versionId: r.marker.id } : {};
            return [expected, { ...(out.DeleteMarker !== undefined ? { deleteMarker: out.DeleteMarker } : {}), ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}), ...(out.error !== undefined ? { error: out.error } : {}) }];
          },
        });
      } else if (kind === 3 || kind === 4) {
        // A copy from another key, or from the key itself (its current version or a named one).
        const from = kind === 3 ? rnd.pick(KEYS.filter((k) => k !== key)) : key;
        const vid = kind === 4 && rnd.bool(0.5) ? pickVersionId(key) : undefined;
        ops.push({
          what: `COPY ${from}${vq(vid)} → ${key}`,
          run: () => sdk(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${encodeKey(from)}${vid === undefined ? '' : `?versionId=${encodeURIComponent(vid)}`}`, MetadataDirective: 'REPLACE', Metadata: { step: meta } }))),
          read: (m) => m.source(from, vid),
          apply: (m, res, newId, read) => {
            const src = read as ReturnType<Model['source']>;
            const r = res as { ok: { VersionId?: string } } | { err: Answer };
            if ('status' in src) return [src, 'err' in r ? r.err : { status: 200 }];
            return burstWrite(m, key, { body: src.body, etag: etag(src.body), tags: src.tags, meta }, undefined, res, newId);
          },
        });
      } else if (kind === 6) {
        const body = `${key}#${meta}`;
        let uploadId: string | undefined;
        let partEtag: string | undefined;
        ops.push({
          what: `MULTIPART ${key} ${JSON.stringify(body)}`,
          prepare: async () => {
            uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { step: meta } }))).UploadId;
            partEtag = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: body }))).ETag;
          },
          run: () => sdk(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: partEtag }] } }))),
          apply: (m, res, newId) => burstWrite(m, key, { body, etag: multipartEtag(body), tags: '', meta }, undefined, res, newId),
        });
      } else {
        toggled = true;
        const Status = model.status === 'Enabled' ? 'Suspended' : 'Enabled';
        ops.push({
          what: `PutBucketVersioning ${Status}`,
          run: () => s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } })),
          apply: (m) => {
            m.status = Status;
            return [null, null];
          },
        });
      }
    }
    for (const o of ops) await o.prepare?.();
    trace.push(`${step}: at once on ${key}: ${ops.map((o) => o.what).join(' | ')}`);
    count('same-key burst');
    const results = await Promise.all(ops.map((o) => o.run()));
    const actualVersions = (await listVersions(1000, key)).filter((l) => l.split('\t')[0] === key);
    // What the versions the burst wrote hold (orders that list alike may differ there: which copy read what).
    const written = [undefined, 'null', ...results.map((r) => (r as { VersionId?: string }).VersionId ?? (r as { ok?: { VersionId?: string } }).ok?.VersionId).filter((id) => id !== undefined && UUID.test(id))];
    const contents = await Promise.all(written.map((id) => readAnswer(key, id, false)));
    // The ids the answers name must be new and different from each other.
    const trialId = (got: string | undefined): NewId => () => (got !== undefined && UUID.test(got) && !seen.has(got) ? got : `<not a new version id: ${String(got)}>`);
    // Every order of the requests' moments (a copy's read before its write), cut short where an answer differs.
    const events = ops.flatMap((o, i) => (o.read ? [{ op: i, read: true }, { op: i, read: false }] : [{ op: i, read: false }]));
    let first: string | undefined;
    const explain = (m: Model, done: boolean[], reads: Map<number, unknown>): boolean => {
      if (done.every(Boolean)) {
        const listed = m.listing(key).filter((l) => l.split('\t')[0] === key);
        if (JSON.stringify(listed) !== JSON.stringify(actualVersions)) {
          first ??= `versions ${JSON.stringify(listed)}`;
          return false;
        }
        const held = written.map((id) => m.read(key, id));
        if (JSON.stringify(held) !== JSON.stringify(contents)) {
          first ??= `contents ${JSON.stringify(held)}, actual ${JSON.stringify(contents)}`;
          return false;
        }
        model.status = m.status;
        model.keys.set(key, m.versions(key));
        return true;
      }
      for (let e = 0; e < events.length; e++) {
        const ev = events[e]!;
        if (done[e] || (!ev.read && ops[ev.op]!.read && !done[e - 1])) continue;
        const m2 = m.clone();
        const reads2 = new Map(reads);
        if (ev.read) reads2.set(ev.op, ops[ev.op]!.read!(m2));
        else {
          const [x, y] = ops[ev.op]!.apply(m2, results[ev.op], trialId, reads2.get(ev.op));
          if (JSON.stringify(x) !== JSON.stringify(y)) {
            first ??= `${ops[ev.op]!.what}: expected ${JSON.stringify(x)}, actual ${JSON.stringify(y)}`;
            continue;
          }
        }
        if (explain(m2, done.map((d, i) => d || i === e), reads2)) return true;
      }
      return false;
    };
    if (explain(model, events.map(() => false), new Map())) {
      for (const r of results) {
        const id = (r as { VersionId?: string }).VersionId ?? (r as { ok?: { VersionId?: string } }).ok?.VersionId;
        if (id !== undefined && UUID.test(id)) seen.add(id);
      }
      return;
    }
    compare(`concurrent requests on ${key}: no order of them explains the answers and the versions ${JSON.stringify(actualVersions)} (the first order that failed: ${first})`, 'some order', 'none');
  }

  for (let step = 0; step < STEPS && divergence === undefined; step++) {
    const key = rnd.pick(KEYS);
    const r = rnd.next();
    const body = `${key}#${step}`;
    // A few writes while the bucket is still unversioned, then versioning first comes on.
    const toggle = step === 8 || (step > 8 && r < 0.06);
    let mutated = true;
    if (toggle) {
      const Status = step === 8 ? rnd.pick(['Enabled', 'Suspended'] as const) : model.status === 'Enabled' ? 'Suspended' : 'Enabled';
      trace.push(`${step}: PutBucketVersioning ${Status}`);
      await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
      model.status = Status;
    } else if (r < 0.065) {
      trace.push(`${step}: restart`);
      count('restart');
      await restart();
      mutated = false;
    } else if (r < 0.09) {
      // Concurrent writes and deletes of distinct keys (a copy's source is none of them).
      const keys = KEYS.filter(() => rnd.bool(0.6));
      const others = KEYS.filter((k) => !keys.includes(k));
      const jobs = keys.map((k) => burstJob(k, others, step));
      trace.push(`${step}: at once: ${jobs.map((j) => j.what).join(' | ')}`);
      count('burst');
      const results = await Promise.all(jobs.map((j) => j.run()));
      jobs.forEach((j, i) => j.check(results[i]));
      for (const k of keys) if (divergence === undefined) await readStep(k, undefined, false);
      mutated = false;
    } else if (r < 0.12) {
      // Concurrent requests on one key (and maybe a versioning change): the answers and the key's
      // versions must be those of the requests run one after another in some order.
      await sameKeyBurst(key, step);
      mutated = false;
    } else if (r < 0.28) {
      // PutObject, sometimes tagged, sometimes conditional.
      const tags = rnd.bool(0.3) ? `t=${step}` : '';
      const cond = rnd.bool(0.15) ? { ifNoneMatch: '*' } : rnd.bool(0.1) ? { ifMatch: etag(`${key}#${rnd.int(step + 1)}`) } : {};
      if (cond.ifMatch !== undefined && rnd.bool(0.5)) {
        const cur = model.versions(key)[0];
        if (cur && !cur.marker) cond.ifMatch = cur.etag;
      }
      trace.push(`${step}: PUT ${key} ${JSON.stringify(body)}${tags ? ` tagged ${tags}` : ''}${cond.ifNoneMatch ? ' If-None-Match: *' : ''}${cond.ifMatch ? ` If-Match: ${cond.ifMatch}` : ''}`);
      const pre = model.precondition(key, cond);
      const meta = String(step);
      if (!cond.ifMatch && !cond.ifNoneMatch && rnd.bool(0.2)) {
        // A browser-form upload (POST Object).
        trace[trace.length - 1] = trace[trace.length - 1]!.replace('PUT', 'POST');
        const r = await postObject(key, body, tags, meta);
        const res = r.status === 204 ? { ok: { VersionId: r.headers['x-amz-version-id'] as string | undefined } } : { err: { status: r.status, code: errorCode(r.body) } };
        checkWrite(`POST ${key}`, key, { body, etag: etag(body), tags, meta }, undefined, res);
      } else {
        const res = await sdk(s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { step: meta }, ...(tags ? { Tagging: tags } : {}), ...(cond.ifNoneMatch ? { IfNoneMatch: '*' } : {}), ...(cond.ifMatch ? { IfMatch: cond.ifMatch } : {}) })));
        checkWrite(`PUT ${key}`, key, { body, etag: etag(body), tags, meta }, pre, res);
      }
    } else if (r < 0.31) {
      // A one-part multipart upload, its part uploaded or copied from a version.
      const copyFrom = rnd.bool(0.5) ? rnd.pick(KEYS) : undefined;
      const vid = copyFrom === undefined ? undefined : maybeVersionId(copyFrom);
      trace.push(`${step}: MULTIPART ${key} ${copyFrom === undefined ? JSON.stringify(body) : `part copied from ${copyFrom}${vq(vid)}`}`);
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { step: String(step) } }));
      let partEtag: string | undefined;
      let partBody = body;
      if (copyFrom === undefined) partEtag = (await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: body }))).ETag;
      else {
        const src = model.source(copyFrom, vid);
        const pc = await sdk(s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: 1, CopySource: `${bucket}/${encodeKey(copyFrom)}${vid === undefined ? '' : `?versionId=${encodeURIComponent(vid)}`}` })));
        if ('status' in src || 'err' in pc) {
          compare(`UploadPartCopy from ${copyFrom}${vq(vid)}`, 'status' in src ? src : { status: 200 }, 'err' in pc ? pc.err : { status: 200 });
          count(`UploadPartCopy ${'status' in src ? src.status : 200}`);
          await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId }));
          continue;
        }
        count('UploadPartCopy 200');
        compare(`UploadPartCopy from ${copyFrom}${vq(vid)}`, { copySourceVersionId: model.readId(src) }, { copySourceVersionId: pc.ok.CopySourceVersionId });
        partEtag = pc.ok.CopyPartResult?.ETag;
        partBody = src.body;
      }
      const res = await sdk(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: partEtag }] } })));
      checkWrite(`MULTIPART ${key}`, key, { body: partBody, etag: multipartEtag(partBody), tags: '', meta: String(step) }, undefined, res);
    } else if (r < 0.41) {
      const from = rnd.pick(KEYS);
      const vid = maybeVersionId(from);
      const tagging = rnd.bool(0.3) ? `c=${step}` : undefined;
      trace.push(`${step}: COPY ${from}${vq(vid)} → ${key}${tagging ? ` tagged ${tagging}` : ''}`);
      const src = model.source(from, vid);
      const res = await sdk(
        s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key,
            CopySource: `${bucket}/${encodeKey(from)}${vid === undefined ? '' : `?versionId=${encodeURIComponent(vid)}`}`,
            MetadataDirective: 'REPLACE',
            Metadata: { step: String(step) },
            ...(tagging ? { TaggingDirective: 'REPLACE', Tagging: tagging } : {}),
          }),
        ),
      );
      const what = `COPY ${from}${vq(vid)} → ${key}`;
      if ('status' in src) {
        count(`COPY ${src.status}`);
        compare(what, src, 'err' in res ? res.err : { status: 200 });
      } else if ('err' in res) compare(what, { status: 200 }, res.err);
      else {
        count(`COPY ${model.status}`);
        const sourceId = model.readId(src);
        const newId = model.write(key, { body: src.body, etag: etag(src.body), tags: tagging ?? src.tags, meta: String(step) }, fresh(res.ok.VersionId));
        compare(what, { versionId: newId, copySourceVersionId: sourceId, etag: etag(src.body) }, { versionId: res.ok.VersionId, copySourceVersionId: res.ok.CopySourceVersionId, etag: res.ok.CopyObjectResult?.ETag });
      }
    } else if (r < 0.57) {
      const vid = maybeVersionId(key);
      trace.push(`${step}: DELETE ${key}${vq(vid)}`);
      const out = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(vid === undefined ? {} : { VersionId: vid }) }));
      const res = model.delete(key, vid, fresh(out.VersionId));
      noteRemoved(res.removed);
      count(`DELETE ${vid === undefined ? model.status : res.removed ? (res.removed.marker ? 'marker by id' : res.removed.id === 'null' ? 'null by id' : 'version by id') : 'missing id'}`);
      let expected: { deleteMarker?: boolean; versionId?: string };
      if (vid !== undefined) expected = { ...(res.removed?.marker ? { deleteMarker: true } : {}), versionId: vid };
      else if (res.marker) expected = { deleteMarker: true, versionId: res.marker.id };
      else expected = {};
      compare(`DELETE ${key}${vq(vid)}`, expected, { ...(out.DeleteMarker !== undefined ? { deleteMarker: out.DeleteMarker } : {}), ...(out.VersionId !== undefined ? { versionId: out.VersionId } : {}) });
    } else if (r < 0.64) {
      const batch = KEYS.filter(() => rnd.bool(0.4));
      const objects: ObjectIdentifier[] = batch.map((k) => (rnd.bool(0.5) ? { Key: k, VersionId: pickVersionId(k) } : { Key: k }));
      if (objects.length === 0) continue;
      trace.push(`${step}: DeleteObjects ${objects.map((o) => `${o.Key}${vq(o.VersionId)}`).join(', ')}`);
      count('DeleteObjects');
      const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      const deleted = out.Deleted ?? [];
      const expected = objects.map((o) => {
        const got = deleted.find((x) => x.Key === o.Key);
        const res = model.delete(o.Key!, o.VersionId, fresh(got?.DeleteMarkerVersionId));
        noteRemoved(res.removed);
        if (o.VersionId !== undefined) {
          return { Key: o.Key, VersionId: o.VersionId, ...(res.removed?.marker ? { DeleteMarker: true, DeleteMarkerVersionId: o.VersionId } : {}) };
        }
        return { Key: o.Key, ...(res.marker ? { DeleteMarker: true, DeleteMarkerVersionId: res.marker.id } : {}) };
      });
      const actual = objects.map((o) => {
        const got = deleted.find((x) => x.Key === o.Key);
        if (!got) return { Key: o.Key, error: out.Errors?.find((e) => e.Key === o.Key)?.Code ?? 'missing' };
        return { Key: got.Key, ...(got.VersionId !== undefined ? { VersionId: got.VersionId } : {}), ...(got.DeleteMarker !== undefined ? { DeleteMarker: got.DeleteMarker } : {}), ...(got.DeleteMarkerVersionId !== undefined ? { DeleteMarkerVersionId: got.DeleteMarkerVersionId } : {}) };
      });
      compare('DeleteObjects', expected, actual);
    } else if (r < 0.72) {
      // Object tagging, of the current version or a named one.
      const vid = maybeVersionId(key);
      const target = model.tagTarget(key, vid);
      const which = rnd.int(4);
      if (which === 2) {
        trace.push(`${step}: DeleteObjectTagging ${key}${vq(vid)}`);
        const res = await sdk(s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: vid })));
        count(`DeleteObjectTagging ${'status' in target ? target.status : 204}`);
        if ('status' in target) compare(`DeleteObjectTagging ${key}${vq(vid)}`, target, 'err' in res ? res.err : { status: 204 });
        else {
          target.tags = '';
          compare(`DeleteObjectTagging ${key}${vq(vid)}`, { status: 204, versionId: model.readId(target) }, 'err' in res ? res.err : { status: 204, versionId: res.ok.VersionId });
        }
      } else if (which === 3) {
        trace.push(`${step}: GetObjectAttributes ${key}${vq(vid)}`);
        const res = await sdk(s3.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: key, VersionId: vid, ObjectAttributes: ['ETag', 'ObjectSize'] })));
        const expected = model.attributes(key, vid);
        count(`GetObjectAttributes ${expected.status}`);
        compare(`GetObjectAttributes ${key}${vq(vid)}`, expected, 'err' in res ? res.err : { status: 200, versionId: res.ok.VersionId, etag: res.ok.ETag, size: res.ok.ObjectSize });
      } else if (which === 0) {
        const tags = `p=${step}`;
        trace.push(`${step}: PutObjectTagging ${key}${vq(vid)} ${tags}`);
        const res = await sdk(s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: vid, Tagging: { TagSet: [{ Key: 'p', Value: String(step) }] } })));
        if ('status' in target) {
          count(`PutObjectTagging ${target.status}`);
          compare(`PutObjectTagging ${key}${vq(vid)}`, target, 'err' in res ? res.err : { status: 200 });
        } else {
          count('PutObjectTagging 200');
          target.tags = tags;
          compare(`PutObjectTagging ${key}${vq(vid)}`, { status: 200, versionId: model.readId(target) }, 'err' in res ? res.err : { status: 200, versionId: res.ok.VersionId });
        }
      } else {
        trace.push(`${step}: GetObjectTagging ${key}${vq(vid)}`);
        const res = await sdk(s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: vid })));
        count(`GetObjectTagging ${'status' in target ? target.status : 200}`);
        compare(`GetObjectTagging ${key}${vq(vid)}`, 'status' in target ? target : { status: 200, versionId: model.readId(target), tags: target.tags }, 'err' in res ? res.err : { status: 200, versionId: res.ok.VersionId, tags: tagString(res.ok.TagSet) });
      }
      mutated = false;
    } else {
      const head = rnd.bool(0.3);
      const vid = maybeVersionId(key);
      trace.push(`${step}: ${head ? 'HEAD' : 'GET'} ${key}${vq(vid)}`);
      await readStep(key, vid, head);
      mutated = false;
    }
    ops++;
    // After each change, read the key back; every tenth step, the listings.
    if (divergence === undefined && mutated) await readStep(key, undefined, false);
    if (divergence === undefined && (step % 10 === 9 || step === STEPS - 1)) await checkListings();
  }

  const summary = [...counts].sort().map(([k, n]) => `${k}: ${n}`).join(', ');
  if (divergence !== undefined) {
    t.comment(`operations (seed ${SEED}):\n${trace.slice(-80).join('\n')}`);
    t.fail(`seed ${SEED}: the daemon and the model differ after ${ops} operations: ${divergence}`);
  } else t.pass(`seed ${SEED}: ${ops} operations agree with the model in ${Date.now() - started} ms`);
  t.comment(summary);
});

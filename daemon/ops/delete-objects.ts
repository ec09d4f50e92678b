// DeleteObjects: up to 1000 keys (or versions) in one request, at most 250 to an LMDB commit (fewer
// of many parts: MetaStore.deleteCommitEnd); missing keys
// and versions count as deleted (S3 semantics: a retried batch succeeds); in a
// versioned bucket a key without a version id gets a delete marker. Quiet mode reports only errors.
// An Object's ETag, Size or LastModifiedTime makes its delete conditional (PreconditionFailed).

import { setImmediate as nextTurn } from 'node:timers/promises';
import { S3Error } from '../errors.js';
import { MAX_KEY_BYTES } from '../http/router.js';
import { OBJECT_LOCKED_MESSAGE, metaError, requireBucket, requireSameBucket, type OpsEnv } from './env.js';
import { requestEvents } from './notification.js';
import { requestFacts, userMay } from './policy.js';
import { bypassGovernance, refuseBypassWithoutLock } from './object-lock.js';
import { clientVersionId, isVersionIdShape } from '../meta/versions.js';
import type { RequestContext, Result } from './types.js';
import { xmlFields, type XmlObject } from './xml.js';
import { XmlWriter } from './xml-writer.js';
import { parseXmlOffLoop } from './xml-thread.js';
import { deleteConditionFailure, parseDeleteConditions } from './object-headers.js';
import { deleteSlices } from './delete-commits.js';
import type { ObjectRecord } from '../meta/records.js';
import type { VersionedDelete } from '../meta/store.js';

const MAX_KEYS = 1000;
/**
 * The largest Delete document read: room for MAX_KEYS maximal keys written in the widest escaping
 * (a 1024-byte key of control characters as `&#x1F;` is 6 KiB; `&amp;` 5 bytes each) with a
 * version id and the conditions, about 8 KiB per Object. More is EntityTooLarge.
 */
const MAX_DELETE_BODY = 8 * 1024 * 1024;

/** `<Quiet>` values, as Go's boolean reads them (MinIO's DeleteObjects); an empty element is false. */
const QUIET_VALUES = new Map<string, boolean>([
  ['', false], ['0', false], ['f', false], ['F', false], ['false', false], ['FALSE', false], ['False', false],
  ['1', true], ['t', true], ['T', true], ['true', true], ['TRUE', true], ['True', true],
]);

/** `<Quiet>` as MinIO reads it; any other value is MalformedXML, as on MinIO and under S3's schema (one boolean Quiet), which also refuses two Quiet elements (MinIO takes the last). */
function quietOf(value: unknown): boolean {
  if (value === undefined) return false;
  const quiet = typeof value === 'string' ? QUIET_VALUES.get(value.trim()) : undefined;
  if (quiet === undefined) throw new S3Error('MalformedXML', 'Quiet must be true or false.');
  return quiet;
}

export async function handleDeleteObjects(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  refuseBypassWithoutLock(bucket, ctx.headers);
  const raw = await ctx.body.readAll(MAX_DELETE_BODY);
  // S3's answers (recorded: backlot's tests of 2026-09-29): no body is MissingRequestBodyError; a
  // Delete without an Object, an Object without a Key, more than 1,000 of them, its MalformedXML
  // in its own words; an empty Key, UserKeyMustBeSpecified, for the whole request.
  if (raw.length === 0) throw new S3Error('MissingRequestBodyError');
  // Counted before the parse, which takes seconds over the hundreds of thousands of Objects 8 MiB
  // can hold (before any key is judged: whoever may send a Delete at all), by the parse itself
  // (parseXml's `most`), so on the parsing thread when large: 8 MiB counted held the event loop
  // ~35-40 ms, 1,000 keys written as character references (~6 MiB) ~12-30 ms.
  const tooMany = (): S3Error => new S3Error('MalformedXML');
  // Keys exactly as sent: a key may begin or end with spaces. On the parsing thread when large:
  // 1,000 keys written as character references (~6 MiB) took ~350-400 ms to parse.
  const doc = await parseXmlOffLoop(raw, { trim: false, most: { element: 'Object', max: MAX_KEYS } });
  const root = doc.Delete as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') throw new S3Error('MalformedXML');
  const objects = root.Object as unknown[] | undefined;
  if (!Array.isArray(objects) || objects.length === 0) throw new S3Error('MalformedXML');
  if (objects.length > MAX_KEYS) throw tooMany();
  const quiet = quietOf(root.Quiet);
  const errors: XmlObject[] = [];
  const valid: Array<{ key: string; versionId?: string; bypass?: boolean; check?: (current: ObjectRecord | undefined) => string | undefined }> = [];
  xmlFields(root, ['Object', 'Quiet'], 'Delete');
  // The root user's keys need no policy: judged in one go.
  const judged = ctx.accessKey === env.config.rootUser ? undefined : { n: 0 };
  for (const o of objects) {
    if (judged !== undefined && ++judged.n % KEYS_JUDGED_PER_TURN === 0) await nextTurn();
    // An element s3d does not know (a misspelt VersionId) must not turn a version delete into a key delete.
    const rec = xmlFields(o, ['Key', 'VersionId', 'ETag', 'LastModifiedTime', 'Size'], 'Object');
    const key = rec.Key;
    if (typeof key !== 'string') throw new S3Error('MalformedXML');
    if (key === '') throw new S3Error('UserKeyMustBeSpecified');
    // An empty <VersionId/> names no version (minio-js writes one for every key; MinIO agrees).
    // One of white space only is an id as sent, which names no version (MinIO: NoSuchVersion):
    // read as none, it deleted the key's current object instead.
    const rawVersion = rec.VersionId;
    if (rawVersion !== undefined && typeof rawVersion !== 'string') throw new S3Error('MalformedXML', 'A VersionId must be text.');
    const version = rawVersion === undefined || rawVersion === '' ? undefined : rawVersion.trim() === '' ? rawVersion : rawVersion.trim();
    const check = conditionOf(rec);
    if (version !== undefined && !isVersionIdShape(version)) {
      // S3 answers an id that cannot be one so in a batch (a lone DeleteObject gets 400 InvalidArgument).
      errors.push({ Key: key, VersionId: version, Code: 'NoSuchVersion', Message: 'The specified version does not exist.' });
    } else if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
      errors.push({ Key: key, Code: 'KeyTooLongError', Message: 'Your key is too long' });
    } else if (key.includes('\u0000')) {
      errors.push({ Key: key, Code: 'InvalidArgument', Message: 'Object keys must not contain NUL (U+0000).' });
    } else if (version !== undefined && check !== undefined) {
      // The conditions judge the key's current version: taken with a VersionId they removed the
      // version named, which they said nothing about. S3 refuses a DeleteObject naming a version
      // with a condition (501 NotImplemented); in a batch, that key's error.
      errors.push({ Key: key, VersionId: version, Code: 'NotImplemented', Message: 'A conditional delete (ETag, Size, LastModifiedTime) judges the current version and cannot name a VersionId.' });
    } else if (!userMay(env, ctx.accessKey, version === undefined ? 's3:DeleteObject' : 's3:DeleteObjectVersion', ctx.bucket!, key, requestFacts(ctx), version === undefined ? {} : { existing: { versionId: version } }) || !conditionsReadable(env, ctx, key, rec)) {
      // A user's policies decide per key, as S3 does: the others are deleted. A version's delete
      // is judged with the version it names as s3:versionid, as a DeleteObject naming it is (a
      // Deny of one version's delete did not stop a DeleteObjects naming it).
      errors.push({ Key: key, ...(version !== undefined ? { VersionId: String(version) } : {}), Code: 'AccessDenied', Message: 'Access Denied' });
    } else if (version === undefined) valid.push({ key, check });
    // The governance bypass is judged per key too: a policy may grant it on some keys only.
    else valid.push({ key, versionId: version, bypass: bypassGovernance(env, ctx, key), check });
  }
  // Every key S3 reports deleted is notified, present or not (as S3 and MinIO do).
  const events = valid.length === 0 ? undefined : requestEvents(env, ctx, bucket);
  // KEYS_DELETED_PER_COMMIT keys to a commit, fewer when their records of many parts would be more
  // than the store decodes ahead of a commit (deleteSlices, MetaStore.deleteCommitEnd: each of the rest was
  // decoded whole in the commit's one turn), or the data files they release more than a commit
  // releases (5,000, all queued or batched in its turn), one after another: S3 promises no atomicity across
  // a batch's keys. A bucket deleted and created again while the document arrived is another:
  // none of its keys go (OperationAborted, the whole request); should that happen between two
  // commits, the keys left each answer its error (the ones before are deleted, and say so). So do
  // they when a later commit fails otherwise (a disk error): a 500 for the whole request would
  // hide the keys already deleted, and a retry would put a second delete marker on each of them.
  const results: Array<VersionedDelete | undefined | { failed: S3Error }> = [];
  for await (const { from, items: slice } of deleteSlices(env.meta, ctx.bucket!, valid, { most: KEYS_DELETED_PER_COMMIT })) {
    const commit = env.meta.deleteObjects(ctx.bucket!, slice, events?.deleted(slice.map((v) => v.key)), (b) => requireSameBucket(bucket, b)).catch(metaError);
    if (from === 0) results.push(...(await commit));
    else {
      const caught = await commit.then((r) => void results.push(...r), (err: unknown) => err ?? new Error('commit failed'));
      if (caught !== undefined) {
        let failed: S3Error;
        if (caught instanceof S3Error) failed = caught;
        else {
          env.log.error({ requestId: ctx.requestId, bucket, err: caught, keys: slice.length, deletedBefore: from }, 'DeleteObjects: a commit failed after earlier ones had deleted their keys: its keys are answered InternalError');
          failed = new S3Error('InternalError');
        }
        results.push(...slice.map(() => ({ failed })));
      }
    }
    events?.wake();
  }
  const deleted: XmlObject[] = [];
  valid.forEach((item, i) => {
    const r = results[i];
    if (r !== undefined && 'failed' in r) {
      errors.push({ Key: item.key, ...(item.versionId !== undefined ? { VersionId: item.versionId } : {}), Code: r.failed.code, Message: r.failed.message });
      return;
    }
    if (r === undefined) {
      // A version that is not there counts as deleted, as on S3: a retried batch succeeds.
      if (!quiet) deleted.push({ Key: item.key, VersionId: item.versionId! });
      return;
    }
    if (r.refused !== undefined) {
      const message = r.refused === 'NoSuchKey' ? 'The specified key does not exist.' : 'At least one of the pre-conditions you specified did not hold';
      errors.push({ Key: item.key, ...(item.versionId !== undefined ? { VersionId: item.versionId } : {}), Code: r.refused, Message: message });
      return;
    }
    if (r.locked) {
      errors.push({ Key: item.key, VersionId: item.versionId!, Code: 'AccessDenied', Message: OBJECT_LOCKED_MESSAGE });
      return;
    }
    if (quiet) return;
    if (r.marker) deleted.push({ Key: item.key, DeleteMarker: true, DeleteMarkerVersionId: clientVersionId(r.marker) });
    else if (item.versionId !== undefined) deleted.push({ Key: item.key, VersionId: item.versionId, ...(r.removed?.deleteMarker ? { DeleteMarker: true, DeleteMarkerVersionId: item.versionId } : {}) });
    else deleted.push({ Key: item.key });
  });
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: await deleteResultXml(deleted, errors) };
}

/**
 * Keys deleted in one commit: the commit's transaction runs on the event loop, and 1,000 keys of a
 * versioned bucket (a delete marker written for each, its long key encoded into two tables) held
 * it ~50-70 ms in one stretch (~130 ms seen by a GET waiting behind it); 250 hold it about a
 * quarter of that. Each commit waits for the one before (lmdb-js runs commits queued together in
 * one stretch), and each is durable: on a loaded machine 100 to a commit took a 1,000-key request
 * from ~375 to ~500-640 ms. Quiet, six 1,000-marker requests each (200-byte keys): 39-112 ms at
 * 250 to a commit, 52-124 ms at 1,000, 48-144 ms at 100; the first request of a run ~200 ms.
 */
const KEYS_DELETED_PER_COMMIT = 250;

/**
 * A user's keys judged between two turns of the event loop: each is judged against the user's
 * policies and the bucket's, and 1,000 keys under policies of 20 statements with conditions and
 * wildcards each held the event loop ~25-50 ms (~110 ms cold) in one stretch; 100 take a few ms.
 */
const KEYS_JUDGED_PER_TURN = 100;

/**
 * Entries of a DeleteResult written between two turns of the event loop: 1,000 keys of control
 * characters, each written as a character reference, took ~110-140 ms to write through toXml in
 * one stretch (every other request waiting), ~50 ms through XmlWriter; 100 take a few ms.
 */
const RESULT_ENTRIES_PER_TURN = 100;

/** toXml('DeleteResult', { Deleted: deleted, Error: errors }), byte for byte, a slice at a time. */
export async function deleteResultXml(deleted: readonly XmlObject[], errors: readonly XmlObject[]): Promise<string> {
  const w = new XmlWriter('DeleteResult');
  let n = 0;
  for (const [tag, entries] of [['Deleted', deleted], ['Error', errors]] as const) {
    for (const entry of entries) {
      w.element(tag, entry);
      if (++n % RESULT_ENTRIES_PER_TURN === 0) await nextTurn();
    }
  }
  return w.end();
}

/**
 * Whether the requester may have an Object's conditions judged: comparing the current version's
 * ETag (not `*`: whether the key exists), size or last-modified time needs s3:GetObject on it
 * besides the delete, as a DeleteObject's If-Match does (see conditionReadCheck in policy.ts).
 */
function conditionsReadable(env: OpsEnv, ctx: RequestContext, key: string, rec: Record<string, unknown>): boolean {
  const etag = rec.ETag;
  const compares = (etag !== undefined && (typeof etag !== 'string' || etag.trim() !== '*')) || rec.Size !== undefined || rec.LastModifiedTime !== undefined;
  return !compares || userMay(env, ctx.accessKey, 's3:GetObject', ctx.bucket!, key, requestFacts(ctx), { existing: {} });
}

/** An Object's conditions (ETag, Size, LastModifiedTime), judged against the key's current version. */
function conditionOf(rec: Record<string, unknown>): ((current: ObjectRecord | undefined) => string | undefined) | undefined {
  const text = (v: unknown, what: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') throw new S3Error('MalformedXML', `${what} must be text.`);
    return v.trim();
  };
  const cond = parseDeleteConditions(
    { ifMatch: text(rec.ETag, 'ETag'), size: text(rec.Size, 'Size'), lastModified: text(rec.LastModifiedTime, 'LastModifiedTime') },
    (what) => new S3Error('MalformedXML', what === 'size' ? 'Size must be a whole number.' : 'LastModifiedTime must be a timestamp.'),
  );
  return cond === undefined ? undefined : (current) => deleteConditionFailure(cond, current);
}

// DeleteObjects: up to 1000 keys in one request, one LMDB commit; missing keys count as
// deleted (S3 semantics); Quiet mode reports only errors.

import { S3Error } from '../errors.js';
import { MAX_KEY_BYTES } from '../http/router.js';
import { metaError, requireBucket, type OpsEnv } from './env.js';
import { requestEvents } from './notification.js';
import type { RequestContext, Result } from './types.js';
import { parseXml, toXml, type XmlObject } from './xml.js';

const MAX_KEYS = 1000;

export async function handleDeleteObjects(env: OpsEnv, ctx: RequestContext): Promise<Result> {
  const bucket = requireBucket(env, ctx.bucket);
  const doc = parseXml(await ctx.body.readAll(2 * 1024 * 1024));
  const root = doc.Delete as Record<string, unknown> | undefined;
  if (!root || typeof root !== 'object') throw new S3Error('MalformedXML');
  const objects = root.Object as unknown[] | undefined;
  if (!Array.isArray(objects) || objects.length === 0) throw new S3Error('MalformedXML', 'The Delete document must list at least one Object.');
  if (objects.length > MAX_KEYS) throw new S3Error('MalformedXML', `At most ${MAX_KEYS} keys can be deleted in one request.`);
  const quiet = root.Quiet === 'true';
  const errors: XmlObject[] = [];
  const valid: string[] = [];
  for (const o of objects) {
    const rec = o as Record<string, unknown>;
    const key = rec.Key;
    if (typeof key !== 'string' || key === '') throw new S3Error('MalformedXML', 'Each Object needs a Key.');
    const version = rec.VersionId;
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
      errors.push({ Key: key, Code: 'KeyTooLongError', Message: 'Your key is too long.' });
    } else if (version !== undefined && version !== 'null') {
      errors.push({ Key: key, VersionId: String(version), Code: 'NoSuchVersion', Message: 'The specified version does not exist.' });
    } else valid.push(key);
  }
  // Every key S3 reports deleted is notified, present or not (as S3 and MinIO do).
  const events = valid.length === 0 ? undefined : requestEvents(env, ctx, bucket);
  await env.meta.deleteObjects(ctx.bucket!, valid, events?.removed(valid)).catch(metaError);
  events?.wake();
  const body: XmlObject = {
    Deleted: quiet ? [] : valid.map((k) => ({ Key: k })),
    Error: errors,
  };
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: toXml('DeleteResult', body) };
}

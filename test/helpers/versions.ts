// Bucket versioning through the SDK, shared by the s3-versioning-* suites: what a version id looks
// like, versioned buckets, PUTs that return their version id, delete markers, the whole
// ListObjectVersions answer, and raw paths with a versionId query.

import type { Test } from 'tap';
import { DeleteObjectCommand, ListObjectVersionsCommand, ListObjectsV2Command, PutBucketVersioningCommand, PutObjectCommand, type ListObjectVersionsCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { encodeKey } from './http.js';
import { createBucket, getBytes } from './s3.js';

/** What a version id looks like: a UUID string. */
export const VID = /^[0-9a-f-]{36}$/;
/** A well-formed version id this daemon never issued. */
export const MISSING_VID = '01890a5d-ac96-774b-bcce-b302099a8057';

/** A version or delete marker in a listing. */
export type Row = [key: string, versionId: string, isLatest: boolean];

/** The versioning helpers, on the client `s3` unless another is passed (`c`). */
export function versionHelpers(s3: S3Client) {
  /** PutBucketVersioning. */
  async function setVersioning(bucket: string, Status: 'Enabled' | 'Suspended', c: S3Client = s3): Promise<void> {
    await c.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
  }

  /** A new bucket with versioning Enabled. */
  async function versionedBucket(prefix: string, c: S3Client = s3): Promise<string> {
    const bucket = await createBucket(c, prefix);
    await setVersioning(bucket, 'Enabled', c);
    return bucket;
  }

  /** PutObject; returns the response's VersionId. */
  async function put(bucket: string, key: string, body: string | Buffer, extra: Record<string, unknown> = {}, c: S3Client = s3): Promise<string | undefined> {
    const r = await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
    return r.VersionId;
  }

  /** PutObject that must return a version id (the id, or '' so later checks fail loudly). */
  async function putV(t: Test, bucket: string, key: string, body: string | Buffer, extra: Record<string, unknown> = {}, c: S3Client = s3): Promise<string> {
    const id = await put(bucket, key, body, extra, c);
    t.match(id, VID, `PUT ${key} returns a version id`);
    return id ?? '';
  }

  /** GetObject of a version (the latest without an id), as a string. */
  async function getString(bucket: string, key: string, VersionId?: string, c: S3Client = s3): Promise<string> {
    return (await getBytes(c, { Bucket: bucket, Key: key, ...(VersionId !== undefined ? { VersionId } : {}) })).toString();
  }

  /** DeleteObject without a version id; returns the delete marker's version id. */
  async function deleteLatest(t: Test, bucket: string, key: string, c: S3Client = s3): Promise<string> {
    const r = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    t.equal(r.DeleteMarker, true, `DELETE ${key} creates a delete marker`);
    t.match(r.VersionId, VID, `DELETE ${key}: the marker's version id`);
    return r.VersionId ?? '';
  }

  /** The whole ListObjectVersions answer (following pages), versions and markers as [key, id, isLatest]. */
  async function listing(bucket: string, input: Partial<ListObjectVersionsCommandInput> = {}, c: S3Client = s3): Promise<{ versions: Row[]; markers: Row[]; prefixes: string[] }> {
    const versions: Row[] = [];
    const markers: Row[] = [];
    const prefixes: string[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (let i = 0; i < 200; i++) {
      const r = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, ...input, KeyMarker, VersionIdMarker }));
      versions.push(...(r.Versions ?? []).map((v): Row => [v.Key!, v.VersionId!, v.IsLatest === true]));
      markers.push(...(r.DeleteMarkers ?? []).map((m): Row => [m.Key!, m.VersionId!, m.IsLatest === true]));
      prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
      if (!r.IsTruncated) break;
      KeyMarker = r.NextKeyMarker;
      VersionIdMarker = r.NextVersionIdMarker;
    }
    return { versions, markers, prefixes };
  }

  /** One key's versions and markers as [id, isLatest], in listed order. */
  async function historyOf(bucket: string, key: string, c: S3Client = s3): Promise<{ v: Array<[string, boolean]>; m: Array<[string, boolean]> }> {
    const l = await listing(bucket, { Prefix: key }, c);
    return {
      v: l.versions.filter((r) => r[0] === key).map((r) => [r[1], r[2]]),
      m: l.markers.filter((r) => r[0] === key).map((r) => [r[1], r[2]]),
    };
  }

  /** The keys of ListObjectsV2 (the current objects). */
  async function currentKeys(bucket: string, c: S3Client = s3): Promise<string[]> {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (r.Contents ?? []).map((x) => x.Key!);
  }

  return { setVersioning, versionedBucket, put, putV, getString, deleteLatest, listing, historyOf, currentKeys };
}

/** The path of an object for raw requests. */
export function objectPath(bucket: string, key: string): string {
  return `/${bucket}/${encodeKey(key)}`;
}

/** A versionId query. */
export function versionQuery(versionId: string): string {
  return `versionId=${encodeURIComponent(versionId)}`;
}

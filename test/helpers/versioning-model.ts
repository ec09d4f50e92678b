// An in-memory model of one bucket's versioning as S3 documents it (Enabled and Suspended, null
// versions, delete markers, copies, deletes by version id, listings), for
// test/integration/s3-versioning-model.test.ts, which checks random operations on a daemon against it.

import { createHash } from 'node:crypto';

export const byBytes = (x: string, y: string): number => Buffer.compare(Buffer.from(x), Buffer.from(y));

export type Status = 'Unversioned' | 'Enabled' | 'Suspended';
export interface Version {
  id: string; // 'null' or a real id
  marker: boolean;
  body: string;
  etag: string;
  /** The version's tag set as `k=v&…` ('' for none). */
  tags: string;
  /** Its x-amz-meta-step. */
  meta: string;
}

/** Supplies the id of a version the operation creates (read from the daemon's answer, checked to be new). */
export type NewId = () => string;

/** One bucket's versions, newest first per key. */
export class Model {
  status: Status = 'Unversioned';
  readonly keys = new Map<string, Version[]>();

  clone(): Model {
    const m = new Model();
    m.status = this.status;
    for (const [k, vs] of this.keys) m.keys.set(k, vs.map((v) => ({ ...v })));
    return m;
  }

  versions(key: string): Version[] {
    let v = this.keys.get(key);
    if (!v) this.keys.set(key, (v = []));
    return v;
  }

  /** The version header of a read: none until the bucket has had versioning. */
  readId(v: Version): string | undefined {
    return this.status === 'Unversioned' ? undefined : v.id;
  }

  /** A write of `body`: returns the new version's id as the write's answer carries it. */
  write(key: string, content: Omit<Version, 'id' | 'marker'>, newId: NewId): string | undefined {
    const vs = this.versions(key);
    if (this.status === 'Enabled') {
      const id = newId();
      vs.unshift({ id, marker: false, ...content });
      return id;
    }
    const i = vs.findIndex((v) => v.id === 'null');
    if (i >= 0) vs.splice(i, 1);
    vs.unshift({ id: 'null', marker: false, ...content });
    return undefined;
  }

  /** The precondition of a conditional write: undefined when it holds, else the error. */
  precondition(key: string, cond: { ifNoneMatch?: string; ifMatch?: string }): Answer | undefined {
    const cur = this.versions(key)[0];
    const live = cur !== undefined && !cur.marker ? cur : undefined;
    if (cond.ifNoneMatch !== undefined && live) return { status: 412, code: 'PreconditionFailed' };
    if (cond.ifMatch !== undefined) {
      if (!live) return { status: 404, code: 'NoSuchKey' };
      if (live.etag !== cond.ifMatch) return { status: 412, code: 'PreconditionFailed' };
    }
    return undefined;
  }

  /** The version a tagging call names: the version, or the error S3 answers. */
  tagTarget(key: string, versionId: string | undefined): Version | Answer {
    const vs = this.versions(key);
    const v = versionId === undefined ? vs[0] : vs.find((x) => x.id === versionId);
    if (!v) return { status: 404, code: versionId === undefined ? 'NoSuchKey' : 'NoSuchVersion' };
    if (v.marker) return { status: 405, code: 'MethodNotAllowed' };
    return v;
  }

  /** A delete: what was removed and what was added. */
  delete(key: string, versionId: string | undefined, newId: NewId): { removed?: Version; marker?: Version } {
    const vs = this.versions(key);
    if (versionId !== undefined) {
      const i = vs.findIndex((v) => v.id === versionId);
      if (i < 0) return {};
      return { removed: vs.splice(i, 1)[0]! };
    }
    if (this.status === 'Unversioned') {
      const i = vs.findIndex((v) => v.id === 'null');
      return i < 0 ? {} : { removed: vs.splice(i, 1)[0]! };
    }
    if (this.status === 'Enabled') {
      const marker = { id: newId(), marker: true, body: '', etag: '', tags: '', meta: '' };
      vs.unshift(marker);
      return { marker };
    }
    const i = vs.findIndex((v) => v.id === 'null');
    const removed = i >= 0 ? vs.splice(i, 1)[0]! : undefined;
    const marker = { id: 'null', marker: true, body: '', etag: '', tags: '', meta: '' };
    vs.unshift(marker);
    return removed ? { removed, marker } : { marker };
  }

  /** GET/HEAD: status, error code, x-amz-delete-marker, x-amz-version-id, body. */
  read(key: string, versionId: string | undefined): Answer {
    const vs = this.versions(key);
    if (versionId === undefined) {
      const cur = vs[0];
      if (!cur) return { status: 404, code: 'NoSuchKey' };
      if (cur.marker) return { status: 404, code: 'NoSuchKey', deleteMarker: 'true', versionId: cur.id };
      return { status: 200, versionId: this.readId(cur), ...content(cur) };
    }
    const v = vs.find((x) => x.id === versionId);
    if (!v) return { status: 404, code: 'NoSuchVersion' };
    if (v.marker) return { status: 405, code: 'MethodNotAllowed', deleteMarker: 'true', versionId: v.id };
    return { status: 200, versionId: this.readId(v), ...content(v) };
  }

  /** GetObjectAttributes (ETag, ObjectSize): the version's, or the error. */
  attributes(key: string, versionId: string | undefined): Answer | { status: 200; versionId?: string; etag: string; size: number } {
    const a = this.read(key, versionId);
    if (a.status !== 200) return { status: a.status, code: a.code };
    const v = versionId === undefined ? this.versions(key)[0]! : this.versions(key).find((x) => x.id === versionId)!;
    return { status: 200, versionId: this.readId(v), etag: v.etag.replace(/"/g, ''), size: Buffer.byteLength(v.body) };
  }

  /** A copy's source: the version, or the error S3 answers. */
  source(key: string, versionId: string | undefined): Version | Answer {
    const vs = this.versions(key);
    if (versionId === undefined) {
      const cur = vs[0];
      if (!cur || cur.marker) return { status: 404, code: 'NoSuchKey' };
      return cur;
    }
    const v = vs.find((x) => x.id === versionId);
    if (!v) return { status: 404, code: 'NoSuchVersion' };
    if (v.marker) return { status: 400, code: 'InvalidRequest' };
    return v;
  }

  /** ListObjectVersions entries in order (`key<TAB>id [M] [*] [etag]`), then `prefix/` lines for CommonPrefixes. */
  listing(prefix = '', delimiter?: string): string[] {
    const keys = [...this.keys.keys()].filter((k) => k.startsWith(prefix) && this.versions(k).length > 0).sort(byBytes);
    const { direct, prefixes } = rollUp(keys, prefix, delimiter);
    return [...direct.flatMap((k) => this.versions(k).map((v, i) => line(k, v.id, v.marker, i === 0, v.marker ? undefined : v.etag))), ...prefixes];
  }

  /** ListObjectsV2: keys whose current version is an object, then CommonPrefixes. */
  current(prefix = '', delimiter?: string): string[] {
    const keys = [...this.keys.keys()].sort(byBytes).filter((k) => {
      const cur = this.versions(k)[0];
      return k.startsWith(prefix) && cur !== undefined && !cur.marker;
    });
    const { direct, prefixes } = rollUp(keys, prefix, delimiter);
    return [...direct, ...prefixes];
  }

  /** Every version id of `key` (for picking). */
  ids(key: string): string[] {
    return this.versions(key).map((v) => v.id);
  }
}

export interface Answer {
  status: number;
  code?: string;
  deleteMarker?: string;
  versionId?: string;
  body?: string;
  etag?: string;
  meta?: string;
  tagCount?: string;
}

/** What a 200 GET shows of a version: body, ETag, x-amz-meta-step, x-amz-tagging-count. */
export function content(v: Version): Pick<Answer, 'body' | 'etag' | 'meta' | 'tagCount'> {
  return { body: v.body, etag: v.etag, meta: v.meta, ...(v.tags !== '' ? { tagCount: String(v.tags.split('&').length) } : {}) };
}

export function rollUp(keys: string[], prefix: string, delimiter: string | undefined): { direct: string[]; prefixes: string[] } {
  if (delimiter === undefined) return { direct: keys, prefixes: [] };
  const direct: string[] = [];
  const prefixes = new Set<string>();
  for (const k of keys) {
    const i = k.indexOf(delimiter, prefix.length);
    if (i < 0) direct.push(k);
    else prefixes.add(`${k.slice(0, i + delimiter.length)}`);
  }
  return { direct, prefixes: [...prefixes].sort(byBytes) };
}

export function md5(data: string | Buffer): Buffer {
  return createHash('md5').update(data).digest();
}

export function etag(body: string): string {
  return `"${md5(body).toString('hex')}"`;
}

/** The ETag of a one-part multipart upload of `body`. */
export function multipartEtag(body: string): string {
  return `"${md5(md5(body)).toString('hex')}-1"`;
}

export function line(key: string, id: string, marker: boolean, latest: boolean, tag: string | undefined): string {
  return `${key}\t${id}${marker ? ' M' : ''}${latest ? ' *' : ''}${tag ? ` ${tag}` : ''}`;
}

// The record of an object written whole by one request (PutObject, CopyObject, a POST form
// upload): one place for the fields every such record has, so a field added to objects is not
// forgotten by one of the three writes. Multipart objects are built from their upload (multipart-complete.ts).

import { RECORD_VERSION, type ObjectRecord, type TagSet } from '../meta/records.js';
import { checksumFields } from '../sse/checksums.js';
import type { ObjectEncryption } from '../sse/object-encryption.js';
import type { WrittenData } from './object-data.js';
import { lockFields, type LockRequest } from './object-lock.js';
import { tagsField } from './tagging.js';

export interface NewObject {
  etag: string;
  mtime: number;
  headers: Record<string, string>;
  userMeta: Record<string, string>;
  /** Of the plaintext; sealed under the object key when the object is encrypted. */
  checksums: Readonly<Record<string, string>> | undefined;
  enc: ObjectEncryption | undefined;
  tags: TagSet | undefined;
  lock: LockRequest | undefined;
}

export function newObjectRecord(written: WrittenData, o: NewObject): ObjectRecord {
  return {
    v: RECORD_VERSION,
    size: written.size,
    etag: o.etag,
    mtime: o.mtime,
    headers: o.headers,
    userMeta: o.userMeta,
    data: written.data,
    stored: written.stored,
    ...checksumFields(o.checksums, o.enc?.objectKey),
    ...(o.enc ? { sse: o.enc.record } : {}),
    ...tagsField(o.tags),
    ...lockFields(o.lock),
  };
}

// The query-string selectors S3 dispatches on, read before anything else about a request: two of
// them at once are S3's conflict, whatever the method, at a bucket's path or a key's, before the
// bucket is looked up and before the credential (recorded against S3 in backlot's tests of
// 2026-09-29; versitygw's test of S3 itself for `?uploads&uploadId`).

import { S3Error } from '../errors.js';

/**
 * The parameters that select an operation besides the sub-resources the router knows (its
 * OPERATION_SUBRESOURCES and UNSUPPORTED_SUBRESOURCES, which are the rest: router.ts's SELECTORS):
 * an upload's `uploadId` and `partNumber`, and an annotation's `annotationName`. Recorded
 * conflicting: acl, annotationName, cors, delete, location, metadataAnnotationTable, partNumber,
 * tagging, uploadId, uploads, versioning, versions, website.
 */
export const OPERATION_PARAMETERS: readonly string[] = ['uploadId', 'partNumber', 'annotationName'];

/**
 * Sub-resources the router knows that are no selector of S3's: MinIO's `?events`, and S3's own
 * `?session` and `?renameObject`, a directory bucket's, listed as ignored on a general purpose bucket.
 */
export const NOT_SELECTORS: ReadonlySet<string> = new Set(['events', 'session', 'renameObject']);

/**
 * Pairs that name one operation together, never a conflict: an upload's part (UploadPart, and
 * the PART resource S3 names for its other methods) and an annotation by name (recorded:
 * `?annotation&annotationName=x` is NoSuchAnnotation, `?partNumber=1&uploadId=u` the PART 405).
 */
const ONE_OPERATION: ReadonlyArray<readonly [string, string]> = [
  ['partNumber', 'uploadId'],
  ['annotation', 'annotationName'],
];

/**
 * S3's refusal of two selectors in one request: 400 InvalidArgument naming them all, sorted,
 * the first as the ArgumentValue (`?versioning&acl`: "Conflicting query string parameters: acl,
 * versioning", ArgumentName ResourceType, ArgumentValue acl). Undefined when there is none.
 */
export function conflictingSelectors(query: URLSearchParams, selectors: ReadonlySet<string>): S3Error | undefined {
  const names = [...new Set(query.keys())].filter((name) => selectors.has(name));
  if (names.length < 2) return undefined;
  let operations = names.length;
  for (const [a, b] of ONE_OPERATION) if (names.includes(a) && names.includes(b)) operations--;
  if (operations < 2) return undefined;
  names.sort();
  return new S3Error('InvalidArgument', `Conflicting query string parameters: ${names.join(', ')}`, { fields: { ArgumentName: 'ResourceType', ArgumentValue: names[0]! } });
}

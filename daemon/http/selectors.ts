// The query-string selectors S3 dispatches on, read before anything else about a request: two of
// them at once are S3's conflict, whatever the method, at a bucket's path or a key's, before the
// bucket is looked up and before the credential (recorded against S3 in backlot's tests of
// 2026-09-29; versitygw's test of S3 itself for `?uploads&uploadId`).

import { S3Error } from '../errors.js';

/**
 * Every parameter that names an operation (a resource type) of S3's at a bucket or a key,
 * whether s3d serves it or not. Recorded conflicting: acl, annotationName, cors, delete,
 * location, metadataAnnotationTable, partNumber, tagging, uploadId, uploads, versioning, versions,
 * website. The rest are the other sub-resources of S3's API (S3's own `?session`, a directory
 * bucket's, is listed as ignored on a general purpose bucket, so it is not one; nor are MinIO's
 * `?events`, versionId, the listings' parameters or `x-id`).
 */
const SELECTORS: ReadonlySet<string> = new Set([
  'abac', 'accelerate', 'acl', 'analytics', 'annotation', 'annotationName', 'attributes', 'cors', 'delete', 'encryption',
  'intelligent-tiering', 'inventory', 'legal-hold', 'lifecycle', 'location', 'logging', 'metadataAnnotationTable',
  'metadataConfiguration', 'metadataInventoryTable', 'metadataJournalTable', 'metadataTable', 'metrics', 'notification',
  'object-lock', 'ownershipControls', 'partNumber', 'policy', 'policyStatus', 'publicAccessBlock', 'replication',
  'requestPayment', 'restore', 'retention', 'select', 'tagging', 'torrent', 'uploadId', 'uploads', 'versioning', 'versions',
  'website',
]);

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
export function conflictingSelectors(query: URLSearchParams): S3Error | undefined {
  const names = [...new Set(query.keys())].filter((name) => SELECTORS.has(name));
  if (names.length < 2) return undefined;
  let operations = names.length;
  for (const [a, b] of ONE_OPERATION) if (names.includes(a) && names.includes(b)) operations--;
  if (operations < 2) return undefined;
  names.sort();
  return new S3Error('InvalidArgument', `Conflicting query string parameters: ${names.join(', ')}`, { fields: { ArgumentName: 'ResourceType', ArgumentValue: names[0]! } });
}

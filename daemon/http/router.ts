// Parses method + host + path + query once into an Operation named after the AWS API
// (path-style and virtual-host-style). Pure: no I/O, unit-tested on its own.

import { hasV2PresignParams } from '../auth/sigv2.js';
import { hasPresignParams } from '../auth/sigv4.js';
import { S3Error } from '../errors.js';
import { OVERRIDE_PARAMS } from '../ops/object-headers.js';
import { isUtf8Query } from '../utf8.js';
import { conflictingSelectors, NOT_SELECTORS, OPERATION_PARAMETERS } from './selectors.js';

export type Operation =
  | 'ListBuckets'
  | 'ListenNotification'
  | 'ListenBucketNotification'
  | 'CreateBucket'
  | 'DeleteBucket'
  | 'HeadBucket'
  | 'GetBucketLocation'
  | 'ListObjects'
  | 'ListObjectsV2'
  | 'ListObjectVersions'
  | 'GetBucketVersioning'
  | 'PutBucketVersioning'
  | 'GetBucketEncryption'
  | 'PutBucketEncryption'
  | 'DeleteBucketEncryption'
  | 'GetBucketAcl'
  | 'PutBucketAcl'
  | 'GetObjectAcl'
  | 'PutObjectAcl'
  | 'GetBucketTagging'
  | 'GetBucketPolicy'
  | 'GetBucketLifecycleConfiguration'
  | 'PutBucketLifecycleConfiguration'
  | 'DeleteBucketLifecycle'
  | 'GetBucketCors'
  | 'PutBucketCors'
  | 'DeleteBucketCors'
  | 'GetBucketWebsite'
  | 'DeleteBucketWebsite'
  | 'GetBucketLogging'
  | 'PutBucketLogging'
  | 'GetBucketNotificationConfiguration'
  | 'PutBucketNotificationConfiguration'
  | 'GetBucketReplication'
  | 'DeleteBucketReplication'
  | 'GetObjectLockConfiguration'
  | 'PutObjectLockConfiguration'
  | 'PutObjectRetention'
  | 'PutObjectLegalHold'
  | 'GetBucketOwnershipControls'
  | 'PutBucketOwnershipControls'
  | 'DeleteBucketOwnershipControls'
  | 'GetPublicAccessBlock'
  | 'PutPublicAccessBlock'
  | 'DeletePublicAccessBlock'
  | 'GetBucketAccelerateConfiguration'
  | 'PutBucketAccelerateConfiguration'
  | 'GetBucketRequestPayment'
  | 'PutBucketRequestPayment'
  | 'ListBucketAnalyticsConfigurations'
  | 'GetBucketAnalyticsConfiguration'
  | 'ListBucketInventoryConfigurations'
  | 'GetBucketInventoryConfiguration'
  | 'ListBucketMetricsConfigurations'
  | 'GetBucketMetricsConfiguration'
  | 'ListBucketIntelligentTieringConfigurations'
  | 'GetBucketIntelligentTieringConfiguration'
  | 'GetObjectRetention'
  | 'GetObjectLegalHold'
  | 'GetObjectAttributes'
  | 'GetObjectTorrent'
  | 'PutBucketPolicy'
  | 'DeleteBucketPolicy'
  | 'GetBucketPolicyStatus'
  | 'PutBucketTagging'
  | 'DeleteBucketTagging'
  | 'GetObjectTagging'
  | 'PutObjectTagging'
  | 'UpdateObjectEncryption'
  | 'DeleteObjectTagging'
  | 'ListMultipartUploads'
  | 'DeleteObjects'
  | 'PutObject'
  | 'PostObject'
  | 'CopyObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'UploadPartCopy'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListParts'
  | 'HealthLive'
  | 'HealthReady'
  | 'HealthCluster'
  | 'HealthClusterRead'
  | 'Metrics'
  | 'AdminKmsStatus'
  | 'AdminKmsKeyStatus'
  | 'AdminKmsCreateKey'
  | 'STS';

/** Operations that are answered without SigV4 (health probes, Prometheus scrapes). */
export const ANONYMOUS_OPERATIONS: ReadonlySet<Operation> = new Set(['HealthLive', 'HealthReady', 'HealthCluster', 'HealthClusterRead', 'Metrics']);

/** Operations that take a `versionId` parameter (the handlers resolve it; `null` is the null version). */
const VERSIONED_OPERATIONS: ReadonlySet<Operation> = new Set<Operation>([
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'GetObjectTagging',
  'PutObjectTagging',
  'DeleteObjectTagging',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetObjectAttributes',
  'GetObjectRetention',
  'GetObjectLegalHold',
  'PutObjectRetention',
  'PutObjectLegalHold',
  'UpdateObjectEncryption',
]);

/**
 * Operations that read a request body the client is expected to stream (their handlers call
 * ctx.body); the others take none. Nothing routes by it yet: it records the split, so it must
 * name every operation whose handler reads a body.
 */
export const BODY_OPERATIONS: ReadonlySet<Operation> = new Set([
  'PutObject',
  'PostObject',
  'UploadPart',
  'CompleteMultipartUpload',
  'DeleteObjects',
  'PutBucketEncryption',
  'PutBucketVersioning',
  'PutObjectLockConfiguration',
  'PutObjectRetention',
  'PutObjectLegalHold',
  'PutBucketTagging',
  'PutObjectTagging',
  'PutBucketPolicy',
  'PutBucketLifecycleConfiguration',
  'PutBucketCors',
  'PutBucketLogging',
  'PutBucketNotificationConfiguration',
  'PutBucketAccelerateConfiguration',
  'PutBucketRequestPayment',
  'PutBucketOwnershipControls',
  'PutPublicAccessBlock',
  'UpdateObjectEncryption',
  'CreateBucket',
  // An AccessControlPolicy document (or none, with x-amz-acl).
  'PutBucketAcl',
  'PutObjectAcl',
  // AssumeRole's and GetCallerIdentity's form.
  'STS',
]);

export interface Route {
  op: Operation;
  bucket?: string;
  key?: string;
  /** The bucket came from the Host header (virtual-host style). */
  virtualHost?: boolean;
}

export interface RouteInput {
  method: string;
  /** Raw (still percent-encoded) path, without the query. */
  rawPath: string;
  query: URLSearchParams;
  /** The query as sent (still percent-encoded): checked to be UTF-8, which `query` cannot show. */
  rawQuery?: string;
  host: string;
  headers: Record<string, string>;
}

export const MAX_KEY_BYTES = 1024;

/**
 * S3's answer to a key longer than MAX_KEY_BYTES: it names the key's size in UTF-8 bytes and the
 * bound (recorded against S3: versitygw#2080, flowwer-dev/pull-request-stats#33).
 */
export function keyTooLongError(bytes: number): S3Error {
  return new S3Error('KeyTooLongError', undefined, { fields: { Size: String(bytes), MaxSizeAllowed: String(MAX_KEY_BYTES) } });
}

// Sub-resources S3 defines that s3d does not implement: answered NotImplemented, never
// misread as a plain object or bucket operation. The annotation, ABAC and metadata ones were
// misread: PutObjectAnnotation overwrote the object with the annotation, DeleteObjectAnnotation
// deleted it (a version for good), DeleteBucketMetadataConfiguration deleted an empty bucket.
const UNSUPPORTED_SUBRESOURCES = [
  'restore',
  'select', 'session', 'renameObject', 'metadataTable',
  'annotation', 'abac', 'metadataConfiguration', 'metadataJournalTable', 'metadataInventoryTable', 'metadataAnnotationTable',
];

// Sub-resources of buckets only: on an object key they were run as the plain object operation
// (UpdateObjectEncryption, PUT /bucket/key?encryption, replaced the object's data with its XML;
// it is routed now, and `encryption` with any other method on a key stays NotImplemented).
const BUCKET_ONLY = ['encryption', 'versioning', 'versions', 'location', 'events', 'delete'];

// The other sub-resources bucketRoute serves, with the methods each takes. S3 answers any other
// method on one 405, naming these in Allow (HEAD /bucket?versioning: `Allow: GET, PUT`): they
// were the plain operation, so DELETE /bucket?versioning deleted an empty bucket and PUT
// /bucket?location created one.
const BUCKET_SUBRESOURCE_METHODS: Readonly<Record<string, readonly string[]>> = {
  versioning: ['GET', 'PUT'],
  encryption: ['DELETE', 'GET', 'PUT'],
  location: ['GET'],
  versions: ['GET'],
  uploads: ['GET'],
  events: ['GET'],
  delete: ['POST'],
};

/**
 * The Allow of a bucket sub-resource's 405: the methods it takes, but for `uploads`, whose 405
 * S3 answers `Allow: POST, GET` (HEAD /bucket?uploads, measured on s3.amazonaws.com: backlot#230,
 * #244): the upload collection's POST (CreateMultipartUpload) is named though it is sent to a key.
 * A POST at the bucket itself, not measured, keeps naming GET alone.
 */
function subresourceAllow(sub: string, method: string, methods: readonly string[]): string {
  if (sub === 'uploads' && method !== 'POST') return 'POST, GET';
  return methods.join(', ');
}

// Configuration sub-resources routed by method. Most are configurations s3d does not keep
// (ops/absent-config.ts): reads answer what S3 answers for a bucket without one, deletes succeed,
// PUTs of the "off" value are accepted; Object Lock (object-lock, retention, legal-hold) is kept
// (ops/object-lock.ts). A method S3 has for one that s3d does not route (PUT ?website, PUT
// ?replication) is NotImplemented; a method S3 has not is its 405 naming the ones it has (DELETE
// ?logging was NotImplemented, as if S3 had a DeleteBucketLogging s3d lacked).
type ConfigMethods = Partial<Record<'GET' | 'PUT' | 'DELETE', Operation>>;
const BUCKET_CONFIGS: Readonly<Record<string, ConfigMethods>> = {
  website: { GET: 'GetBucketWebsite', DELETE: 'DeleteBucketWebsite' },
  logging: { GET: 'GetBucketLogging', PUT: 'PutBucketLogging' },
  replication: { GET: 'GetBucketReplication', DELETE: 'DeleteBucketReplication' },
  'object-lock': { GET: 'GetObjectLockConfiguration', PUT: 'PutObjectLockConfiguration' },
  ownershipControls: { GET: 'GetBucketOwnershipControls', PUT: 'PutBucketOwnershipControls', DELETE: 'DeleteBucketOwnershipControls' },
  publicAccessBlock: { GET: 'GetPublicAccessBlock', PUT: 'PutPublicAccessBlock', DELETE: 'DeletePublicAccessBlock' },
  accelerate: { GET: 'GetBucketAccelerateConfiguration', PUT: 'PutBucketAccelerateConfiguration' },
  requestPayment: { GET: 'GetBucketRequestPayment', PUT: 'PutBucketRequestPayment' },
  // A GET without an `id` (or with an empty one) is the List operation (CONFIG_LISTS).
  analytics: { GET: 'GetBucketAnalyticsConfiguration' },
  inventory: { GET: 'GetBucketInventoryConfiguration' },
  metrics: { GET: 'GetBucketMetricsConfiguration' },
  'intelligent-tiering': { GET: 'GetBucketIntelligentTieringConfiguration' },
};
// S3's methods on configuration sub-resources that s3d does not route.
const UNROUTED_CONFIG_METHODS: Readonly<Record<string, readonly string[]>> = {
  website: ['PUT'],
  replication: ['PUT'],
  analytics: ['DELETE', 'PUT'],
  inventory: ['DELETE', 'PUT'],
  metrics: ['DELETE', 'PUT'],
  'intelligent-tiering': ['DELETE', 'PUT'],
};
// The configurations S3 keeps several of, by id: a GET naming none lists them.
const CONFIG_LISTS: Partial<Record<Operation, Operation>> = {
  GetBucketAnalyticsConfiguration: 'ListBucketAnalyticsConfigurations',
  GetBucketInventoryConfiguration: 'ListBucketInventoryConfigurations',
  GetBucketMetricsConfiguration: 'ListBucketMetricsConfigurations',
  GetBucketIntelligentTieringConfiguration: 'ListBucketIntelligentTieringConfigurations',
};
const OBJECT_CONFIGS: Readonly<Record<string, ConfigMethods>> = {
  // Not a configuration, but routed the same way: only GET exists.
  attributes: { GET: 'GetObjectAttributes' },
  retention: { GET: 'GetObjectRetention', PUT: 'PutObjectRetention' },
  'legal-hold': { GET: 'GetObjectLegalHold', PUT: 'PutObjectLegalHold' },
};

// Every query parameter s3d reads (the x-amz-* ones aside, see http/server.ts): a parameter
// outside this list that comes without a value is a sub-resource s3d does not know (one S3
// added later, or a client's extension), answered NotImplemented rather than run as the plain
// PUT, DELETE or GET of the object or bucket, which would overwrite or delete it.
/**
 * The sub-resources that choose the operation: a V2 signature must cover each of them
 * (auth/sigv2.ts SUBRESOURCES; a unit test holds the two lists together).
 */
export const OPERATION_SUBRESOURCES: readonly string[] = [
  ...Object.keys(BUCKET_CONFIGS),
  ...Object.keys(OBJECT_CONFIGS),
  'acl', 'tagging', 'policy', 'policyStatus', 'lifecycle', 'cors', 'notification', 'location', 'versioning', 'versions',
  'encryption', 'uploads', 'delete', 'events', 'torrent',
];

// Every parameter that names an operation of S3's at a bucket or a key, served or not: two in one
// request are S3's conflict (selectors.ts).
const SELECTORS: ReadonlySet<string> = new Set(
  [...OPERATION_SUBRESOURCES, ...UNSUPPORTED_SUBRESOURCES, ...OPERATION_PARAMETERS].filter((name) => !NOT_SELECTORS.has(name)),
);

const KNOWN_PARAMS = new Set([
  ...OPERATION_SUBRESOURCES,
  ...OVERRIDE_PARAMS,
  // operation parameters
  'uploadId', 'partNumber', 'versionId', 'list-type', 'prefix', 'delimiter', 'marker', 'max-keys', 'continuation-token',
  'start-after', 'fetch-owner', 'encoding-type', 'key-marker', 'version-id-marker', 'upload-id-marker', 'max-uploads',
  'max-parts', 'part-number-marker', 'max-buckets', 'bucket-region', 'metadata', 'suffix', 'ping', 'x-id', 'id',
  // Signature V2 presigned URLs
  'AWSAccessKeyId', 'Signature', 'Expires',
]);

// Walks the request's parameters (usually none or a few), not the tables.
function configRoute(method: string, bucket: string, key: string | undefined, query: URLSearchParams): Route | undefined {
  const [table, other] = key === undefined ? [BUCKET_CONFIGS, OBJECT_CONFIGS] : [OBJECT_CONFIGS, BUCKET_CONFIGS];
  for (const sub of query.keys()) {
    if (Object.hasOwn(other, sub)) throw new S3Error('NotImplemented', `The ${sub} sub-resource is not implemented ${key === undefined ? 'on buckets' : 'on objects'}.`);
  }
  for (const sub of query.keys()) {
    if (!Object.hasOwn(table, sub)) continue;
    let op = table[sub]![method as keyof ConfigMethods];
    if (op !== undefined && !query.get('id')) op = CONFIG_LISTS[op] ?? op;
    if (op === undefined) {
      const unrouted = UNROUTED_CONFIG_METHODS[sub] ?? [];
      if (unrouted.includes(method)) throw new S3Error('NotImplemented', `${method} of the ${sub} sub-resource is not implemented.`);
      throw methodNotAllowed([...Object.keys(table[sub]!), ...unrouted].sort().join(', '));
    }
    return key === undefined ? { op, bucket } : { op, bucket, key };
  }
  return undefined;
}

function decodeSegment(raw: string): string {
  // uWS hands the request target over decoded from UTF-8, and bytes that are not UTF-8 (a raw
  // surrogate, an overlong form, 0xFF) come out as U+FFFD: several different requests would name
  // one key, and one signature would fit them all. A raw U+FFFD is refused like invalid
  // percent-encoding; the character itself is a key's when sent percent-encoded (%EF%BF%BD).
  // S3 answers a path it cannot decode (a key with a byte that is not UTF-8) 400 InvalidURI.
  if (raw.includes('\uFFFD')) throw new S3Error('InvalidURI', "Couldn't parse the specified URI: the request path is not valid UTF-8 (send non-ASCII characters percent-encoded).");
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI: the request path is not valid percent-encoded UTF-8.");
  }
}

/**
 * The bucket a request names (virtual-host or path style), without routing it: for what is decided
 * before routing (CORS preflights). Undefined for the service, or a name that is not valid
 * percent-encoding.
 */
export function bucketOf(rawPath: string, host: string, domains: readonly string[]): string | undefined {
  const hostBucket = bucketFromHost(host, domains);
  if (hostBucket !== undefined) return hostBucket;
  const end = rawPath.indexOf('/', 1);
  const segment = end === -1 ? rawPath.slice(1) : rawPath.slice(1, end);
  if (segment === '') return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Whether the request's path names an object (a key after the bucket), not a bucket or the service. */
export function namesObject(rawPath: string, host: string, domains: readonly string[]): boolean {
  if (bucketFromHost(host, domains) !== undefined) return rawPath.length > 1;
  const end = rawPath.indexOf('/', 1);
  return end !== -1 && end < rawPath.length - 1;
}

/**
 * Bucket name from a virtual-host-style Host header, when it matches a configured domain; the
 * longest domain that matches decides (`b.s3.example.com` under `example.com,s3.example.com` is
 * bucket `b`, not `b.s3`). A host that is itself a configured domain is the endpoint, its requests
 * path-style: under `example.com,s3.example.com`, `s3.example.com` was bucket `s3` of
 * `example.com`, and a path-style PUT to it of `/photos/k` was stored as `photos/k` in bucket `s3`.
 */
export function bucketFromHost(host: string, domains: readonly string[]): string | undefined {
  // A fully qualified name's trailing dot (`b.s3.example.com.`, what resolvers and some clients
  // send) names the same host: without it stripped, the request went path-style, and a PutObject
  // of `b.s3.example.com./k` created the bucket `k` (a DeleteObject deleted one).
  const name = host.replace(/:\d*$/, '').replace(/\.$/, '').toLowerCase();
  if (domains.includes(name)) return undefined;
  let best: string | undefined;
  for (const domain of domains) {
    if (name.length > domain.length + 1 && name.endsWith('.' + domain) && (best === undefined || domain.length > best.length)) best = domain;
  }
  return best === undefined ? undefined : name.slice(0, name.length - best.length - 1);
}

function adminRoute(method: string, path: string): Route | undefined {
  if (path === '/minio/health/live' && (method === 'GET' || method === 'HEAD')) return { op: 'HealthLive' };
  if (path === '/minio/health/ready' && (method === 'GET' || method === 'HEAD')) return { op: 'HealthReady' };
  // MinIO's write- and read-quorum probes (`?maintenance=true` read by the handler).
  if (path === '/minio/health/cluster' && (method === 'GET' || method === 'HEAD')) return { op: 'HealthCluster' };
  if (path === '/minio/health/cluster/read' && (method === 'GET' || method === 'HEAD')) return { op: 'HealthClusterRead' };
  // MinIO's v2 metrics paths: the cluster job's, and the node and bucket jobs' that the MinIO
  // Operator and `mc admin prometheus generate ALIAS node|bucket` scrape. s3d is one node: each
  // serves the whole set (else NoSuchBucket for a bucket named minio).
  if ((path === '/minio/v2/metrics/cluster' || path === '/minio/v2/metrics/node' || path === '/minio/v2/metrics/bucket') && method === 'GET') return { op: 'Metrics' };
  if (/^\/minio\/admin\/v3\/kms\/status$/.test(path)) return { op: 'AdminKmsStatus' };
  if (/^\/minio\/admin\/v3\/kms\/key\/status$/.test(path)) return { op: 'AdminKmsKeyStatus' };
  if (path === '/minio/admin/v3/kms/key/create') return { op: 'AdminKmsCreateKey' };
  return undefined;
}

/** Whether an Authorization header is one of AWS's signature schemes (V4, or V2's `AWS id:sig`). */
export function isAwsAuthorization(value: string | undefined): boolean {
  return value !== undefined && /^\s*AWS(4-HMAC-SHA256)? /.test(value);
}

/** Whether a query carries a presigned URL's parameters, V4's or V2's (as authKind reads them). */
function isPresigned(query: URLSearchParams): boolean {
  const params = [...query];
  return hasPresignParams(params) || hasV2PresignParams(params);
}

const FREE_TEXT_HEADERS: ReadonlySet<string> = new Set(['cookie', 'user-agent', 'referer']);

export function route(input: RouteInput, domains: readonly string[]): Route {
  const { method, rawPath, query, headers } = input;
  if (input.rawQuery !== undefined && !isUtf8Query(input.rawQuery)) {
    throw new S3Error('InvalidArgument', 'The query string is not valid percent-encoded UTF-8.');
  }
  // uWS hands header values over decoded from UTF-8, a byte that is not UTF-8 as U+FFFD: a copy
  // source, a metadata value or a condition that is not what was sent is refused, not acted on.
  // Headers s3d only logs or compares loosely (a browser's cookies, user agent, referer) may
  // hold anything.
  for (const name in headers) {
    if (headers[name]!.includes('\uFFFD') && !FREE_TEXT_HEADERS.has(name)) throw new S3Error('InvalidArgument', `The ${name} header is not valid UTF-8.`);
  }
  // Virtual-host style, the whole path is the key: `/minio/health/live` or `/metrics` on
  // `b.s3.example.com` is an object of bucket b (its GET answered the probe, 200 and no data).
  const hostBucket = bucketFromHost(input.host, domains);
  if (hostBucket === undefined) {
    const admin = rawPath.startsWith('/minio/') ? adminRoute(method, rawPath) : undefined;
    if (admin) return admin;
    // Prometheus scrapers are anonymous (a bearer token of a scrape job carried over from MinIO is
    // no S3 signature); a signed GET /metrics still lists a bucket named "metrics". A presigned URL
    // is signed too, a V2 one (boto3's default) included: it was answered with the metrics.
    if (rawPath === '/metrics' && method === 'GET' && !isAwsAuthorization(headers.authorization) && !isPresigned(query)) {
      return { op: 'Metrics' };
    }
  }

  // Two selectors at a bucket or a key are S3's conflict before anything else about them, a
  // sub-resource s3d does not implement among them (http/selectors.ts).
  if (hostBucket !== undefined || rawPath.length > 1) {
    const conflict = conflictingSelectors(query, SELECTORS);
    if (conflict !== undefined) throw conflict;
  }
  for (const sub of UNSUPPORTED_SUBRESOURCES) {
    if (query.has(sub)) throw new S3Error('NotImplemented', `The ${sub} sub-resource is not implemented.`);
  }
  for (const [name, value] of query) {
    // An empty name (`?=`, which the AWS SDK for Java can send) is ignored, as S3 ignores it.
    if (value === '' && name !== '' && !KNOWN_PARAMS.has(name) && !name.toLowerCase().startsWith('x-amz-')) {
      throw new S3Error('NotImplemented', `The ${name} sub-resource is not implemented.`);
    }
  }

  let bucket: string | undefined;
  let keyPart: string;
  if (hostBucket !== undefined) {
    bucket = hostBucket;
    keyPart = rawPath.slice(1);
  } else {
    const rest = rawPath.slice(1);
    const slash = rest.indexOf('/');
    if (rest === '') {
      bucket = undefined;
      keyPart = '';
    } else if (slash === -1) {
      bucket = decodeSegment(rest);
      keyPart = '';
    } else {
      bucket = decodeSegment(rest.slice(0, slash));
      keyPart = rest.slice(slash + 1);
    }
  }
  const key = keyPart === '' ? undefined : decodeSegment(keyPart);
  const keyBytes = key === undefined ? 0 : Buffer.byteLength(key);
  if (keyBytes > MAX_KEY_BYTES) throw keyTooLongError(keyBytes);
  // Metadata keys are `bucket NUL key …`: a NUL inside a key would make them ambiguous (and XML
  // 1.0 cannot carry it in a listing anyway).
  if (key !== undefined && key.includes('\u0000')) throw new S3Error('InvalidArgument', 'Object keys must not contain NUL (U+0000).');
  // A valued ?website is S3's 400 on every method, at a bucket or a key, before the bucket and the
  // credential; at a bucket a version id is refused first (recorded: backlot's tests of 2026-09-29).
  const website = query.get('website');
  if (bucket !== undefined && website !== null && website !== '') {
    if (key === undefined && query.has('versionId')) throw versionIdRefused(query);
    throw new S3Error('InvalidArgument', 'The website parameter must not have a value', { fields: { ArgumentName: 'website', ArgumentValue: website } });
  }

  if (bucket === undefined) {
    // The service has none of a bucket's or an object's sub-resources (MinIO's ?events aside). A
    // virtual-host request whose Host is not under S3_DOMAIN arrives here: GET /?versioning was
    // ListBuckets, read by the SDK as a bucket never versioned, GET /?versions as no versions.
    for (const sub of query.keys()) {
      if (sub !== 'events' && OPERATION_SUBRESOURCES.includes(sub)) throw new S3Error('NotImplemented', `The ${sub} sub-resource is not implemented.`);
    }
    if (method === 'GET') return query.has('events') ? { op: 'ListenNotification' } : { op: 'ListBuckets' };
    // STS (AssumeRole as MinIO serves it, and GetCallerIdentity): a form POSTed to the service, signed for `sts`.
    if (method === 'POST' && /^application\/x-www-form-urlencoded\s*(;|$)/i.test(headers['content-type'] ?? '')) return { op: 'STS' };
    // S3 names GET alone; s3d's service also takes a POST (STS, above).
    throw methodNotAllowed('GET, POST', 'SERVICE');
  }

  // ?acl, ?tagging, ?policy, ?lifecycle, ?cors and ?notification are resources of their own: a method they lack is never a DELETE
  // or PUT of the bucket or object itself.
  let routed: Route;
  // A bucket's ?logging and ?versions asked of a key: a GET is S3's 400 (NoLoggingStatusForKey,
  // and objectRoute's InvalidRequest), a HEAD its 405 without Allow (recorded: backlot's tests of
  // 2026-09-29); the other methods, which nothing recorded, are as before.
  if (key !== undefined && (query.has('logging') || query.has('versions'))) {
    if (method === 'HEAD') throw new S3Error('MethodNotAllowed');
    if (method === 'GET' && query.has('logging')) throw new S3Error('NoLoggingStatusForKey');
  }
  const at = key !== undefined && isBucketSelectorAtKey(method, query) ? undefined : key;
  const config = configRoute(method, bucket, at, query);
  if (config !== undefined) routed = config;
  else if (query.has('torrent')) routed = torrentRoute(method, bucket, at, query);
  else if (query.has('acl')) routed = aclRoute(method, bucket, at);
  else if (query.has('tagging')) routed = taggingRoute(method, bucket, at);
  else if (query.has('policy') || query.has('policyStatus')) routed = policyRoute(method, bucket, at, query);
  else if (query.has('lifecycle')) routed = lifecycleRoute(method, bucket, at);
  else if (query.has('cors')) routed = corsRoute(method, bucket, at);
  else if (query.has('notification')) routed = notificationRoute(method, bucket, at);
  else if (at === undefined) routed = bucketRoute(method, bucket, query, headers);
  else routed = objectRoute(method, bucket, at, query, headers);
  // S3's answer to a version id on an operation without one (PutObject, CopyObject, the
  // multipart calls, the bucket's): a bad request, not an unimplemented feature.
  if (query.has('versionId') && !VERSIONED_OPERATIONS.has(routed.op)) throw versionIdRefused(query);
  // S3 refuses a copy source on anything but a copy (a DELETE with one deleted its object).
  const copySource = copySourceOf(headers, query);
  if (copySource !== undefined && routed.op !== 'CopyObject' && routed.op !== 'UploadPartCopy') {
    throw new S3Error('InvalidArgument', 'You can only specify a copy source header for copy requests.', { fields: { ArgumentName: 'x-amz-copy-source', ArgumentValue: copySource } });
  }
  if (hostBucket !== undefined) routed.virtualHost = true;
  return routed;
}

/**
 * The request's copy source: its header, or (a presigned CopyObject URL, which the SDK's
 * presigner makes) its signed query parameter, which handlers see as the header.
 */
function copySourceOf(headers: Readonly<Record<string, string>>, query: URLSearchParams): string | undefined {
  if (headers['x-amz-copy-source'] !== undefined) return headers['x-amz-copy-source'];
  for (const [name, value] of query) if (name.toLowerCase() === 'x-amz-copy-source') return value;
  return undefined;
}

// A bucket's configurations that S3 reads at a key's path as the bucket's own, whatever the key,
// the key it holds or not (recorded against S3: backlot's tests of 2026-09-29), `inventory` among
// them (its list, or one by id); `logging` is S3's own 400 there (route).
const KEY_BUCKET_SELECTORS: ReadonlySet<string> = new Set([
  'accelerate', 'cors', 'inventory', 'lifecycle', 'location', 'notification', 'policy', 'replication', 'requestPayment', 'versioning', 'website',
]);

/**
 * Whether a GET (or its HEAD) at a key names one of KEY_BUCKET_SELECTORS and no other operation
 * (two selectors, or an upload's parameters, are left to the object's routing).
 */
function isBucketSelectorAtKey(method: string, query: URLSearchParams): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (query.has('uploadId') || query.has('partNumber')) return false;
  const selectors = [...new Set(query.keys())].filter((name) => OPERATION_SUBRESOURCES.includes(name));
  return selectors.length === 1 && KEY_BUCKET_SELECTORS.has(selectors[0]!);
}

/**
 * GetObjectTorrent, which S3 no longer serves: a GET is its 405 (ResourceType TORRENT, no Allow)
 * once the bucket is found (ops/absent-config.ts), at a key or at the bucket's path; a HEAD is the 405
 * before it, a version id refused first (recorded against S3: backlot's tests of 2026-09-29).
 * The other methods, which nothing recorded, stay NotImplemented: never the plain PUT or DELETE.
 */
function torrentRoute(method: string, bucket: string, key: string | undefined, query: URLSearchParams): Route {
  if (method === 'GET') return key === undefined ? { op: 'GetObjectTorrent', bucket } : { op: 'GetObjectTorrent', bucket, key };
  if (method !== 'HEAD') throw new S3Error('NotImplemented', 'The torrent sub-resource is not implemented.');
  if (query.has('versionId')) throw versionIdRefused(query);
  throw torrentNotAllowed();
}

/** S3's answer to a version id on an operation that takes none. */
function versionIdRefused(query: URLSearchParams): S3Error {
  return new S3Error('InvalidArgument', 'This operation does not accept a version-id.', { fields: { ArgumentName: 'versionId', ArgumentValue: query.get('versionId')! } });
}

/** S3's answer to any request for a torrent: 405, without an Allow header. */
export function torrentNotAllowed(): S3Error {
  return new S3Error('MethodNotAllowed', undefined, { fields: { ResourceType: 'TORRENT' } });
}

function aclRoute(method: string, bucket: string, key: string | undefined): Route {
  if (method !== 'GET' && method !== 'PUT') throw methodNotAllowed('GET, PUT');
  const op: Operation = key === undefined ? (method === 'GET' ? 'GetBucketAcl' : 'PutBucketAcl') : method === 'GET' ? 'GetObjectAcl' : 'PutObjectAcl';
  return key === undefined ? { op, bucket } : { op, bucket, key };
}

function policyRoute(method: string, bucket: string, key: string | undefined, query: URLSearchParams): Route {
  if (key !== undefined) throw new S3Error('NotImplemented', 'Policies apply to buckets; objects have none.');
  if (query.has('policyStatus')) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    return { op: 'GetBucketPolicyStatus', bucket };
  }
  const op: Operation | undefined = method === 'GET' ? 'GetBucketPolicy' : method === 'PUT' ? 'PutBucketPolicy' : method === 'DELETE' ? 'DeleteBucketPolicy' : undefined;
  if (op === undefined) throw methodNotAllowed('DELETE, GET, PUT');
  return { op, bucket };
}

function lifecycleRoute(method: string, bucket: string, key: string | undefined): Route {
  if (key !== undefined) throw new S3Error('NotImplemented', 'Lifecycle rules apply to buckets; objects have none.');
  const op: Operation | undefined =
    method === 'GET' ? 'GetBucketLifecycleConfiguration' : method === 'PUT' ? 'PutBucketLifecycleConfiguration' : method === 'DELETE' ? 'DeleteBucketLifecycle' : undefined;
  if (op === undefined) throw methodNotAllowed('DELETE, GET, PUT');
  return { op, bucket };
}

function notificationRoute(method: string, bucket: string, key: string | undefined): Route {
  if (key !== undefined) throw new S3Error('NotImplemented', 'Event notifications apply to buckets; the notification sub-resource is not implemented on objects.');
  // S3 has no DeleteBucketNotification: an empty configuration removes it.
  const op: Operation | undefined = method === 'GET' ? 'GetBucketNotificationConfiguration' : method === 'PUT' ? 'PutBucketNotificationConfiguration' : undefined;
  if (op === undefined) throw methodNotAllowed('GET, PUT');
  return { op, bucket };
}

function corsRoute(method: string, bucket: string, key: string | undefined): Route {
  if (key !== undefined) throw new S3Error('NotImplemented', 'CORS rules apply to buckets; the cors sub-resource is not implemented on objects.');
  const op: Operation | undefined = method === 'GET' ? 'GetBucketCors' : method === 'PUT' ? 'PutBucketCors' : method === 'DELETE' ? 'DeleteBucketCors' : undefined;
  if (op === undefined) throw methodNotAllowed('DELETE, GET, PUT');
  return { op, bucket };
}

function taggingRoute(method: string, bucket: string, key: string | undefined): Route {
  const verb = method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : method === 'DELETE' ? 'Delete' : undefined;
  if (verb === undefined) throw methodNotAllowed('DELETE, GET, PUT');
  const op = `${verb}${key === undefined ? 'Bucket' : 'Object'}Tagging` as Operation;
  return key === undefined ? { op, bucket } : { op, bucket, key };
}

function bucketRoute(method: string, bucket: string, query: URLSearchParams, headers: Record<string, string>): Route {
  const r = (op: Operation): Route => ({ op, bucket });
  // An upload's parameters without its key (a client that lost the key): never a DELETE, PUT or
  // listing of the bucket itself.
  // A partNumber alone is S3's own refusal, word for word (recorded: backlot's tests of 2026-09-29).
  if (query.has('partNumber') && !query.has('uploadId')) throw new S3Error('InvalidRequest', 'Object must have a valid key name.');
  if (query.has('uploadId') || query.has('partNumber')) throw new S3Error('InvalidRequest', 'uploadId and partNumber name a multipart upload of an object; this request names no object key.');
  // DeleteObjects' resource answers any other method as S3 does: the resource named, no Allow, and
  // a version id refused first (recorded against S3: backlot's tests of 2026-09-29).
  if (query.has('delete') && method !== 'POST') {
    if (query.has('versionId')) throw versionIdRefused(query);
    throw new S3Error('MethodNotAllowed', undefined, { fields: { ResourceType: 'MULTI_OBJECT_DELETE' } });
  }
  for (const sub of query.keys()) {
    if (!Object.hasOwn(BUCKET_SUBRESOURCE_METHODS, sub)) continue;
    const methods = BUCKET_SUBRESOURCE_METHODS[sub]!;
    if (!methods.includes(method)) throw methodNotAllowed(subresourceAllow(sub, method, methods));
  }
  switch (method) {
    case 'GET':
      if (query.has('location')) return r('GetBucketLocation');
      if (query.has('versioning')) return r('GetBucketVersioning');
      if (query.has('versions')) return r('ListObjectVersions');
      if (query.has('encryption')) return r('GetBucketEncryption');
      if (query.has('uploads')) return r('ListMultipartUploads');
      // MinIO's extension (mc watch, minio-js listenBucketNotification): an endless event stream.
      if (query.has('events')) return r('ListenBucketNotification');
      if (query.get('list-type') === '2') return r('ListObjectsV2');
      return r('ListObjects');
    case 'HEAD':
      return r('HeadBucket');
    case 'PUT':
      if (query.has('versioning')) return r('PutBucketVersioning');
      if (query.has('encryption')) return r('PutBucketEncryption');
      return r('CreateBucket');
    case 'DELETE':
      if (query.has('encryption')) return r('DeleteBucketEncryption');
      return r('DeleteBucket');
    case 'POST':
      if (query.has('delete')) return r('DeleteObjects');
      // Browser-form uploads (POST Object) go to the bucket's URL.
      if (/^multipart\/form-data\b/i.test(headers['content-type'] ?? '')) return r('PostObject');
      // S3's answer to any other POST on a bucket: its usual message, the condition named
      // (recorded against S3: backlot's tests of 2026-09-29).
      throw new S3Error('PreconditionFailed', undefined, { fields: { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' } });
    default:
      throw methodNotAllowed('HEAD, DELETE, POST, GET, PUT');
  }
}

function objectRoute(method: string, bucket: string, key: string, query: URLSearchParams, headers: Record<string, string>): Route {
  const r = (op: Operation): Route => ({ op, bucket, key });
  // S3's answers to a bucket's listings asked of a key.
  if (query.has('versions')) throw new S3Error('InvalidRequest', 'There is no such thing as the ?versions sub-resource for a key');
  if (method === 'GET' && query.has('uploads')) throw new S3Error('InvalidRequest', 'Key is not expected for the GET method ?uploads subresource');
  // ?uploads on a key takes POST alone (CreateMultipartUpload): a PUT or DELETE with it was the
  // plain PutObject or DeleteObject, overwriting or deleting the object.
  if (method !== 'POST' && method !== 'GET' && query.has('uploads')) throw methodNotAllowed('POST');
  if (method === 'PUT' && query.has('encryption')) return r('UpdateObjectEncryption');
  for (const sub of BUCKET_ONLY) {
    if (query.has(sub)) throw new S3Error('NotImplemented', `The ${sub} sub-resource is not implemented on objects.`);
  }
  const uploadId = query.has('uploadId');
  switch (method) {
    case 'GET':
      // GetPart (a part of an upload, by uploadId and partNumber) would otherwise be ListParts:
      // its XML read as the part's bytes.
      if (uploadId && query.has('partNumber')) throw new S3Error('NotImplemented', 'GetPart is not implemented: read a part of a completed object with partNumber alone.');
      return r(uploadId ? 'ListParts' : 'GetObject');
    case 'HEAD':
      // An upload id names the upload, which has no HEAD (S3's 405, as for a PUT naming it): it
      // was HeadObject, the object's headers for a request about the upload.
      if (uploadId) throw uploadMethodNotAllowed();
      return r('HeadObject');
    case 'PUT': {
      // A presigned CopyObject carries its source in the query: it was a PutObject of an empty body.
      const copy = copySourceOf(headers, query) !== undefined;
      if (query.has('partNumber') && !uploadId) throw new S3Error('InvalidArgument', 'This operation does not accept partNumber without uploadId', { fields: { ArgumentName: 'partNumber', ArgumentValue: query.get('partNumber') ?? '' } });
      // An upload id alone names the upload, which takes DELETE, POST and GET (S3's answer, as
      // versitygw recorded it): never a part, nor a PutObject beside it.
      if (uploadId && !query.has('partNumber')) throw uploadMethodNotAllowed();
      if (uploadId) return r(copy ? 'UploadPartCopy' : 'UploadPart');
      return r(copy ? 'CopyObject' : 'PutObject');
    }
    case 'POST':
      if (query.has('uploads')) return r('CreateMultipartUpload');
      if (uploadId) return r('CompleteMultipartUpload');
      // S3's answer to a POST on an object without a sub-resource (form uploads go to the bucket).
      throw new S3Error('MethodNotAllowed', undefined, { fields: { ResourceType: 'OBJECT' } });
    case 'DELETE':
      return r(uploadId ? 'AbortMultipartUpload' : 'DeleteObject');
    default:
      throw methodNotAllowed('HEAD, DELETE, POST, GET, PUT', 'OBJECT');
  }
}

/**
 * S3's answer to a method a resource does not take: 405 naming the methods it does in Allow (and,
 * for the service, an object or an upload, the resource's type), as S3 writes it.
 */
function methodNotAllowed(allow: string, resourceType?: string): S3Error {
  return new S3Error('MethodNotAllowed', undefined, { headers: { allow }, ...(resourceType !== undefined ? { fields: { ResourceType: resourceType } } : {}) });
}

/** S3's answer to a method an upload (a key's `?uploadId`) does not take. */
function uploadMethodNotAllowed(): S3Error {
  return methodNotAllowed('DELETE, POST, GET', 'UPLOAD');
}

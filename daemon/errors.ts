// The S3 error table (code → HTTP status, default message) and the one error class that
// every layer throws. Handlers never format error responses themselves: http/respond does.

export const S3_ERRORS = {
  AccessDenied: [403, 'Access Denied'],
  AccessControlListNotSupported: [400, 'The bucket does not allow ACLs.'],
  AccessForbidden: [403, 'CORSResponse: This CORS request is not allowed.'],
  BadRequest: [400, 'Bad Request.'],
  BadDigest: [400, 'The Content-MD5 or checksum value that you specified did not match what the server received.'],
  BucketAlreadyExists: [409, 'The requested bucket name is not available.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed object size.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed size'],
  IllegalVersioningConfigurationException: [400, 'The Versioning element must be specified'],
  IllegalLocationConstraintException: [400, 'The location constraint is incompatible for the region specific endpoint this request was sent to.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument.'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidBucketState: [409, 'The request is not valid with the current state of the bucket.'],
  InvalidDigest: [400, 'The Content-MD5 or checksum value that you specified is not valid.'],
  InvalidEncryptionAlgorithmError: [400, 'The encryption request you specified is not valid.'],
  InvalidPolicyDocument: [400, 'The content of the form does not meet the conditions specified in the policy document.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.'],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRedirectLocation: [400, 'The website redirect location must have a prefix of \'http://\' or \'https://\' or \'/\' and be at most 2 KB.'],
  InvalidRequest: [400, 'Invalid Request.'],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  InvalidObjectState: [403, 'The operation is not valid for the current state of the object.'],
  // S3's words, without a full stop (recorded: versitygw#2080).
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedACLError: [400, 'The XML you provided was not well-formed or did not validate against our published schema'],
  MalformedPOSTRequest: [400, 'The body of your POST request is not well-formed multipart/form-data.'],
  MalformedPolicy: [400, 'Policies must be valid JSON and the first byte must be \'{\'.'],
  MissingRequestBodyError: [400, 'Request Body is empty'],
  MalformedTrailerError: [400, 'The request contained trailing data that was not well-formed or did not conform to our published schema.'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema'],
  MaxPostPreDataLengthExceeded: [400, 'Your POST request fields preceding the upload file were too large.'],
  RequestHeaderSectionTooLarge: [400, 'Your request header section exceeds the maximum allowed size.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  MissingSecurityHeader: [400, 'Your request is missing a required header.'],
  // The S3 API reference's description of the code (its message in an answer is not recorded).
  NoLoggingStatusForKey: [400, 'There is no such thing as a logging status subresource for a key.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist'],
  NoSuchLifecycleConfiguration: [404, 'The lifecycle configuration does not exist'],
  NoSuchCORSConfiguration: [404, 'The CORS configuration does not exist'],
  NoSuchWebsiteConfiguration: [404, 'The specified bucket does not have a website configuration'],
  NoSuchConfiguration: [404, 'The specified configuration does not exist.'],
  MalformedContinuationToken: [400, 'The continuation-token you provided invalid.'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found'],
  ObjectLockConfigurationNotFoundError: [404, 'Object Lock configuration does not exist for this bucket'],
  OwnershipControlsNotFoundError: [404, 'The bucket ownership controls were not found.'],
  ReplicationConfigurationNotFoundError: [404, 'The replication configuration was not found'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchObjectLockConfiguration: [404, 'The specified object does not have a ObjectLock configuration'],
  NoSuchTagSet: [404, 'The TagSet does not exist'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  OperationAborted: [409, 'A conflicting conditional operation is currently in progress against this resource. Please try again.'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented.'],
  NotModified: [304, 'Not Modified.'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  RequestTimeout: [400, 'Your socket connection to the server was not read from or written to within the timeout period.'],
  ServerSideEncryptionConfigurationNotFoundError: [404, 'The server side encryption configuration was not found'],
  ServiceUnavailable: [503, 'The service is unavailable. Please retry.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  UserKeyMustBeSpecified: [400, 'User key must be specified.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'Error parsing the X-Amz-Credential parameter.'],
  InvalidSignatureTypeError: [400, 'The signature type is not supported.'],
  UnexpectedContent: [400, 'This request does not support content.'],
  InvalidStorageClass: [400, 'The storage class you specified is not valid.'],
  InvalidBucketAclWithObjectOwnership: [400, 'Bucket cannot have ACLs set with ObjectOwnership\'s BucketOwnerEnforced setting.'],
  InvalidTag: [400, 'The tag provided was not a valid tag.'],
  InvalidToken: [400, 'The provided token is malformed or otherwise invalid.'],
  ExpiredToken: [400, 'The provided token has expired.'],
  KMSNotConfigured: [501, 'Server side encryption specified but KMS is not configured.'],
  KMSUnavailable: [503, 'The key management service is unreachable. Please retry.'],
  'KMS.NotFoundException': [400, 'The KMS key does not exist.'],
  XMinioKMSKeyExists: [409, 'The key already exists.'],
  XMinioObjectTampered: [500, 'The requested object was modified and may be compromised.'],
  XMinioStorageFull: [507, 'Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.'],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An error that is answered to the client as an S3 XML error body. */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  /** Extra response headers (e.g. Accept for MethodNotAllowed). */
  readonly headers: Readonly<Record<string, string>>;
  /** Extra elements of the XML error body, after Message (e.g. Region for a wrong region). */
  readonly fields: Readonly<Record<string, string>>;

  constructor(code: S3ErrorCode, message?: string, options?: { cause?: unknown; headers?: Record<string, string>; status?: number; fields?: Record<string, string> }) {
    const [status, defaultMessage] = S3_ERRORS[code];
    super(message ?? defaultMessage, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = options?.status ?? status;
    this.headers = options?.headers ?? {};
    this.fields = options?.fields ?? {};
  }
}

export function isS3Error(err: unknown): err is S3Error {
  return err instanceof S3Error;
}

/** The S3 code the wire shows for our internal KMS codes. */
export function wireCode(code: S3ErrorCode): string {
  if (code === 'KMSNotConfigured') return 'NotImplemented';
  if (code === 'KMSUnavailable') return 'ServiceUnavailable';
  return code;
}

/** errno names that mean the process (EMFILE) or the system (ENFILE) has no file descriptor left. */
const DESCRIPTOR_CODES = new Set(['EMFILE', 'ENFILE']);

/**
 * The errno name when `err` (or an error it wraps as `cause`) failed for want of a file
 * descriptor: a shortage that passes as connections close, answered 503 SlowDown so that clients
 * back off and retry rather than take a 500 for a fault. A worker thread that could not start
 * says it only in its message (`Worker initialization failure: EMFILE`).
 */
export function descriptorShortage(err: unknown): string | undefined {
  let e = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DESCRIPTOR_CODES.has(code)) return code;
    if (code === 'ERR_WORKER_INIT_FAILED') {
      const named = /\b(EMFILE|ENFILE)\b/.exec(String((e as { message?: unknown }).message));
      if (named !== null) return named[1];
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What to tell a user of `tool` (s3d verify, s3d backup) who may not `verb` (open, read) `path`:
 * EACCES or EPERM, a file restored or left by root in the service user's directory, refused by
 * name with the fix (exit 2) as the daemon refuses it; undefined for any other error.
 */
export function notThisUsers(err: unknown, path: string, verb: 'open' | 'read', tool: string): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code !== 'EACCES' && code !== 'EPERM') return undefined;
  return `cannot ${verb} ${path} (${code}): it is not readable by this user (uid ${process.getuid?.() ?? '?'}); run ${tool} as the service's user, and give the data directory's files to that user (chown -R)`;
}

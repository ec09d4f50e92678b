// STS on the S3 endpoint (AWS's STS query API, as MinIO serves it): a form body (or the query)
// signed with SigV4 for the service `sts`. AssumeRole: a user of S3_IAM_FILE POSTs
// `Action=AssumeRole&Version=2011-06-15` and gets temporary credentials (auth/sts.ts) acting for
// it, for DurationSeconds (900 s to 7 days, default 1 h), limited by an optional session Policy.
// RoleArn is taken and not used (MinIO's reading: s3d has no roles), RoleSessionName names the
// session in its ARN; session Tags become aws:PrincipalTag/<key>, for a user whose policies allow
// sts:TagSession (else AccessDenied: a tag could grant what a policy keys on it). The root user
// cannot assume a role, as on AWS, nor can temporary credentials. GetCallerIdentity: who signed,
// for any signer.
// Errors are STS's ErrorResponse documents, which the SDKs' STS clients read (not S3's Error).
import { createHash } from 'node:crypto';
import { parseIdentityPolicy } from '../auth/bucket-policy.js';
import { repeatedJsonKey } from '../auth/json-keys.js';
import { authenticate, type AuthResult } from '../auth/sigv4.js';
import { LONGEST_SESSION_S, type SessionTokens } from '../auth/sts.js';
import { STS_TAG_SESSION } from '../auth/s3-actions.js';
import { principalTags } from '../auth/users.js';
import { isS3Error } from '../errors.js';
import { accountId, assumedRoleArn, userArn, type OpsEnv } from './env.js';
import { requestFacts, userMay } from './policy.js';
import type { RequestContext, Result } from './types.js';
import { escapeXmlText } from './xml.js';

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
export const MIN_DURATION_S = 900;
export const MAX_DURATION_S = LONGEST_SESSION_S;
const DEFAULT_DURATION_S = 3600;
/** A session policy's longest text (MinIO's bound; AWS packs it into 2,048 bytes too). */
const MAX_POLICY_CHARS = 2048;
/**
 * A session token's longest text. The token carries the session policy and tags (auth/sts.ts), and
 * requests carry the token in their header section, which S3 bounds at 8 KiB (http/request-head.ts):
 * IAM's limits alone (2,048 characters of policy, 50 tags of up to 384) let AssumeRole issue a
 * token every request with it was refused for (RequestHeaderSectionTooLarge). 6 KiB leaves the
 * request's other headers (signature, user agent, metadata) 2 KiB. AWS has the same kind of bound
 * (a packed size of the session policy and tags, PackedPolicyTooLarge).
 */
export const MAX_TOKEN_CHARS = 6144;
/** The form's longest body: the parameters and a session policy, with room for encoding. */
const MAX_BODY_BYTES = 16 * 1024;

class StsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * S3 authentication's errors as AWS STS answers them: an unknown key, and a session token it cannot
 * use (altered, another server's, its user gone), are both 403 InvalidClientTokenId there ("The
 * security token included in the request is invalid"), where S3 says 400 InvalidToken of the
 * token. An expired token is ExpiredToken, 400, on both.
 */
const STS_CODES: Readonly<Record<string, { code: string; status: number }>> = {
  InvalidAccessKeyId: { code: 'InvalidClientTokenId', status: 403 },
  InvalidToken: { code: 'InvalidClientTokenId', status: 403 },
};

const escape = escapeXmlText;

function xmlResult(status: number, xml: string): Result {
  return { status, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?>\n${xml}` };
}

function errorResult(err: StsError, requestId: string): Result {
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  return xmlResult(
    err.status,
    `<ErrorResponse xmlns="${STS_NS}"><Error><Type>${type}</Type><Code>${escape(err.code)}</Code><Message>${escape(err.message)}</Message></Error><RequestId>${escape(requestId)}</RequestId></ErrorResponse>`,
  );
}

/**
 * The request's parameters: the form body's and the query's (MinIO takes either). One given twice
 * with different values is refused (as S3 requests refuse a query parameter so given): which one
 * counts is a guess the signer may not share (MinIO takes the first, body before query; s3d took
 * the last), and for Policy the wrong guess is a wider session than the one asked for.
 */
function parameters(body: Buffer, query: URLSearchParams): Map<string, string> {
  const out = new Map<string, string>();
  const add = (k: string, v: string): void => {
    if (out.has(k) && out.get(k) !== v) throw new StsError('InvalidParameterValue', 400, `The parameter ${k} is given more than once with different values.`);
    out.set(k, v);
  };
  for (const [k, v] of query) if (!k.startsWith('X-Amz-')) add(k, v);
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) add(k, v);
  return out;
}

/**
 * Session tags (`Tags.member.N.Key` and `.Value`, N from 1): aws:PrincipalTag/<key> of the
 * session, over its user's tags of the same key. TransitiveTagKeys is taken and not used (no
 * role chaining).
 */
function sessionTags(params: ReadonlyMap<string, string>): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const [name] of params) {
    const m = /^Tags\.member\.(\d{1,3})\.(Key|Value)$/.exec(name);
    if (m === null) {
      if (name.startsWith('Tags.')) throw new StsError('InvalidParameterValue', 400, `${name} is not a session tag parameter (Tags.member.N.Key, Tags.member.N.Value).`);
      continue;
    }
    if (m[2] !== 'Key') continue;
    const value = params.get(`Tags.member.${m[1]}.Value`);
    if (value === undefined) throw new StsError('InvalidParameterValue', 400, `Tags.member.${m[1]} has a Key and no Value.`);
    pairs.push([params.get(name)!, value]);
  }
  for (const [name] of params) {
    const m = /^Tags\.member\.(\d{1,3})\.Value$/.exec(name);
    if (m !== null && !params.has(`Tags.member.${m[1]}.Key`)) throw new StsError('InvalidParameterValue', 400, `Tags.member.${m[1]} has a Value and no Key.`);
  }
  if (pairs.length === 0) return undefined;
  const checked = principalTags(pairs);
  if (typeof checked === 'string') throw new StsError('ValidationError', 400, `Session tags: ${checked}.`);
  return pairs;
}

/** One STS call (AssumeRole or GetCallerIdentity), answered with STS's XML, errors included. */
export async function handleSts(env: OpsEnv, sessions: SessionTokens, ctx: RequestContext): Promise<Result> {
  try {
    let body: Buffer;
    try {
      body = await ctx.body.readAll(MAX_BODY_BYTES);
    } catch {
      throw new StsError('ValidationError', 400, `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
    }
    const hash = createHash('sha256').update(body).digest('hex');
    let auth: AuthResult;
    try {
      // Signed for `sts` (Signature V4 only), by any of s3d's keys: temporary credentials too.
      // The query as sent (ctx.rawQuery), as every other signature is read: `ctx.query` re-encoded
      // (`!` `'` `(` `)` as %21 %27 %28 %29) is not what a client that signs its query as written
      // signed, and its signature failed here where it passes on any S3 request.
      auth = authenticate({ method: ctx.method, rawPath: ctx.rawPath, rawQuery: ctx.rawQuery, headers: ctx.headers as Record<string, string> }, env.credentials, {
        region: env.config.region,
        service: 'sts',
        payloadHash: hash,
        sessions,
      });
    } catch (err) {
      if (!isS3Error(err)) throw err;
      const sts = STS_CODES[err.code];
      throw new StsError(sts?.code ?? err.code, sts?.status ?? err.status, err.message);
    }
    // The parameters must be signed: a body whose hash the signature does not cover (a presigned
    // URL, UNSIGNED-PAYLOAD) could have been changed on the way (a longer duration, no session policy).
    if (auth.payload.kind !== 'sha256' && body.length > 0) throw new StsError('AccessDenied', 403, 'The request body is not signed: sign its SHA-256, or send the parameters in the signed query.');
    // A presigned URL's signed X-Amz-Content-Sha256 (in its query, or a signed header: a hash the
    // body has to match) is not compared with the body by authentication (the header check is):
    // another body would ride on its signature. Any signed hash is compared here.
    if (auth.payload.kind === 'sha256' && auth.payload.expectedHex.toLowerCase() !== hash) {
      throw new StsError('SignatureDoesNotMatch', 403, 'The request body is not the one whose SHA-256 the presigned URL signs.');
    }
    const params = parameters(body, ctx.query);
    const action = params.get('Action');
    if (action !== 'AssumeRole' && action !== 'GetCallerIdentity') {
      throw new StsError('InvalidAction', 400, `Could not find operation ${action ?? '(none)'} for version ${params.get('Version') ?? '(none)'}: s3d serves AssumeRole and GetCallerIdentity.`);
    }
    if (params.get('Version') !== '2011-06-15') throw new StsError('InvalidParameterValue', 400, 'Version must be 2011-06-15.');
    return action === 'AssumeRole' ? assumeRole(env, sessions, ctx, auth.accessKeyId, params) : callerIdentity(env, sessions, ctx, auth.accessKeyId);
  } catch (err) {
    if (err instanceof StsError) return errorResult(err, ctx.requestId);
    throw err;
  }
}

/**
 * GetCallerIdentity: who signed, as AWS names it (any signer may ask, as on AWS): the root user
 * (`…:root`), a user of S3_IAM_FILE (`…:user/<access key>`, its access key as UserId, which
 * policies know as aws:userid), temporary credentials (the assumed-role ARN AssumeRole gave them).
 */
function callerIdentity(env: OpsEnv, sessions: SessionTokens, ctx: RequestContext, accessKey: string): Result {
  const acct = accountId(env);
  const session = sessions.user(accessKey)?.session;
  const [arn, userId] =
    accessKey === env.config.rootUser
      ? [`arn:aws:iam::${acct}:root`, acct]
      : session !== undefined
        ? [assumedRoleArn(acct, session.parent, session.name ?? session.parent), `${accessKey}:${session.name ?? session.parent}`]
        : [userArn(acct, accessKey), accessKey];
  return xmlResult(
    200,
    `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult><Arn>${escape(arn)}</Arn><UserId>${escape(userId)}</UserId><Account>${escape(acct)}</Account></GetCallerIdentityResult>` +
      `<ResponseMetadata><RequestId>${escape(ctx.requestId)}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
  );
}

function assumeRole(env: OpsEnv, sessions: SessionTokens, ctx: RequestContext, accessKey: string, params: ReadonlyMap<string, string>): Result {
  if (accessKey === env.config.rootUser) throw new StsError('AccessDenied', 403, 'The root user cannot assume a role: sign AssumeRole with the keys of a user of S3_IAM_FILE.');
  // No role chaining: temporary credentials cannot assume a role (MinIO's rule, and its answer:
  // 403 AccessDenied; the token is valid, so InvalidToken would send the client after a fault it lacks).
  if (sessions.user(accessKey) !== undefined) throw new StsError('AccessDenied', 403, 'Temporary credentials cannot assume a role: sign AssumeRole with the keys of a user of S3_IAM_FILE.');
  const durationText = params.get('DurationSeconds');
  const duration = durationText === undefined ? DEFAULT_DURATION_S : /^\d{1,9}$/.test(durationText) ? Number(durationText) : NaN;
  if (!(duration >= MIN_DURATION_S && duration <= MAX_DURATION_S)) {
    throw new StsError('ValidationError', 400, `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between ${MIN_DURATION_S} and ${MAX_DURATION_S}.`);
  }
  const name = params.get('RoleSessionName');
  if (name !== undefined && !/^[\w+=,.@-]{2,64}$/.test(name)) {
    throw new StsError('ValidationError', 400, `1 validation error detected: Value '${name}' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and match [\\w+=,.@-]*.`);
  }
  // Managed session policies would limit the session: ignoring them would widen it.
  if ([...params.keys()].some((k) => k.startsWith('PolicyArns.'))) throw new StsError('InvalidParameterValue', 400, 'PolicyArns is not supported: give the session policy inline (Policy).');
  const policy = params.get('Policy');
  if (policy !== undefined) {
    if (policy.length > MAX_POLICY_CHARS) throw new StsError('PackedPolicyTooLarge', 400, `The session policy is ${policy.length} characters; at most ${MAX_POLICY_CHARS}.`);
    try {
      parseIdentityPolicy(JSON.parse(policy));
      // A name given twice in one object (two StringEquals blocks of one Condition) is refused, as
      // in every other policy s3d takes: JSON.parse keeps the last, so the session would be
      // limited less than its policy reads.
      const repeated = repeatedJsonKey(policy);
      if (repeated !== undefined) throw new Error(`${JSON.stringify(repeated.key)} appears twice in one object${repeated.path === '' ? '' : ` (${repeated.path})`}; JSON keeps only the last.`);
    } catch (err) {
      throw new StsError('MalformedPolicyDocument', 400, `The session policy is not valid: ${(err as Error).message}`);
    }
  }
  const sessionName = name ?? accessKey;
  const tags = sessionTags(params);
  // Session tags are the session's aws:PrincipalTag/<key>, over its user's: a user that could
  // give them freely could give itself any tag a policy grants by. AWS asks the role's trust
  // policy for sts:TagSession; s3d has no roles, and asks the user's own policies.
  // The tags are aws:RequestTag/<key> and aws:TagKeys of that check: a policy may allow some only.
  if (tags !== undefined && !userMay(env, accessKey, STS_TAG_SESSION, undefined, undefined, requestFacts(ctx), { requestTags: tags })) {
    throw new StsError('AccessDenied', 403, `User: ${userArn(accountId(env), accessKey)} is not authorized to perform: ${STS_TAG_SESSION} (session Tags need a policy of the user that allows it, Resource "*").`);
  }
  const issued = sessions.issue(accessKey, duration, Date.now(), { policy, tags, name: sessionName });
  if (issued.sessionToken.length > MAX_TOKEN_CHARS) {
    // AWS's words: how much of the allotted space the session policy and tags take.
    const share = Math.ceil((issued.sessionToken.length / MAX_TOKEN_CHARS) * 100);
    throw new StsError('PackedPolicyTooLarge', 400, `The session policy and session tags consume ${share}% of allotted space: their session token would be ${issued.sessionToken.length} characters, at most ${MAX_TOKEN_CHARS} fit a request's headers; use a smaller policy or fewer tags.`);
  }
  env.log.info({ requestId: ctx.requestId, user: accessKey, accessKeyId: issued.accessKeyId, expires: new Date(issued.expiresAt).toISOString() }, 'temporary credentials issued');
  return xmlResult(
    200,
    `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult>` +
      `<AssumedRoleUser><Arn>${escape(assumedRoleArn(accountId(env), accessKey, sessionName))}</Arn><AssumedRoleId>${escape(`${issued.accessKeyId}:${sessionName}`)}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${issued.accessKeyId}</AccessKeyId><SecretAccessKey>${escape(issued.secretKey)}</SecretAccessKey><SessionToken>${issued.sessionToken}</SessionToken>` +
      `<Expiration>${new Date(issued.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z')}</Expiration></Credentials>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${escape(ctx.requestId)}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
  );
}

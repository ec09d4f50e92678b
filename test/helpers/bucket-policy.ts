// Bucket policies for the s3-bucket-policy-* suites: policy documents (statements for anyone, the
// policies `mc anonymous set download` and `set public` write), unsigned requests and the AccessDenied they must get,
// PUT ?policy verbatim and through the SDK, GetBucketPolicy, and objects written by the root user.

import type { Test } from 'tap';
import { GetBucketPolicyCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon, type TestDaemon } from './daemon.js';
import { md5Base64 } from './hash.js';
import { assertXmlError, encodeKey, raw, type RawOptions, type RawResponse } from './http.js';

/** A bucket or object ARN. */
export const arn = (resource: string): string => `arn:aws:s3:::${resource}`;

/** A policy statement. */
export interface Stmt {
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** A statement for anyone ({"AWS": ["*"]}); resources are written without `arn:aws:s3:::`. */
export function stmt(Effect: 'Allow' | 'Deny', actions: string[], resources: string[], Condition?: Stmt['Condition']): Stmt {
  return { Effect, Principal: { AWS: ['*'] }, Action: actions, Resource: resources.map(arn), ...(Condition ? { Condition } : {}) };
}

/** A policy document of these statements. */
export function policy(...statements: Stmt[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/** Exactly what `mc anonymous set download ALIAS/B` puts (minio-go's policy package marshalling). */
export function mcDownload(b: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Action: ['s3:GetBucketLocation', 's3:ListBucket'], Effect: 'Allow', Principal: { AWS: ['*'] }, Resource: [arn(b)], Sid: '' },
      { Action: ['s3:GetObject'], Effect: 'Allow', Principal: { AWS: ['*'] }, Resource: [arn(`${b}/*`)], Sid: '' },
    ],
  });
}

/** Exactly what `mc anonymous set public ALIAS/B` (readwrite) puts. */
export function mcPublic(b: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], Effect: 'Allow', Principal: { AWS: ['*'] }, Resource: [arn(b)], Sid: '' },
      {
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
        Effect: 'Allow',
        Principal: { AWS: ['*'] },
        Resource: [arn(`${b}/*`)],
        Sid: '',
      },
    ],
  });
}

/** Allow these actions to anyone on the bucket and all its objects. */
export function allowAll(b: string, actions: string[] = ['s3:*']): string {
  return policy(stmt('Allow', actions, [b, `${b}/*`]));
}

/** The path of an object for raw requests. */
export const objectPath = (bucket: string, key: string): string => `/${bucket}/${encodeKey(key)}`;

/** Asserts 403 AccessDenied (a HEAD has no body: the status only). */
export function assertDenied(t: Test, res: RawResponse, method: string, what: string): void {
  if (method === 'HEAD') t.equal(res.status, 403, `${what}: HTTP 403`);
  else assertXmlError(t, res, 403, 'AccessDenied', what);
}

/** A Tagging document. */
export function taggingXml(pairs: Array<[string, string]>): string {
  return `<Tagging><TagSet>${pairs.map(([k, v]) => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`).join('')}</TagSet></Tagging>`;
}

/** The requests of the suites, to the daemon `d` (the SDK client `s3`) unless another is passed. */
export function policyHelpers(d: TestDaemon, s3: S3Client) {
  /** An unsigned request to the plain daemon. */
  function anon(o: Omit<RawOptions, 'sign'>, daemon: TestDaemon = d): Promise<RawResponse> {
    return raw(daemon.port, { ...o, sign: false });
  }

  /** A signed PUT ?policy with this body verbatim. */
  function putPolicyRaw(bucket: string, text: string | Buffer, daemon: TestDaemon = d): Promise<RawResponse> {
    return raw(daemon.port, {
      method: 'PUT',
      path: `/${bucket}`,
      query: 'policy',
      headers: { 'content-md5': md5Base64(text), 'content-type': 'application/json' },
      body: text,
      sign: { payloadHash: 'hash' },
    });
  }

  /** PutBucketPolicy through the SDK; throws unless 204. */
  async function setPolicy(bucket: string, text: string, client: S3Client = s3): Promise<void> {
    const out = await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: text }));
    if (out.$metadata.httpStatusCode !== 204) throw new Error(`PutBucketPolicy ${bucket}: HTTP ${out.$metadata.httpStatusCode}`);
  }

  /** GetBucketPolicy's text. */
  async function policyText(bucket: string, client: S3Client = s3): Promise<string | undefined> {
    return (await client.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  }

  /** Status of a signed HEAD of an object (200 exists, 404 not). */
  async function signedHeadStatus(bucket: string, key: string, daemon: TestDaemon = d): Promise<number> {
    return (await raw(daemon.port, { method: 'HEAD', path: objectPath(bucket, key) })).status;
  }

  /** Sends anonymously and asserts AccessDenied. */
  async function expectDenied(t: Test, o: Omit<RawOptions, 'sign'>, what: string, daemon: TestDaemon = d): Promise<void> {
    assertDenied(t, await anon(o, daemon), o.method, `anonymous ${what}`);
  }

  /** PutObject of each key with its body. */
  async function putObjects(bucket: string, objects: Record<string, string>, client: S3Client = s3): Promise<void> {
    await Promise.all(Object.entries(objects).map(([Key, Body]) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }))));
  }

  return { anon, putPolicyRaw, setPolicy, policyText, signedHeadStatus, expectDenied, putObjects };
}

/**
 * `policy` stored for `bucket` as an earlier version would have stored it (PutBucketPolicy now
 * refuses it): `d` stopped, the policy written through the MetaStore, a daemon started again on
 * the same data. Returns that daemon (stopped at the end of `t`) and the status of an unsigned
 * GET of a key of the bucket.
 */
export async function restartWithStoredPolicy(t: Test, d: TestDaemon, bucket: string, policy: string): Promise<{ again: TestDaemon; anon: (key: string) => Promise<number> }> {
  t.equal(await d.stop(), 0, 'stopped');
  const meta = new MetaStore(join(d.dataDir, '.s3d'));
  await meta.updateBucket(bucket, (b) => ({ ...b, policy }));
  await meta.close();
  const again = await startDaemon({ dataDir: d.dataDir });
  t.teardown(() => again.stop());
  const anon = async (key: string): Promise<number> => (await raw(again.port, { method: 'GET', path: `/${bucket}/${key}`, sign: false })).status;
  return { again, anon };
}

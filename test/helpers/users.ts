// The IAM file of the s3-users-* suites (S3_IAM_FILE): access keys besides the root user, their
// policies (the built-in ones, the file's own, one user per bucket-configuration action), the
// buckets and objects those policies name, and SDK clients signing as a user.

import { CreateBucketCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { bucketName, s3Client, startDaemon, type TestDaemon } from './daemon.js';
import { getBytes } from './s3.js';

/** A random part of the names of this run (buckets of bucket-configuration users, CreateBucket patterns). */
export const run = randomBytes(3).toString('hex');

// ---- the IAM file ----------------------------------------------------------------------------

/** The ARN of a bucket or object. */
export const arn = (r: string): string => `arn:aws:s3:::${r}`;

type Cond = Record<string, Record<string, string | string[]>>;
interface Stmt {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Cond;
}
/** An Allow or Deny statement on these resources (bucket names, bucket/key patterns). */
export function allow(actions: string[], resources: string[], Condition?: Cond): Stmt {
  return { Effect: 'Allow', Action: actions, Resource: resources.map(arn), ...(Condition ? { Condition } : {}) };
}
export function deny(actions: string[], resources: string[], Condition?: Cond): Stmt {
  return { Effect: 'Deny', Action: actions, Resource: resources.map(arn), ...(Condition ? { Condition } : {}) };
}
/** A policy document of these statements. */
export const doc = (...Statement: Stmt[]): unknown => ({ Version: '2012-10-17', Statement });

/** A user in the file. */
export interface UserEntry {
  accessKey: string;
  secretKey: string;
  policies: string[];
  comment?: string;
}

/** The buckets and request headers the policies name. */
export const B = bucketName('iam'); // the shared bucket
export const SRC = bucketName('iamsrc'); // copy sources
export const VB = bucketName('iamver'); // versioned
export const CFG = `cfg-${run}`; // bucket-configuration buckets are CFG-<n>
export const UA = 's3d-users-agent/1.0';
export const REFERER = 'https://app.example/upload';

/** Bucket-configuration operations, each with the one action a policy names for it. */
export const CONFIG_ACTIONS = [
  's3:PutBucketPolicy',
  's3:GetLifecycleConfiguration',
  's3:PutLifecycleConfiguration',
  's3:PutEncryptionConfiguration',
  's3:PutBucketVersioning',
  's3:PutBucketCORS',
  's3:PutBucketTagging',
  's3:DeleteBucket',
] as const;

/** The policies and users of the file. */
export const policies: Record<string, unknown> = {
  // Objects under photos/ of B; listing only with prefix photos/; keep-* can't be deleted, *.exe can't be written.
  photos: doc(
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [`${B}/photos/*`]),
    allow(['s3:ListBucket'], [B], { StringEquals: { 's3:prefix': 'photos/' } }),
    allow(['s3:GetObject'], [`${B}/docs/report-20??.pdf`]),
    deny(['s3:DeleteObject'], [`${B}/photos/keep-*`]),
    deny(['s3:PutObject'], [`${B}/photos/*.exe`]),
  ),
  // With readwrite: nothing under any bucket's secret/ prefix.
  'no-secret': doc(deny(['s3:*'], ['*/secret/*'])),
  conditions: doc(
    allow(['s3:GetObject'], [`${B}/cond/*`], { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }),
    allow(['s3:GetObject'], [`${B}/far/*`], { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }),
    deny(['s3:GetObject'], [`${B}/cond/*`], { StringNotLike: { 'aws:UserAgent': `*${UA}*` } }),
    allow(['s3:PutObject'], [`${B}/cond/*`], { StringEquals: { 'aws:Referer': REFERER } }),
    deny(['s3:PutObject'], [`${B}/cond/*`], { NotIpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }),
    allow(['s3:ListBucket'], [B], { StringEquals: { 's3:delimiter': '/' }, StringLike: { 's3:prefix': 'cond/*' } }),
    deny(['s3:ListBucket'], [B], { StringEquals: { 's3:max-keys': '5' } }),
  ),
  'tls-only': doc(allow(['s3:GetObject', 's3:PutObject'], [`${B}/*`], { Bool: { 'aws:SecureTransport': 'true' } })),
  versions: doc(allow(['s3:GetObject', 's3:GetObjectAcl', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'], [VB, `${VB}/*`])),
  copier: doc(allow(['s3:PutObject'], [`${B}/copies/*`]), allow(['s3:GetObject'], [`${SRC}/open/*`])),
  creator: doc(allow(['s3:CreateBucket'], [`usr-${run}-*`]), allow(['s3:ListAllMyBuckets'], ['*'])),
};
export const users: UserEntry[] = [
  { accessKey: 'app-rw', secretKey: 'rw-secret-0001', policies: ['readwrite'] },
  { accessKey: 'app-ro', secretKey: 'ro-secret-0002', policies: ['readonly'], comment: 'dashboards' },
  { accessKey: 'app-wo', secretKey: 'eight888', policies: ['writeonly'], comment: 'a secret of exactly 8 characters' },
  { accessKey: 'app-photos', secretKey: 'photos-secret-03', policies: ['photos'] },
  { accessKey: 'app-nosecret', secretKey: 'nosecret-secret-4', policies: ['readwrite', 'no-secret'] },
  { accessKey: 'app-cond', secretKey: 'cond-secret-00005', policies: ['conditions'] },
  { accessKey: 'app-tls', secretKey: 'tls-secret-000006', policies: ['tls-only'] },
  { accessKey: 'app-ver', secretKey: 'ver-secret-000007', policies: ['versions'] },
  { accessKey: 'app-copy', secretKey: 'copy-secret-00008', policies: ['copier'] },
  { accessKey: 'app-creator', secretKey: 'creator-secret-9', policies: ['creator'] },
];
CONFIG_ACTIONS.forEach((action, i) => {
  policies[`cfg-${i}`] = doc(allow([action], [`${CFG}-*`]));
  users.push({ accessKey: `cfg-user-${i}`, secretKey: `cfg-secret-${i}-xyz`, policies: [`cfg-${i}`] });
});

/**
 * A daemon reading this users file (written into a scratch directory), stopped and removed with
 * the directory at `t`'s teardown; S3D_DUMP_LOGS=1 prints its warnings and errors then.
 */
export async function startDaemonWithUsers(t: Test, content: unknown, env: Record<string, string> = {}): Promise<{ d: TestDaemon; iamFile: string; work: string }> {
  const work = mkdtempSync(join(tmpdir(), 's3d-users-'));
  const iamFile = writeIam(join(work, 'iam.json'), content);
  const d = await startDaemon({ env: { S3_IAM_FILE: iamFile, ...env } });
  t.teardown(async () => {
    if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
    await d.stop();
    d.cleanup();
    rmSync(work, { recursive: true, force: true });
  });
  return { d, iamFile, work };
}

/** Writes an IAM file with this mode; its path. */
export function writeIam(path: string, content: unknown, mode = 0o600): string {
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2), { mode });
  chmodSync(path, mode);
  return path;
}

/** The access key's secret in the file. */
export const secretOf = (accessKey: string): string => users.find((u) => u.accessKey === accessKey)!.secretKey;

/** What s3Code gives for a denial. */
export const DENIED = 'AccessDenied/403';

/** An object's body, read by `client`. */
export async function text(client: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<string> {
  return (await getBytes(client, { Bucket, Key, ...(VersionId ? { VersionId } : {}) })).toString();
}

/** PutObject by `client`. */
export async function put(client: S3Client, Bucket: string, Key: string, Body: string | Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket, Key, Body }));
}
/** Status of a HEAD (a 403 HEAD has no body, so no code to compare). */
export async function headStatus(p: Promise<{ $metadata: { httpStatusCode?: number } }>): Promise<number | string> {
  try {
    return (await p).$metadata.httpStatusCode ?? 'none';
  } catch (err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? String(err);
  }
}
/** The sorted keys of ListObjectsV2 by `client`. */
export async function keysOf(client: S3Client, Bucket: string, Prefix?: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket, ...(Prefix !== undefined ? { Prefix } : {}) }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** The root user and SDK clients of `d` signing as a user of the file (app-rw, app-ro, app-wo, app-photos). */
export function userClients(d: TestDaemon) {
  const root = d.s3();
  /** An SDK client of `daemon` signing as `accessKey` (its secret from the file unless given). */
  function as(accessKey: string, daemon: TestDaemon = d, extra: Parameters<typeof s3Client>[3] = {}, secret = secretOf(accessKey)): S3Client {
    return s3Client(daemon.endpoint, daemon.caCert, true, { credentials: { accessKeyId: accessKey, secretAccessKey: secret }, maxAttempts: 1, ...extra });
  }
  const rw = as('app-rw');
  const ro = as('app-ro');
  const wo = as('app-wo');
  const photos = as('app-photos');
  /** Root's view of an object: its body, or the HEAD error (`NotFound/404`). */
  async function rootSees(Bucket: string, Key: string): Promise<string> {
    try {
      return await text(root, Bucket, Key);
    } catch (err) {
      const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
      return `${e.name}/${e.$metadata?.httpStatusCode}`;
    }
  }
  /** The root user sets bucket `b`'s policy to these statements. */
  async function setBucketPolicy(b: string, statements: object[]): Promise<void> {
    await root.send(new PutBucketPolicyCommand({ Bucket: b, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
  }

  return { root, as, rw, ro, wo, photos, rootSees, setBucketPolicy };
}

/** The shared fixtures, made by root: buckets B, SRC and VB (versioned), objects in B. */
export async function makeFixtures(root: S3Client): Promise<void> {
  await Promise.all([B, SRC, VB].map((b) => root.send(new CreateBucketCommand({ Bucket: b }))));
  await root.send(new PutBucketVersioningCommand({ Bucket: VB, VersioningConfiguration: { Status: 'Enabled' } }));
  await Promise.all(
    Object.entries({
      'photos/a.jpg': 'photo a',
      'photos/keep-b.jpg': 'photo b (kept)',
      'docs/c.txt': 'doc c',
      'docs/report-2024.pdf': 'report 2024',
      'docs/report-20245.pdf': 'report 20245',
      'docs/report-2024.pdfx': 'report 2024 x',
      'secret/s.txt': 'the secret',
      'cond/x.txt': 'cond x',
      'far/y.txt': 'far y',
      'plain.txt': 'plain',
    }).map(([k, v]) => put(root, B, k, v)),
  );
}

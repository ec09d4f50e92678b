// `s3d verify DIR [--deep] [--bucket NAME] [--dev]`: checks that every stored object version, and every part of the
// multipart uploads in progress, can still be read back.
// Read-only (LMDB opened read-only, data files only read), so it may run beside a serving daemon;
// a check of the whole store writes its record, DIR/.s3d/last-verify (storage/run-records.ts).
// Shallow: each data file exists with the size its record gives. Deep: every byte is read,
// decrypted and authenticated (DARE), and MD5 ETags are recomputed where the record has one, as
// are the flexible checksums a record keeps of a part or a single-part object; a multipart
// object's own checksum is formed again from its parts'.

import { createHash } from 'node:crypto';
import { storeFileDamage } from './meta/store-file.js';
import { existsSync, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { commandLogger } from './log.js';
import { intVar, onOff } from './config.js';
import { CryptoPool } from './crypto/pool.js';
import { createKeyProviderFromEnv } from './kms/index.js';
import type { KeyProvider } from './kms/provider.js';
import { MetaStore, StoreFormatError } from './meta/store.js';
import type { ChecksumFields, DataRef, ObjectRecord, UploadRecord } from './meta/records.js';
import { clientVersionId } from './meta/versions.js';
import { CHECKSUM_ALGORITHMS, checksumHasher, type ChecksumAlgorithm } from './auth/payload.js';
import { isS3Error, notThisUsers } from './errors.js';
import { readData } from './ops/object-data.js';
import { digestBase64 } from './ops/checksums.js';
import { multipartETag } from './ops/multipart-complete.js';
import { objectChecksum } from './ops/multipart-checksums.js';
import { checksumType, openChecksums, openPartChecksums, type Checksums } from './sse/checksums.js';
import { etagContentMd5, isKmsUnusable, unsealForRead } from './sse/object-encryption.js';
import { derivePartKey } from './sse/object-key.js';
import { FileStore } from './storage/files.js';
import { isDareError } from '../workers/format/dare-error.js';
import { incompleteBackupMarker } from './backup.js';
import { encryptedSize } from '../workers/format/index.js';
import { runRecordFile, writeRunRecord } from './storage/run-records.js';

export type ProblemKind = 'missing' | 'size' | 'unreadable' | 'record' | 'key' | 'tampered' | 'md5' | 'checksum';

/** Errors of a system call on a data file that say the file is not there. */
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);
/**
 * Errors of a system call on a data file that are the file's own state: the daemon could not read
 * it either (a bad sector, a filesystem needing fsck, a file restored as another user). Others
 * (EMFILE, ENOMEM, ...) are this process's, and stop the run rather than blame the object.
 */
const UNREADABLE_CODES = new Set(['EIO', 'EACCES', 'EPERM', 'EISDIR', 'ELOOP', 'ENXIO', 'ESTALE', 'EUCLEAN', 'EBADMSG', 'EOVERFLOW']);

/** A data file's finding for an error of a system call on it; undefined: not the file's. */
function fileFinding(err: unknown, file: string): { kind: ProblemKind; detail: string } | undefined {
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string') return undefined;
  if (MISSING_CODES.has(code)) return { kind: 'missing', detail: `data file ${file} is missing` };
  if (UNREADABLE_CODES.has(code)) return { kind: 'unreadable', detail: `data file ${file} cannot be read (${syscall}: ${code})` };
  return undefined;
}

export interface Problem {
  bucket: string;
  key: string;
  /** The object version, or the multipart upload in progress, the problem is in. */
  versionId?: string;
  uploadId?: string;
  /** The part (multipart objects and uploads), when the problem is in one. */
  part?: number;
  kind: ProblemKind;
  detail: string;
}

export interface VerifyReport {
  buckets: number;
  /** Object versions checked (delete markers aside). */
  versions: number;
  /** Multipart uploads in progress whose parts were checked (completing them must find the data). */
  uploads: number;
  /** Plaintext bytes read, decrypted and authenticated (deep only). */
  bytesRead: number;
  /** SSE-C versions and uploads: sizes checked, content not authenticated (the customer key is never stored). */
  keyless: number;
  /** Versions and uploads removed or replaced while being checked (a serving daemon): not problems. */
  gone: number;
  /** Problems found (each given to `onProblem`, not kept: a store that lost its data files has millions). */
  problems: number;
}

export interface VerifyOptions {
  deep: boolean;
  /** Only this bucket (default: all). */
  bucket?: string;
  /** Called with each problem as it is found. */
  onProblem?: (p: Problem) => void;
}

export interface VerifyEnv {
  meta: MetaStore;
  files: FileStore;
  /** Deep verification: the pool that opens DARE streams (null: on this thread). */
  pool: CryptoPool | null;
  /** Deep verification of SSE-S3 / SSE-KMS objects unwraps their keys here; null: none configured. */
  kms: KeyProvider | null;
}

/** A KMS that cannot be reached ends the run: every SSE-S3/SSE-KMS check after it would fail alike. */
export class VerifyAborted extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifyAborted';
  }
}

interface Segment {
  part?: number;
  data: DataRef;
  /** Plaintext size. */
  size: number;
  /** Stored size the record gives. */
  stored: number;
  /** MD5 hex the plaintext must have, when the record holds one. */
  md5?: string;
  /** The flexible checksums of this plaintext the record keeps (a part's, or a single-part object's). */
  sums: ChecksumFields & { readonly n?: number };
  /** A part's S3 default checksum (PartRecord.defaultChecksum): checked against its data too, formed into no object checksum. */
  defaults?: ChecksumFields;
}

/** What a check reads: an object version, or the parts of an upload in progress (no `stored`). */
type StoredData = Pick<ObjectRecord, 'size' | 'data' | 'parts' | 'sse' | 'etag' | 'checksums' | 'sealedChecksums'> & { stored?: number };

const PAGE_SIZE = 1000;

function segmentsOf(rec: StoredData): Segment[] {
  // Plain and SSE-S3 objects and parts carry their content MD5 as ETag (SSE-KMS and SSE-C a sealed one).
  const md5Of = (etag: string, md5?: string): { md5?: string } => {
    const m = md5 ?? etagContentMd5(rec.sse?.kind ?? 'none', etag);
    return m === undefined ? {} : { md5: m };
  };
  if (rec.parts) return rec.parts.map((p) => ({ part: p.n, data: p.data, size: p.size, stored: p.stored, ...md5Of(p.etag, p.md5), sums: p, ...(p.defaultChecksum ? { defaults: p.defaultChecksum } : {}) }));
  if (!rec.data) return [];
  return [{ data: rec.data, size: rec.size, stored: rec.stored ?? 0, ...md5Of(rec.etag), sums: rec }];
}

export async function verifyStore(env: VerifyEnv, opts: VerifyOptions): Promise<VerifyReport> {
  const report: VerifyReport = { buckets: 0, versions: 0, uploads: 0, bytesRead: 0, keyless: 0, gone: 0, problems: 0 };
  const buckets = env.meta.listBuckets().filter((b) => opts.bucket === undefined || b.name === opts.bucket);
  const uploads = new Map<string, UploadRecord[]>();
  for (const u of env.meta.uploadsInitiatedBefore(Number.MAX_SAFE_INTEGER).uploads) {
    const list = uploads.get(u.bucket);
    if (list) list.push(u);
    else uploads.set(u.bucket, [u]);
  }
  for (const b of buckets) {
    report.buckets++;
    let keyMarker = '';
    let versionIdMarker = '';
    let markerStamp: number | undefined;
    for (;;) {
      const page = env.meta.listVersions(b.name, { prefix: '', delimiter: '', keyMarker, versionIdMarker, markerStamp, maxKeys: PAGE_SIZE });
      for (const { key, record } of page.entries) {
        if (record.deleteMarker) continue;
        report.versions++;
        const versionId = clientVersionId(record);
        const found = await checkStored(env, opts, { bucket: b.name, key, versionId }, record, report);
        // A version overwritten or deleted meanwhile had its files released: not a problem.
        settle(report, opts, found, () => sameFiles(env.meta.getVersion(b.name, key, versionId)?.record, record));
      }
      if (!page.isTruncated) break;
      keyMarker = page.nextKey ?? '';
      versionIdMarker = page.nextVersionId ?? '';
      // The last version's place, kept when a null version it names is replaced or deleted meanwhile (meta/listing.ts).
      markerStamp = page.nextStamp;
    }
    for (const upload of uploads.get(b.name) ?? []) {
      report.uploads++;
      const parts = env.meta.listParts(upload.id);
      const pending: StoredData = { size: parts.reduce((n, p) => n + p.size, 0), parts, etag: '', ...(upload.sse ? { sse: upload.sse } : {}) };
      const found = await checkStored(env, opts, { bucket: b.name, key: upload.key, uploadId: upload.id }, pending, report);
      // A part uploaded again, or the upload completed or aborted meanwhile: not a problem.
      settle(report, opts, found, () => env.meta.getUpload(upload.id) !== undefined && sameFiles({ size: 0, etag: '', parts: env.meta.listParts(upload.id) }, pending));
    }
  }
  return report;
}

/** Reports a check's findings, unless its subject changed meanwhile (`unchanged` says). */
function settle(report: VerifyReport, opts: VerifyOptions, found: Problem[], unchanged: () => boolean): void {
  if (found.length === 0) return;
  if (!unchanged()) {
    report.gone++;
    return;
  }
  for (const p of found) {
    report.problems++;
    opts.onProblem?.(p);
  }
}

function sameFiles(now: StoredData | undefined, then: StoredData): boolean {
  if (now === undefined) return false;
  const ids = (r: StoredData): string => JSON.stringify(segmentsOf(r).map((s) => ('file' in s.data ? s.data.file : 'inline')));
  return ids(now) === ids(then);
}

async function checkStored(env: VerifyEnv, opts: VerifyOptions, where: Pick<Problem, 'bucket' | 'key' | 'versionId' | 'uploadId'>, rec: StoredData, report: VerifyReport): Promise<Problem[]> {
  const { bucket, key } = where;
  const problems: Problem[] = [];
  const problem = (kind: ProblemKind, detail: string, part?: number): void => {
    problems.push({ ...where, kind, detail, ...(part !== undefined ? { part } : {}) });
  };
  const segments = segmentsOf(rec);
  if (rec.size > 0 && segments.length === 0) problem('record', 'the record names no data');
  // A completed object's parts: in ascending order, and its ETag is theirs (MD5 of their ETags,
  // then -N): parts reordered or dropped in the record would be served authenticated but wrong.
  if (rec.parts && where.uploadId === undefined) {
    const numbers = rec.parts.map((p) => p.n);
    if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) problem('record', `part numbers not in ascending order: ${numbers.join(', ')}`);
    const expected = multipartETag(rec.parts.map((p) => p.etag));
    if (rec.etag !== expected) problem('record', `the ETag ${rec.etag} is not that of the ${rec.parts.length} parts listed (${expected})`);
  }
  // Segments whose data is missing or short: reading them would only say so again.
  const unreadable = new Set<(typeof segments)[number]>();
  const total = segments.reduce((n, s) => n + s.size, 0);
  if (segments.length > 0 && total !== rec.size) problem('record', `parts hold ${total} bytes, the object ${rec.size}`);
  for (const s of segments) {
    const expected = rec.sse ? encryptedSize(s.size) : s.size;
    if (s.stored !== expected) problem('record', `stored size ${s.stored} in the record, ${expected} expected for ${s.size} bytes`, s.part);
    if ('inline' in s.data) {
      if (s.data.inline.length !== s.stored) {
        problem('size', `inline data of ${s.data.inline.length} bytes, ${s.stored} expected`, s.part);
        unreadable.add(s);
      }
      continue;
    }
    try {
      const st = await stat(env.files.pathOf(s.data.file));
      if (st.size !== s.stored) {
        problem('size', `data file ${s.data.file} has ${st.size} bytes, ${s.stored} expected`, s.part);
        // Bytes appended are never read (a GET reads the recorded size): the rest still is.
        if (st.size < s.stored) unreadable.add(s);
      }
    } catch (err) {
      // Missing, or unreadable (a disk error: what verify is run after): one finding, and the run goes on.
      const finding = fileFinding(err, s.data.file);
      if (finding === undefined) throw err;
      problem(finding.kind, finding.detail, s.part);
      unreadable.add(s);
    }
  }
  // The other segments are still read: damage in one part (or bytes appended to a file, which a
  // GET never reads) must not hide damage in another.
  if (!opts.deep || unreadable.size === segments.length) return problems;

  if (rec.sse?.kind === 'SSE-C') {
    report.keyless++;
    return problems;
  }
  let objectKey: Buffer | undefined;
  if (rec.sse) {
    if (env.kms === null) throw new VerifyAborted(`${bucket}/${key} is ${rec.sse.kind}: its key unseals only through the daemon's KMS (set the same S3_KMS_* variables, or --dev for the development key)`);
    try {
      objectKey = await unsealForRead({ kms: env.kms }, rec.sse, {}, bucket, key);
    } catch (err) {
      // Unreachable or refusing s3d's identity is the KMS's state, not the object's.
      if (isKmsUnusable(err)) throw new VerifyAborted(err.message, { cause: err });
      problem('key', `the object key does not unseal: ${(err as Error).message}`);
      return problems;
    }
  }
  // Each part's checksums as the record keeps them (undefined: none, or they did not open).
  const partSums: Array<Checksums | undefined> = [];
  try {
    for (const s of segments) {
      if (unreadable.has(s)) continue;
      // The checksums the record keeps of this plaintext (sealed ones open with the object key).
      let sums: Checksums | undefined;
      let defaults: Checksums | undefined;
      try {
        sums = s.part !== undefined ? openPartChecksums({ ...s.sums, n: s.part }, objectKey) : openChecksums(s.sums, objectKey);
        if (s.defaults !== undefined) defaults = openPartChecksums({ ...s.defaults, n: s.part! }, objectKey);
      } catch (err) {
        if (!isS3Error(err)) throw err;
        problem('tampered', `the checksums in the record do not open: ${err.message}`, s.part);
      }
      if (s.part !== undefined) partSums.push(sums);
      const hashers = Object.entries({ ...defaults, ...sums })
        .filter(([alg, value]) => (CHECKSUM_ALGORITHMS as readonly string[]).includes(alg) && !/-\d+$/.test(value))
        .map(([alg, value]) => ({ alg, value, hasher: checksumHasher(alg as ChecksumAlgorithm) }));
      const segKey = objectKey && s.part !== undefined ? derivePartKey(objectKey, s.part) : objectKey;
      const md5 = createHash('md5');
      try {
        for await (const chunk of readData({ pool: env.pool, files: env.files, inlineThreshold: 0, lend: true }, { size: s.size, data: s.data }, segKey, 0, s.size)) {
          md5.update(chunk);
          for (const h of hashers) h.hasher.update(chunk);
          report.bytesRead += chunk.length;
        }
      } catch (err) {
        if (isDareError(err)) {
          problem('tampered', `the data fails authentication (${err.code}): modified or damaged on disk`, s.part);
          continue;
        }
        // A bad sector met while reading, or a file the service user may not open (shallow
        // checks only its size): found, and the other data still read.
        const finding = 'file' in s.data ? fileFinding(err, s.data.file) : undefined;
        if (finding === undefined) throw err;
        problem(finding.kind, finding.detail, s.part);
        continue;
      } finally {
        segKey?.fill(0);
      }
      const got = md5.digest('hex');
      if (s.md5 !== undefined && got !== s.md5) problem('md5', `content MD5 ${got}, the record says ${s.md5}`, s.part);
      for (const h of hashers) {
        const digest = await digestBase64(h.hasher);
        if (digest !== h.value) problem('checksum', `content ${h.alg} ${digest}, the record says ${h.value}`, s.part);
      }
    }
    // A completed multipart object's own checksum (COMPOSITE or FULL_OBJECT) is formed from its
    // parts' checksums, which the loop above checked against the data: form it again.
    // (Not when a part could not be read: its checksums were not checked against its data.)
    if (rec.parts !== undefined && rec.etag !== '' && unreadable.size === 0) await checkObjectChecksum(rec, rec.parts, partSums, objectKey, problem);
  } finally {
    objectKey?.fill(0);
  }
  return problems;
}

/** Compares a multipart object's stored checksums with those its parts' checksums form. */
async function checkObjectChecksum(
  rec: StoredData,
  parts: NonNullable<StoredData['parts']>,
  partSums: ReadonlyArray<Checksums | undefined>,
  objectKey: Uint8Array | undefined,
  problem: (kind: ProblemKind, detail: string) => void,
): Promise<void> {
  let sums: Checksums | undefined;
  try {
    sums = openChecksums(rec, objectKey);
  } catch (err) {
    if (!isS3Error(err)) throw err;
    problem('tampered', `the object's checksums in the record do not open: ${err.message}`);
    return;
  }
  if (partSums.length !== parts.length) return;
  for (const [alg, value] of Object.entries(sums ?? {})) {
    const algorithm = CHECKSUM_ALGORITHMS.find((a) => a === alg);
    if (algorithm === undefined) continue;
    const type = checksumType(value);
    let formed: string | undefined;
    try {
      // undefined: a part without this checksum (stored before s3d kept them).
      formed = await objectChecksum({ algorithm, type }, parts, partSums);
    } catch (err) {
      problem('record', `the object's ${alg} is a ${type} value, which ${alg} cannot have: ${(err as Error).message}`);
      continue;
    }
    if (formed !== undefined && formed !== value) problem('checksum', `object ${alg} (${type}) ${formed} from its parts, the record says ${value}`);
  }
}

const VERIFY_USAGE = `usage: s3d verify DIR [--deep] [--bucket NAME] [--dev]

  Checks that every stored object version in DIR, and every part of the multipart uploads in
  progress, can be read back. Read-only but for its record (DIR/.s3d/last-verify, for the
  daemon's s3d_verify_last_* metrics, after a check of the whole store): safe to run beside the
  serving daemon. Without --deep,
  each data file must exist with the size its record gives; --deep also reads every byte,
  decrypts and authenticates it, and recomputes MD5 ETags and the stored checksums of parts
  and objects (a multipart object's COMPOSITE or FULL_OBJECT checksum from its parts').
  SSE-S3 and SSE-KMS objects need the daemon's KMS for --deep (the same S3_KMS_* variables, or
  --dev for the development key); SSE-C objects get their sizes checked only (s3d never holds
  customer keys). S3_CRYPTO_WORKERS threads decrypt (default: one per core).

  Exit status: 0 all good; 1 problems found (one line each on stdout), or a failure of the run
  itself (out of file descriptors or memory); 2 usage, configuration, or a KMS that cannot be reached.`;

/**
 * Why DIR cannot be verified, before LMDB is opened; undefined when it can. LMDB cannot be asked:
 * opening a missing data.mdb read-only throws without naming it, and an empty one crashes the
 * process (SIGSEGV), where the daemon and s3d backup refuse that store by name.
 */
function storeRefusal(dataDir: string): string | undefined {
  const metaDir = join(dataDir, '.s3d', 'meta');
  const mdb = join(metaDir, 'data.mdb');
  let meta: Stats | undefined;
  let size: number | undefined;
  try {
    meta = statSync(metaDir, { throwIfNoEntry: false });
    size = statSync(mdb, { throwIfNoEntry: false })?.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // .s3d is the service user's alone (0700): another user would otherwise be told there is no data.
    if (code === 'EACCES' || code === 'EPERM') return `cannot read ${dataDir} (${code}): run s3d verify as the service's user`;
    throw e;
  }
  if (meta === undefined) return `no s3d data in ${dataDir} (${metaDir} does not exist)`;
  // An unfinished backup (backup.ts) lacks data: checking it would only list what is missing.
  const marker = incompleteBackupMarker(dataDir);
  if (existsSync(marker)) return `${dataDir} is an unfinished backup (s3d backup did not end: ${marker} is there); it lacks data`;
  // A store that lost its metadata (a restore without .s3d/meta/data.mdb) is not a store without objects.
  if ((size ?? 0) === 0) return `the metadata store ${mdb} is missing or empty: every object of ${dataDir} is unreadable; restore .s3d/meta from a backup`;
  let damage: string | undefined;
  try {
    damage = storeFileDamage(mdb);
  } catch (e) {
    // A store file restored or left by root (0600) in the service user's directory: verify
    // stopped with a stack trace (exit 1).
    const refusal = notThisUsers(e, mdb, 'open', 's3d verify');
    if (refusal === undefined) throw e;
    return refusal;
  }
  if (damage !== undefined) return `${damage}: every object of ${dataDir} is unreadable; restore .s3d/meta from a backup`;
  return undefined;
}

/** `DIR [--deep] [--bucket NAME] [--dev]` (options anywhere), or what is wrong with them. */
function parseVerifyArgs(args: string[]): { dir: string; deep: boolean; dev: boolean; bucket?: string } | { error: string } {
  const positional: string[] = [];
  let deep = false;
  let dev = false;
  let bucket: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--deep') deep = true;
    else if (a === '--dev') dev = true;
    else if (a === '--bucket' || a.startsWith('--bucket=')) {
      const v = a === '--bucket' ? args[++i] : a.slice('--bucket='.length);
      // No bucket name starts with "-": `--bucket --deep` lost its name, --deep is not one.
      if (v === undefined || v === '' || v.startsWith('-')) return { error: '--bucket needs a bucket name' };
      if (bucket !== undefined) return { error: '--bucket given twice' };
      bucket = v;
    } else if (a.startsWith('-')) return { error: `unknown option ${a}` };
    else positional.push(a);
  }
  if (positional.length === 0) return { error: 'no DIR given' };
  if (positional.length > 1) return { error: `one DIR only, got ${positional.length}: ${positional.map((p) => JSON.stringify(p)).join(' ')}` };
  // An empty DIR (an unset variable in "$DIR") would resolve to the working directory and check it.
  if (positional[0] === '') return { error: 'an empty DIR (an unset variable?)' };
  return { dir: positional[0]!, deep, dev, ...(bucket !== undefined ? { bucket } : {}) };
}

/** The `s3d verify` command: prints problems and a summary to `out`; returns the exit status. */
export async function verifyCommand(args: string[], env: NodeJS.ProcessEnv, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out(VERIFY_USAGE);
    return 0;
  }
  const parsed = parseVerifyArgs(args);
  if ('error' in parsed) {
    // What is wrong first: a usage alone leaves a typo (-deep, --bukcet) to be found by eye.
    err(`s3d verify: ${parsed.error}\n${VERIFY_USAGE}`);
    return 2;
  }
  const { deep, dev, bucket } = parsed;
  const dataDir = resolve(parsed.dir);
  const metaDir = join(dataDir, '.s3d');
  const refused = storeRefusal(dataDir);
  if (refused !== undefined) {
    err(`s3d verify: ${refused}`);
    return 2;
  }
  let workers: number;
  try {
    workers = intVar(env, 'S3_CRYPTO_WORKERS', availableParallelism(), 1, 256);
    // As the daemon: its worker threads take anything but off/false/0 as on, so a typo went unseen.
    onOff(env, 'S3_NATIVE_AES');
    onOff(env, 'S3_NATIVE_CRC');
  } catch (e) {
    err(`s3d verify: ${(e as Error).message}`);
    return 2;
  }
  // The KMS and KES clients' warnings and errors (an endpoint that fails, KES refusing this
  // identity) as lines of text on stderr, beside the command's own; stdout carries the findings.
  const log = commandLogger('s3d verify', err);
  let kms: KeyProvider | null = null;
  if (deep) {
    try {
      // --dev: the development key only if the daemon made one (verify creates nothing).
      const devKey = existsSync(join(metaDir, 'kms-dev.key'));
      kms = await createKeyProviderFromEnv(env, { dataDir, dev: dev && devKey, log });
    } catch (e) {
      err(`s3d verify: ${(e as Error).message}`);
      return 2;
    }
  }
  let meta: MetaStore;
  try {
    meta = new MetaStore(metaDir, { readOnly: true });
  } catch (e) {
    // A store of a newer format (a downgrade): a configuration error, as for the daemon.
    if (!(e instanceof StoreFormatError)) throw e;
    await kms?.close();
    err(`s3d verify: ${e.message}`);
    return 2;
  }
  const pool = deep ? new CryptoPool({ workers }) : null;
  // Monotonic: the duration, not when (a wall-clock step during the check would skew it).
  const started = performance.now();
  try {
    if (bucket !== undefined && meta.getBucket(bucket) === undefined) {
      err(`s3d verify: no bucket named ${bucket}`);
      return 2;
    }
    const report = await verifyStore(
      { meta, files: new FileStore(dataDir), pool, kms },
      {
        deep,
        ...(bucket !== undefined ? { bucket } : {}),
        onProblem: (p) => out(`PROBLEM ${p.bucket}/${p.key} ${p.uploadId !== undefined ? `upload ${p.uploadId}` : `version ${p.versionId}`}${p.part !== undefined ? ` part ${p.part}` : ''}: ${p.kind}: ${p.detail}`),
      },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const what = deep ? `deep: ${(report.bytesRead / 2 ** 20).toFixed(1)} MiB read and authenticated` : 'shallow: data files and sizes';
    const notes = [
      report.uploads > 0 ? `${report.uploads} multipart upload(s) in progress` : '',
      report.keyless > 0 ? `${report.keyless} SSE-C object(s) checked for size only` : '',
      report.gone > 0 ? `${report.gone} removed while checked` : '',
    ].filter((n) => n !== '');
    out(`s3d verify: ${report.versions} version(s) in ${report.buckets} bucket(s) checked in ${seconds} s (${what})${notes.length > 0 ? `; ${notes.join('; ')}` : ''}: ${report.problems === 0 ? 'no problems' : `${report.problems} problem(s)`}`);
    // A check of the whole store is recorded for the daemon's metrics (s3d_verify_last_*).
    if (bucket === undefined) {
      const rec = { finished: new Date().toISOString(), seconds: (performance.now() - started) / 1000, deep, versions: report.versions, problems: report.problems };
      await writeRunRecord(dataDir, 'last-verify', rec).catch((e: unknown) =>
        err(`s3d verify: warning: ${runRecordFile(dataDir, 'last-verify')} (which the daemon's verify metrics read) could not be written: ${(e as Error).message}`),
      );
    }
    return report.problems === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof VerifyAborted) {
      err(`s3d verify: stopped: ${e.message}`);
      return 2;
    }
    throw e;
  } finally {
    await pool?.close();
    await kms?.close();
    await meta.close();
  }
}

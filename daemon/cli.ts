// `s3d server DIR [--dev]`, loaded by commands.ts when that is the command. Wires config,
// logger, storage, LMDB, KMS, crypto pool and the HTTP front end; handles signals and graceful
// shutdown.

import { holdEarlyHup, releaseEarlyHup } from './early-signals.js';
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { LOG_SERIALIZERS, stdoutLogger } from './log.js';
import { Metrics } from './admin/metrics.js';
import { DataGate, PARKED_PER_PLACE } from './ops/data-gate.js';
import { handleHealthCluster, handleHealthLive, handleHealthReady, handleMetrics, kmsReadiness } from './admin/health.js';
import { handleKmsCreateKey, handleKmsKeyStatus, handleKmsStatus } from './admin/kms.js';
import { ConfigError, loadConfig, unknownVariableWarnings, type Config } from './config.js';
import { CryptoPool } from './crypto/pool.js';
import { HttpServer } from './http/server.js';
import { NativeBindingError, loadUws, uwsBinding } from './http/uws.js';
import { createKeyProviderFromEnv, kesClientOf } from './kms/index.js';
import { KES_CLIENT_CERTIFICATE, KES_ENV } from './kms/kes-config.js';
import { VALIDITY_CHECK_MS, reportValidity } from './cert-validity.js';
import { cacheOptionsFromEnv, DEFAULT_CACHE_SIZE, DEFAULT_CACHE_TTL_MS, kesOnlySettingsWarning } from './kms/cache.js';
import { ObjectKeyCache } from './sse/key-cache.js';
import { KmsConfigError, type KeyProvider } from './kms/provider.js';
import { MetaStore, StoreFormatError } from './meta/store.js';
import { createDispatcher } from './ops/index.js';
import { CLOSE_WAIT_MS as XML_THREAD_CLOSE_WAIT_MS, closeParsingThread } from './ops/xml-thread.js';
import { anonymousAllowed, requestFacts, unreadableBucketPolicies, userAllowed, userMay } from './ops/policy.js';
import { ADMIN_PROMETHEUS } from './auth/s3-actions.js';
import { handleSts } from './ops/sts.js';
import { SessionTokens, withSessions } from './auth/sts.js';
import { IamFileError, loadUsers, NO_USERS, type UserDirectory } from './auth/users.js';
import { UsersReload } from './auth/users-reload.js';
import { bucketCorsRules } from './ops/bucket-cors.js';
import { validBucketName } from './ops/bucket.js';
import type { OpsEnv } from './ops/env.js';
import { FileStore, makeDirs, syncDir } from './storage/files.js';
import { DataDirInUseError, lockDataDir } from './storage/dir-lock.js';
import { OrphanScan, crashLeftoversBound } from './storage/orphan-scan.js';
import { storeFileDamage } from './meta/store-file.js';
import { consumeCleanMarker, newShutdownToken, readCleanMarker, writeCleanMarker } from './storage/clean-shutdown.js';
import { DiskSpace } from './storage/disk-space.js';
import { guardStorage } from './ops/storage-full.js';
import { WriteProbe } from './storage/write-probe.js';
import { Reaper } from './storage/reaper.js';
import { DeletionHold } from './storage/backup-hold.js';
import { lastBackupReader, lastVerifyReader } from './storage/run-records.js';
import { UploadExpiry } from './meta/upload-expiry.js';
import { LifecycleScanner } from './ops/lifecycle-scanner.js';
import { UsageScanner } from './meta/usage.js';
import { EventListeners } from './notify/listen.js';
import { NotifyConfigError } from './notify/targets.js';
import { WebhookNotifier } from './notify/webhook.js';
import { dirname, join } from 'node:path';
import { incompleteBackupMarker } from './backup.js';
import { S3D_VERSION } from './version.js';
import { LogLimit } from './log-limit.js';
import { checkStoredKey } from './sse/key-check.js';
import { logNativeBindings } from './native-report.js';

interface Daemon {
  port: number;
  /** Reloads the TLS certificate (SIGHUP); logs the outcome, never throws. */
  reloadTls(): Promise<void>;
  /** Reloads S3_IAM_FILE (SIGHUP, auth/users-reload.ts); logs the outcome, never rejects: a bad file keeps the previous users. */
  reloadUsers(): Promise<void>;
  /** Refuses new connections at once (the first step of stop(), which may follow later). */
  stopAccepting(): void;
  stop(): Promise<void>;
}

/** The users of S3_IAM_FILE; a file that does not check is a configuration error. */
function readUsers(config: Config, log: Logger): UserDirectory {
  if (config.iamFile === null) return NO_USERS;
  try {
    const { users, warnings } = loadUsers(config.iamFile, config.rootUser);
    for (const w of warnings) log.warn(w);
    return users;
  } catch (err) {
    if (err instanceof IamFileError) throw new ConfigError(`S3_IAM_FILE ${err.message}`);
    throw err;
  }
}

function thisUser(): string {
  return `uid ${process.getuid?.() ?? '?'}`;
}

/**
 * A data directory s3d cannot create or write (permissions, a read-only mount, a file in its
 * place) is a configuration error: exit 2 with the reason, not a stack trace and a restart loop.
 */
function dataDirError(dir: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EACCES: `is not writable by this user (${thisUser()})`,
    EPERM: `is not writable by this user (${thisUser()})`,
    EROFS: 'is on a read-only filesystem',
    ENOTDIR: 'is not a directory (or a path component is a file)',
    EEXIST: 'is not a directory (or a path component is a file)',
    ENOSPC: 'is on a full filesystem',
  };
  if (code === undefined || why[code] === undefined) return err as Error;
  return new ConfigError(`the data directory ${dir} ${why[code]}: ${(err as Error).message}`);
}

/** Takes group and other permissions away from `dir` and `paths` (those that exist). */
function keepPrivate(log: Logger, dir: string, paths: string[]): void {
  for (const p of [dir, ...paths]) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined || (st.mode & 0o077) === 0) continue;
    try {
      chmodSync(p, st.mode & 0o7700);
    } catch (err) {
      log.warn({ path: p, mode: (st.mode & 0o777).toString(8), err: { message: (err as Error).message } }, 'could not make the metadata store private to the service user (chmod go-rwx it)');
    }
  }
}

/**
 * A permission error on files in the data directory: typically left by a run as another user
 * (root), a configuration matter (exit 2) with the fix; any other error as it is.
 */
function foreignFilesError(dir: string, err: unknown, may: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM') return err as Error;
  return new ConfigError(`the data directory ${dir} holds files this user (${thisUser()}) may not ${may}: ${(err as Error).message}; give them to the service's user (chown -R)`);
}

export async function startDaemon(config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Daemon> {
  loadUws({ patch: config.httpParserPatch });
  const uws = uwsBinding();
  if (uws?.parserPatched === false && uws.unpatchedReason !== undefined) {
    // Known limitation on other platforms; a warning only where the patch should have applied.
    const level = uws.unpatchedByDesign === true ? 'info' : 'warn';
    log[level]({ binary: uws.file, reason: uws.unpatchedReason }, 'the unpatched uWebSockets.js parser: header names with _ or . get no answer, bytes above 0x7f at the ends of a header value are dropped, and a request head arriving in pieces may not pass 4 KiB (docs/operations.md, Known limitations)');
  }
  logNativeBindings(log, { tls: config.tls !== null });
  let users = readUsers(config, log);
  if (config.iamFile !== null) log.info({ file: config.iamFile, users: users.size }, 'users loaded');
  // A backup that did not finish (killed, or its machine lost power) lacks data: never serve it.
  const incomplete = incompleteBackupMarker(config.dataDir);
  if (existsSync(incomplete)) {
    throw new ConfigError(`${config.dataDir} is an unfinished backup (s3d backup did not end: ${incomplete} is there); it lacks data. Make a new backup, or restore from another one`);
  }
  let madeDirs: string[];
  try {
    madeDirs = makeDirs(join(config.dataDir, '.s3d'), 0o700);
    accessSync(join(config.dataDir, '.s3d'), constants.W_OK);
  } catch (err) {
    // mkdir finds no parent only past a symbolic link to nothing (the data directory, or a
    // directory above it, linked into a file system that is not mounted).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`the data directory ${config.dataDir} cannot be created: a symbolic link on its path points to nothing (a file system not mounted?): ${(err as Error).message}`);
    }
    throw dataDirError(config.dataDir, err);
  }
  // Before anything reads or sweeps the directory: a second daemon on it stops here.
  let dirLock: Awaited<ReturnType<typeof lockDataDir>>;
  try {
    dirLock = await lockDataDir(config.dataDir, join(config.dataDir, '.s3d', 'lock'), (reason) => log.warn(reason), (reason) => log.error(reason));
  } catch (err) {
    throw foreignFilesError(config.dataDir, err, 'open');
  }
  const files = new FileStore(config.dataDir, { syncReadMax: config.syncReadMax, directIo: config.directIo });
  await files.init().catch((err: unknown) => {
    throw dataDirError(config.dataDir, err);
  });
  log.info({ directIo: files.directIo }, files.directIo ? 'data files are written with O_DIRECT' : 'data files are written through the page cache');
  const disk = new DiskSpace(files.root, { minFree: config.minFreeDisk, log });
  await disk.start();
  // A missing or empty metadata store beside data files: the store was lost, moved or replaced
  // (a restore that missed .s3d/meta, a copy without it). Opening it would create an empty one,
  // and the sweep would then take every data file for a crash leftover.
  const metaFile = join(config.dataDir, '.s3d', 'meta', 'data.mdb');
  if ((statSync(metaFile, { throwIfNoEntry: false })?.size ?? 0) === 0) {
    const { data } = await files.countFiles();
    if (data > 0) {
      disk.stop();
      throw new ConfigError(
        `the metadata store ${metaFile} is missing or empty, but ${data} data file(s) exist under ${join(files.root, 'objects')}: ` +
          'restore .s3d/meta from a backup (or start s3d on the right directory); s3d does not start on data files without their metadata. ' +
          `To discard that data and start afresh, remove ${join(files.root, 'objects')} first`,
      );
    }
  }
  // A file LMDB would crash on (SIGSEGV, and systemd restarting into it): refused by name.
  const damage = storeFileDamage(metaFile);
  if (damage !== undefined) {
    disk.stop();
    throw new ConfigError(`${damage}: restore .s3d/meta from a backup (s3d backup, docs/operations.md); s3d does not open it`);
  }
  // After a clean shutdown of this very store nothing was left behind but temp files and queued
  // deletions: the scan of every record for unreferenced data files is skipped (storage/clean-shutdown.ts;
  // the store judges whether the marker describes it). After a crash it runs while the daemon
  // serves, from a snapshot of the records taken just before it listens (storage/orphan-scan.ts).
  const marker = readCleanMarker(config.dataDir);
  let meta: MetaStore;
  try {
    meta = new MetaStore(join(config.dataDir, '.s3d'), { cleanMarker: marker, onSweepError: (err) => log.warn({ err }, 'removing the part records of completed or aborted uploads failed; tried again in 5 s'), onBatchError: (err) => log.warn({ err }, 'queueing the data files a commit released past its first 500 failed; tried again in 5 s') });
  } catch (err) {
    // lmdb-js names a store file this user may not open by errno's number alone (13: EACCES,
    // 1: EPERM), without its path: the store restored or left by root.
    const code = (err as { code?: unknown }).code;
    if (code === 13 || code === 1) {
      disk.stop();
      throw foreignFilesError(config.dataDir, Object.assign(new Error(`${(err as Error).message} (${join(config.dataDir, '.s3d', 'meta')})`), { code: code === 13 ? 'EACCES' : 'EPERM' }), 'open');
    }
    if (!(err instanceof StoreFormatError)) throw err;
    disk.stop();
    throw new ConfigError(err.message);
  }
  // The metadata store holds small objects' data, names, policies, plaintext ETags and checksums
  // (of unencrypted objects, and what earlier versions kept): only the
  // service's user may read it, whatever the umask it was started with (the unit's is 0077; a
  // start by hand under 022 made .s3d and the LMDB files world-readable).
  keepPrivate(log, join(config.dataDir, '.s3d'), [join(config.dataDir, '.s3d', 'meta'), join(config.dataDir, '.s3d', 'meta', 'data.mdb'), join(config.dataDir, '.s3d', 'meta', 'lock.mdb')]);
  // The directories a first start makes (the data directory's .s3d, what is in it, LMDB's files
  // in meta/) are made durable before anything acknowledged is written into them; objects/ is
  // synced by FileStore on each fan-out directory's first use.
  // A data directory the service user may enter but not read (a root-owned 0711 parent of a
  // pre-made .s3d) cannot be opened to sync: its .s3d was not made by this start, so it is skipped.
  // When this start made the data directory (and maybe directories above it), the entry of each
  // in the directory above is synced too; an existing parent this user may not read is skipped.
  const dataDirSyncs = [config.dataDir, join(config.dataDir, '.s3d'), join(config.dataDir, '.s3d', 'meta')];
  const madeParents = madeDirs.map((d) => dirname(d)).filter((d) => !dataDirSyncs.includes(d));
  await Promise.all(
    [...madeParents, ...dataDirSyncs].map((dir) =>
      syncDir(dir).catch((err: NodeJS.ErrnoException) => {
        if (dir === config.dataDir && (err.code === 'EACCES' || err.code === 'EPERM')) return;
        if (madeParents.includes(dir) && !madeDirs.includes(dir) && (err.code === 'EACCES' || err.code === 'EPERM')) {
          log.warn({ dir, code: err.code }, 'cannot open the directory above the new data directory to sync its entry: a power loss soon after this first start could lose the data directory');
          return;
        }
        meta.close().catch(() => undefined);
        disk.stop();
        throw dataDirError(config.dataDir, err);
      }),
    ),
  );
  if ((meta.nullIndexRebuilt ?? 0) > 0) log.info({ nullVersions: meta.nullIndexRebuilt }, 'indexed the null versions of a store an earlier version wrote (versionId=null look-ups read one entry)');
  const hold = new DeletionHold(config.dataDir, log);
  const cleanStop = meta.cleanStop;
  if (meta.writtenSinceCleanStop) log.info({ nullVersions: meta.nullIndexRebuilt }, 'the store was written after its clean shutdown (by another version?): the start-up sweep scans it');
  // The marker is consumed only just before the daemon listens (below): a start that fails
  // before then (a configuration error found late, the KMS's, a webhook target's) served nothing
  // and wrote no data file, and the next start skips the scan still. Whatever start-up commits
  // to LMDB meanwhile (an upload expired, a notification delivered) moves the store past the
  // transaction the marker names, so the next start scans then, as after a crash.
  // Temp files only: the data files a stop left queued for deletion are the reaper's, once the
  // daemon serves (below), since their number has no bound a start may wait for.
  const swept = await files.sweepAtStart().catch((err: unknown) => {
    throw foreignFilesError(config.dataDir, err, 'read or remove');
  });
  if (cleanStop) log.info({ temp: swept.temp }, 'the last shutdown was clean: start-up sweep skipped its scan for unreferenced data files');
  for (const { bucket, error, ranges, emptyConditions, miscasedOperators } of unreadableBucketPolicies(meta.listBuckets())) {
    if (error !== undefined) log.error({ bucket, error }, 'the bucket policy stored for this bucket is not valid for this version: every request it judges is refused (MalformedPolicy) until the root user replaces or deletes it (put-bucket-policy / delete-bucket-policy)');
    if (ranges !== undefined) log.warn({ bucket, ranges }, 'the bucket policy stored for this bucket names aws:SourceIp ranges this version does not take (an IPv4-mapped range shorter than /96): conditions on them allow nothing and deny every request, until the root user replaces the policy');
    if (emptyConditions !== undefined) log.warn({ bucket, emptyConditions }, 'the bucket policy stored for this bucket has condition operators that name no key (PutBucketPolicy refuses them now): an Allow with one allows nothing and a Deny with one denies every request it names, until the root user replaces the policy');
    if (miscasedOperators !== undefined) log.warn({ bucket, miscasedOperators }, 'the bucket policy stored for this bucket spells condition operators in a case AWS and MinIO refuse (PutBucketPolicy refuses them now; each is followed by its spelling): they are enforced as before, but the policy cannot be put again as it is; write them as shown');
  }

  let kms: KeyProvider | null;
  let objectKeys: ObjectKeyCache;
  try {
    // Unsealed object keys live as long as the KMS cache would keep their data keys (and a bad
    // S3_KMS_CACHE_* value fails here, before anything else has started).
    const cacheEnv = cacheOptionsFromEnv(env);
    objectKeys = new ObjectKeyCache({ ttlMs: cacheEnv.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS, maxEntries: cacheEnv.cacheSize ?? DEFAULT_CACHE_SIZE });
    kms = await createKeyProviderFromEnv(env, { dataDir: config.dataDir, dev: config.dev, log });
  } catch (err) {
    disk.stop();
    await meta.close();
    throw err;
  }
  if (config.autoEncryption && !kms) {
    disk.stop();
    await meta.close();
    throw new ConfigError('S3_KMS_AUTO_ENCRYPTION=on needs a KMS: set S3_KMS_KES_ENDPOINT (KES) or S3_KMS_SECRET_KEY (built-in key)');
  }
  const kesOnly = kesOnlySettingsWarning(env, kms?.kind ?? null);
  if (kesOnly !== undefined) log.warn(kesOnly);
  if (!kms) log.warn('no KMS configured: SSE-S3 and SSE-KMS requests will be refused (SSE-C works); objects written without SSE-C are stored unencrypted');
  else if (!config.autoEncryption) {
    // As on MinIO, SSE is asked for (headers, a bucket default) unless auto-encryption is on:
    // say so where the operator looks, since the product is chosen for encryption at rest.
    log.warn('S3_KMS_AUTO_ENCRYPTION is off: objects written without SSE headers into buckets without default encryption are stored unencrypted; set S3_KMS_AUTO_ENCRYPTION=on to encrypt every object');
  } else {
    // "Off" warns; "on" must be visible too, for an operator checking that encryption is in force.
    log.info({ kms: kms.kind, key: kms.defaultKeyName }, 'S3_KMS_AUTO_ENCRYPTION is on: objects written without SSE headers into buckets without default encryption are encrypted (SSE-S3 under this key)');
  }

  // Who may scrape: an operator upgrading from a version that answered anyone finds out here why
  // the scrape job now gets 403 (and how to get a token).
  if (config.prometheusAuth === 'jwt') log.info({ auth: 'jwt' }, 'metrics (/minio/v2/metrics/cluster, /metrics) answer the root user and users allowed admin:Prometheus only: a scrape job needs a bearer token (s3d metrics-token prints the root user\'s) or S3_PROMETHEUS_AUTH_TYPE=public');
  else log.warn({ auth: 'public' }, 'S3_PROMETHEUS_AUTH_TYPE=public: the metrics, which name every bucket, answer anyone who reaches the port');

  // The client certificate s3d shows KES: looked at now and twice a day (below).
  const kesClient = kesClientOf(kms);
  const reportKesCertificate = (): void => {
    const v = kesClient?.clientCertificate;
    if (v !== undefined) reportValidity(log, v, KES_CLIENT_CERTIFICATE, env[KES_ENV.certFile]);
  };
  reportKesCertificate();

  // Not fatal: the uploads and reads that needed the worker fail (500), the daemon serves on. A
  // thread that cannot start (out of descriptors: every upload may meet it) is logged at most
  // once a minute.
  const workerErrorLines = new LogLimit(60_000);
  const pool = new CryptoPool({
    workers: config.cryptoWorkers,
    onWorkerError: (err, which) => {
      if (!workerErrorLines.hit()) return;
      log.error({ err, pool: which }, which === 'md5' ? 'crypto worker failed outside a task (its module did not load, or out of file descriptors or memory): its MD5 lane is retired, the next upload starts a new one; this line repeats at most once a minute' : 'crypto worker failed outside a task (its module did not load, or out of file descriptors or memory): Piscina starts another; this line repeats at most once a minute');
    },
  });
  const reaper = new Reaper(meta, files, log, hold);
  const uploadExpiry = new UploadExpiry(meta, log, config.staleUploadsExpiryMs, config.staleUploadsIntervalMs);
  // Uploads abandoned while the daemon was down are aborted at start-up too, once it serves (below).
  uploadExpiry.start();
  // Bucket notifications: events left undelivered before a restart go out first.
  const notifier = new WebhookNotifier(config.notify, meta.notifications, log);
  notifier.start();
  // Open ListenBucketNotification streams (mc watch): events go to them after each commit.
  const listeners = new EventListeners(config.listenMax);
  const lifecycle = new LifecycleScanner(meta, log, config.lifecycleScanIntervalMs, { notifier, region: config.region, listeners });
  lifecycle.start();
  const usage = new UsageScanner(meta, log, config.usageScanIntervalMs);
  usage.start();
  // Expired keys are erased within a minute even if nothing reads them again.
  const keySweep = setInterval(() => objectKeys.sweepExpired(), 60_000);
  keySweep.unref();
  // A daemon runs for months: the certificates it presents are looked at again twice a day.
  const certificateCheck = setInterval(() => {
    server.listener.reportTlsValidity();
    reportKesCertificate();
  }, VALIDITY_CHECK_MS);
  certificateCheck.unref();
  const dataGate = new DataGate(config.dataRequestsMax, config.dataRequestsWaitMs);
  const lastBackup = lastBackupReader(config.dataDir);
  const lastVerify = lastVerifyReader(config.dataDir);
  // The server is made below, and serves its certificate's expiry by the time anyone scrapes.
  const metrics = new Metrics({ pool, kms, meta, objectKeys, files, disk, lifecycle, usage, notify: notifier, listeners, dataGate, lastBackup: () => lastBackup.read(), lastVerify: () => lastVerify.read(), ...(config.tls ? { tlsCertificateExpiry: () => server.listener.tlsCertificateExpiry } : {}) });
  let shuttingDown = false;
  const kmsReady = kmsReadiness(kms);
  const writeProbe = new WriteProbe(join(files.root, 'tmp'), { log });
  const adminKms = { kms, rootUser: config.rootUser };

  // Users' own keys only: temporary credentials sign with the key their session token holds.
  const credentials = { lookup: (id: string) => (id === config.rootUser ? config.rootPassword : users.get(id)?.secretKey) };
  const sessions = new SessionTokens(config.rootPassword, () => users);
  const opsEnv: OpsEnv = { config, log, meta, files, disk, pool, kms, objectKeys, credentials, sessions, notify: notifier, listeners, users: withSessions(() => users, sessions), dataGate };
  const dispatch = guardStorage(createDispatcher(opsEnv, {
    HealthLive: () => handleHealthLive(),
    HealthReady: () => handleHealthReady(kmsReady, () => shuttingDown, () => writeProbe.check()),
    HealthCluster: (ctx) => handleHealthCluster(kmsReady, () => shuttingDown, () => writeProbe.check(), { maintenance: ctx.query.get('maintenance') === 'true', read: false }),
    HealthClusterRead: (ctx) => handleHealthCluster(kmsReady, () => shuttingDown, () => writeProbe.check(), { maintenance: ctx.query.get('maintenance') === 'true', read: true }),
    // A token is signed with its user's own secret key (S3_IAM_FILE's, not a session's): temporary
    // credentials sign requests with theirs, which a scrape job cannot renew.
    Metrics: (ctx) =>
      handleMetrics(metrics, {
        type: config.prometheusAuth,
        authorization: ctx.headers.authorization,
        signer: ctx.accessKey,
        secretOf: (id) => (id === config.rootUser ? config.rootPassword : users.get(id)?.secretKey),
        mayScrape: (id) => userMay(opsEnv, id, ADMIN_PROMETHEUS, undefined, undefined, requestFacts(ctx)),
      }),
    AdminKmsStatus: (ctx) => handleKmsStatus(adminKms, ctx),
    AdminKmsKeyStatus: (ctx) => handleKmsKeyStatus(adminKms, ctx),
    AdminKmsCreateKey: (ctx) => handleKmsCreateKey(adminKms, ctx),
    STS: (ctx) => handleSts(opsEnv, sessions, ctx),
  }), disk, writeProbe, (id) => meta.getUpload(id) !== undefined);
  const server = new HttpServer({
    config,
    log,
    credentials,
    sessions,
    dispatch,
    observe: (info) => metrics.observe(info),
    anonymous: (req) => anonymousAllowed(opsEnv, req),
    authorize: (req) => userAllowed(opsEnv, req),
    bucketCors: (bucket) => bucketCorsRules(opsEnv, bucket),
    bucketExists: (bucket) => validBucketName(bucket) && opsEnv.meta.getBucket(bucket) !== undefined,
  });
  // The snapshot is taken and new files are tracked before anything can write one.
  const orphanScan = cleanStop
    ? undefined
    : new OrphanScan(files, meta.referenceSnapshot({ queued: true }), log, {
        storeHasBuckets: meta.listBuckets({ limit: 1 }).length > 0,
        temp: swept.temp,
        crashLeftovers: crashLeftoversBound(config.dataRequestsMax * (1 + PARKED_PER_PLACE)),
        unfinished: { count: meta.state.unfinishedScans(), set: (n) => meta.state.setUnfinishedScans(n) },
      });
  // Read and checked in turns of the event loop while requests go on; one reload at a time.
  const usersReload =
    config.iamFile === null
      ? undefined
      : new UsersReload({
          file: config.iamFile,
          rootUser: config.rootUser,
          log,
          install: (loaded) => {
            users = loaded;
            // Open event streams of users removed or restricted end now; new requests are judged anew anyway.
            const listenersEnded = listeners.revalidate();
            return listenersEnded > 0 ? { listenersEnded } : {};
          },
        });
  const stopAccepting = (): void => {
    shuttingDown = true;
    usersReload?.stop();
    server.stopAccepting();
  };

  /** The graceful stop (SIGTERM), also run when the port cannot be taken (below). */
  const stop = async (): Promise<void> => {
    stopAccepting();
    // Every step runs even when an earlier one fails: LMDB must be closed whatever happened.
    const failures: unknown[] = [];
    const step = async (name: string, fn: () => Promise<void> | undefined): Promise<void> => {
      log.debug({ step: name }, 'shutdown step');
      try {
        await fn();
      } catch (err) {
        log.error({ err, step: name }, 'shutdown step failed');
        failures.push(err);
      }
    };
    // Event streams never end by themselves: end them, or the drain would wait for its deadline.
    await step('listeners', async () => listeners.close());
    let drained = false;
    await step('http', async () => {
      drained = await server.close(config.shutdownTimeoutMs);
    });
    await step('upload expiry', () => uploadExpiry.stop());
    // Before the clean-shutdown token: it must be the last commit (the finished uploads' and the
    // deletion queue's batch sweeps).
    await step('background sweeps', () => meta.stopSweeping());
    await step('lifecycle', () => lifecycle.stop());
    await step('usage scan', () => usage.stop());
    await step('notifications', () => notifier.stop());
    await step('reaper', () => reaper.stop());
    await step('start-up scan', () => orphanScan?.stop());
    // After the drain: what requests still wait for is answered first (xml-thread.ts). Beside
    // the crypto pool's close, within its 10 s: the shutdown's budget (SHUTDOWN_STEPS_MS) unchanged.
    await Promise.all([
      step('xml parsing thread', async () => {
        const end = await closeParsingThread();
        if (end === 'closed') log.info('XML parsing thread closed');
        else if (end === 'terminated') log.warn({ waitMs: XML_THREAD_CLOSE_WAIT_MS }, 'XML parsing thread terminated: it did not answer and end in time; the requests it held failed (500)');
      }),
      step('crypto pool', () => pool.close()),
    ]);
    await step('kms', () => {
      metrics.close();
      disk.stop();
      writeProbe.stop();
      clearInterval(keySweep);
      clearInterval(certificateCheck);
      objectKeys.clear();
      return kms?.close();
    });
    // Every request finished and every step went well: nothing was left behind for the next
    // start-up sweep to find, and the marker lets it skip its scan. Best effort: without the
    // token the next start scans. Not tried on a (nearly) full disk, where the commit would fail
    // and leave LMDB's close to fail with it.
    // A start-up scan that did not run to its end leaves no marker either: the next start scans.
    const scanned = orphanScan === undefined || orphanScan.finished;
    let token = failures.length === 0 && drained && scanned && !(await disk.nearlyFull()) ? newShutdownToken() : undefined;
    let txnId: number | undefined;
    if (token !== undefined) {
      token = await withDeadline(meta.state.recordShutdownToken(token), TOKEN_WRITE_WAIT_MS, 'the clean-shutdown token was not committed in time').then(
        () => {
          txnId = meta.lastTxnId();
          return token;
        },
        (err: unknown) => {
          log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'could not record the clean shutdown: the next start scans the store for unreferenced data files');
          return undefined;
        },
      );
    }
    // After commits that failed (the disk full) lmdb-js may never settle its close: a bounded
    // wait, or the shutdown would hang and Node exit 0 on an empty event loop, as if all went well.
    await step('lmdb', () => withDeadline(meta.close(), LMDB_CLOSE_WAIT_MS, 'LMDB did not close in time (after a failed commit?); every acknowledged write was durable before it was acknowledged'));
    if (token !== undefined && failures.length === 0) await step('clean-shutdown marker', () => writeCleanMarker(config.dataDir, { token, txnId }));
    dirLock.release();
    if (failures.length > 0) throw failures[0];
  };

  let port: number;
  try {
    // From here a crash is seen as one (see the marker's reading above).
    await consumeCleanMarker(config.dataDir);
    // The workers loaded while the rest started. A module that never finishes loading would leave
    // every request that needs a worker waiting, without a word, behind a daemon that says it
    // serves: start-up fails instead. One that fails to load is reported (and each request that
    // needed it fails with 500) and tried again with the next task: the daemon serves on, and
    // recovers once the module is back (an upgrade in place that was not finished).
    const selfTest = pool.selfTest().catch((err: unknown) => log.error({ err }, 'crypto worker self-test failed at start-up: requests that need a worker fail (500) until one loads its module'));
    await withDeadline(selfTest, CRYPTO_START_WAIT_MS, `the crypto workers did not run a task within ${CRYPTO_START_WAIT_MS / 1000} s of start-up: their module (${join('dist', 'workers', 'crypto.js')}) does not finish loading (a stalled filesystem? an installation changed under the daemon?)`);
    port = await server.listener.listen();
  } catch (err) {
    // A port in use (another daemon, a stale one exiting) or a TLS file that will not load: stop
    // what started as on SIGTERM, so a stop that was clean leaves the clean-shutdown marker again
    // (consumed above) and the next start, once the port is free, skips its scan of the store.
    orphanScan?.abandon();
    await stop().catch((stopErr: unknown) => log.warn({ err: stopErr }, 'stopping after the failed listen failed'));
    throw err;
  }
  // An IPv6 zone id's % is %25 in a URL (RFC 6874): http://[fe80::1%eth0]:9000 does not parse.
  // The address listened on (S3_ADDRESS `:PORT`: `[::]`, dual-stack, or 0.0.0.0 without IPv6).
  const { host } = server.listener;
  const urlHost = host.includes(':') ? `[${host.replace('%', '%25')}]` : host;
  listening = true;
  log.info({ address: `${config.tls ? 'https' : 'http'}://${urlHost}:${port}`, port, dataDir: config.dataDir, region: config.region, kms: kms?.kind ?? 'none', cryptoWorkers: config.cryptoWorkers, version: S3D_VERSION }, 'listening');
  if (orphanScan) {
    log.info('start-up scan for unreferenced data files runs in the background (no clean-stop marker: a first start, or the last stop was not clean)');
    void orphanScan.start();
  }
  // In the background: its cost grows with the uploads to abort (meta/upload-expiry.ts).
  void uploadExpiry.sweep();
  // The deletion queue a stop left, at once and without a grace period (no read of this process
  // can need those files), batch after batch while the daemon serves (files this process releases
  // keep theirs: meta/deletion-queue.ts); then the reaper's timer. A backup that holds deletions
  // keeps them queued until it ends (storage/backup-hold.ts).
  void reaper.kick().then((n) => {
    if (n > 0) log.info({ files: n }, 'start-up sweep deleted the data files queued for deletion');
  });
  reaper.start();
  // The built-in KMS's key against a stored object's data key (KES keys live in KES: not probed).
  if (kms?.kind === 'static') {
    // Without S3_KMS_SECRET_KEY the static key is --dev's generated file (kms/index.ts): the lines
    // name that, not a variable the operator never set.
    const devFile = (env.S3_KMS_SECRET_KEY ?? '').trim() === '';
    const [keyName, changed] = devFile ? ['the development key (.s3d/kms-dev.key)', 'was .s3d/kms-dev.key replaced or deleted?'] : ['the built-in key', 'was S3_KMS_SECRET_KEY changed?'];
    void checkStoredKey(opsEnv, meta).then(
      (c) => {
        if (c?.error !== undefined && !shuttingDown) {
          log.warn({ bucket: c.bucket, key: c.key, kmsKey: kms.defaultKeyName }, `KMS: ${keyName} does not open the data key of stored object ${c.bucket}/${c.key} (${c.error}); ${changed} SSE-S3 and SSE-KMS reads fail until the key they were written with is back`);
        }
      },
      // A stop during the check closes the store under it: not a failure of the key.
      (err: unknown) => void (!shuttingDown && log.warn({ err }, `KMS: start-up check of ${keyName} failed`)),
    );
  }

  return {
    port,
    async reloadTls() {
      if (!config.tls) {
        log.info('SIGHUP: TLS is not configured (S3_CERTS_DIR): nothing to reload');
        return;
      }
      try {
        const { unchanged, ...c } = await server.listener.reloadTls();
        if (unchanged) log.info({ certFile: config.tls.certFile, fingerprint: c.fingerprint }, 'TLS certificate and key files unchanged: the listener stays as it is');
        else log.info({ certFile: config.tls.certFile, ...c }, 'TLS certificate reloaded');
      } catch (err) {
        log.error({ err: { message: (err as Error).message } }, 'TLS certificate reload failed: still serving the previous certificate');
      }
    },
    reloadUsers: () => usersReload?.request() ?? Promise.resolve(),
    stopAccepting,
    stop,
  };
}

const LMDB_CLOSE_WAIT_MS = 5_000;
/**
 * The shutdown's steps after the drain deadline, with margin: 5 s for requests committing, 2 s
 * for cut handlers' cleanup, 2 s for the clean-shutdown token, 5 s for closing LMDB and up to 10 s
 * for the crypto workers (crypto/pool.ts), and meanwhile up to 6 s for the XML parsing thread
 * (ops/xml-thread.ts). Told to systemd with STOPPING=1 (EXTEND_TIMEOUT_USEC).
 */
const SHUTDOWN_STEPS_MS = 30_000;
const TOKEN_WRITE_WAIT_MS = 2_000;

/** How long start-up waits for a crypto worker to load and run its self-test before it gives up. */
const CRYPTO_START_WAIT_MS = 30_000;

/** `p`, or a rejection with `message` once `ms` have passed. */
function withDeadline(p: Promise<void>, ms: number, message: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/**
 * `s3d server DIR [--dev]`, `args` checked by commands.ts: serves until SIGTERM or SIGINT, and
 * resolves to the exit status. `earlyWarnings`: commands.ts's, logged with the configuration's
 * (the secrets it read from files, secret-files.ts).
 */
export async function serve(args: string[], earlyWarnings: readonly string[] = []): Promise<number> {
  // SIGHUP's default action ends the process: one during start-up (which can take minutes: the
  // sweep, the KMS) must not stop the service. It is remembered and carried out once ready.
  holdEarlyHup();
  const dev = args.includes('--dev');
  const positional = args.slice(1).filter((a) => !a.startsWith('-'));
  let config: Config;
  try {
    config = loadConfig({ dataDir: positional[0]!, dev });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`s3d: configuration error: ${err.message}\n`);
      // The warnings a refused configuration never got to log: a misspelt name (PASWORD for PASSWORD)
      // is often why a required variable is missing.
      for (const w of unknownVariableWarnings(process.env)) process.stderr.write(`s3d: warning: ${w}\n`);
      return 2;
    }
    throw err;
  }
  // No redaction pass per line: no code path logs headers, keys or secrets (tests check the log).
  // Asynchronous stdout with a bound on what it holds (log.ts).
  const log = stdoutLogger({ level: config.logLevel, base: { svc: 's3d' }, serializers: LOG_SERIALIZERS });
  for (const w of [...earlyWarnings, ...config.warnings]) log.warn(w);
  let daemon: Daemon;
  const early = holdEarlyStop();
  try {
    daemon = await startDaemon(config, log);
  } catch (caught) {
    early.release();
    // A file in the data directory this user may not open (the metadata store or the clean-stop
    // marker restored or left by root), wherever start-up meets it, is the same configuration
    // matter as a foreign lock file: exit 2 with the fix, not 1, a stack trace and restarts.
    const path = (caught as NodeJS.ErrnoException | undefined)?.path;
    const err = typeof path === 'string' && path.startsWith(config.dataDir + '/') ? foreignFilesError(config.dataDir, caught, 'open') : caught;
    if (err instanceof ConfigError || err instanceof KmsConfigError || err instanceof NotifyConfigError || err instanceof NativeBindingError || err instanceof DataDirInUseError) {
      log.fatal({ err: { type: err.name, message: err.message } }, err.message);
      process.stderr.write(`s3d: ${err.message}\n`);
      return 2;
    }
    log.fatal({ err }, 'start-up failed');
    // The reason on stderr too, as for the errors above: someone running s3d by hand (not under
    // journald) would otherwise find it only inside a JSON line on stdout.
    process.stderr.write(`s3d: start-up failed: ${(err as Error | undefined)?.message ?? String(err)}\n`);
    return 1;
  }
  sdNotify(log, ['--ready', `--status=serving on port ${daemon.port}`]);
  const stopWatchdog = startWatchdog(log);
  // SIGTERM (systemd stop) or SIGINT: drain, then exit 0; 1 when the shutdown itself failed. A
  // second signal exits at once: what it interrupts is crash-safe and swept at the next start.
  return new Promise<number>((resolve) => {
    let stopping = false;
    let stopped = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      // After the shutdown completed, in the moment before the exit (run()): nothing is left to
      // interrupt, and exiting 1 here would report a clean stop as failed.
      if (stopped) return;
      if (stopping) {
        log.warn({ signal: sig }, 'second signal during shutdown: exiting now');
        process.exit(1);
      }
      stopping = true;
      // The port closes before anything is said about it: whoever reads the line below (a
      // supervisor, a test) finds new connections refused already.
      daemon.stopAccepting();
      log.info({ signal: sig, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: draining in-flight requests');
      // EXTEND_TIMEOUT_USEC: systemd waits at least the drain deadline plus the shutdown's own
      // bounded steps, whatever TimeoutStopSec= says. S3_SHUTDOWN_TIMEOUT is set in the env file
      // and TimeoutStopSec= in the unit; raising the first alone had systemd SIGKILL the drain.
      sdNotify(log, ['STOPPING=1', `EXTEND_TIMEOUT_USEC=${(config.shutdownTimeoutMs + SHUTDOWN_STEPS_MS) * 1000}`, '--status=draining in-flight requests']);
      // The watchdog is answered through the drain: after a SIGTERM that is not systemd's own stop
      // (`kill`), the unit is still active and its watchdog armed, and a drain may outlast it.
      daemon.stop().finally(() => stopWatchdog?.()).then(
        () => {
          stopped = true;
          log.info('shutdown complete');
          resolve(0);
        },
        (err: unknown) => {
          stopped = true;
          log.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const asked = early.release();
    if (asked !== undefined) onSignal(asked);
    // SIGHUP (systemctl reload s3d, a certbot deploy hook): reload the TLS certificate and the users.
    const onHup = (): void => {
      if (stopping) return;
      void daemon.reloadUsers();
      void daemon.reloadTls();
    };
    process.on('SIGHUP', onHup);
    if (releaseEarlyHup()) {
      log.info('SIGHUP arrived during start-up: reloading now');
      onHup();
    }
  });
}

/** Set just before the "listening" line is logged. */
let listening = false;

/**
 * SIGTERM and SIGINT while the daemon starts. Before the "listening" line, their default action
 * (the process ends by the signal, which systemd counts as a clean stop): nothing was served. From
 * that line until main() installs its handlers, a supervisor or a test that read the line and
 * asked for a stop at once found no handler, and the process died by the signal without its
 * graceful stop or clean-shutdown marker: the stop is remembered and carried out once they are.
 */
function holdEarlyStop(): { release(): NodeJS.Signals | undefined } {
  let asked: NodeJS.Signals | undefined;
  const onStop = (sig: NodeJS.Signals): void => {
    if (listening) {
      asked ??= sig;
      return;
    }
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.kill(process.pid, sig);
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return {
    release() {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      return asked;
    },
  };
}

/**
 * systemd readiness and status (Type=notify, NotifyAccess=all; see systemd/s3d.service). Node
 * cannot send on the notify socket (a unix datagram socket), so this runs `systemd-notify`,
 * which waits until systemd has processed the message. No-op outside systemd. `done` runs once
 * the child has ended (or was killed at its timeout).
 */
function sdNotify(log: Logger, args: string[], done?: () => void): void {
  if (!process.env.NOTIFY_SOCKET) return;
  // Only what systemd-notify reads: not the secrets in the daemon's environment.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: process.env.NOTIFY_SOCKET };
  execFile('systemd-notify', args, { timeout: SD_NOTIFY_TIMEOUT_MS, env }, (err, _stdout, stderr) => {
    if (err) {
      const consequence = args.includes('--ready') ? 'systemd will not see s3d as ready (is the systemd package installed?)' : `systemd did not get ${args[0]}`;
      log.error({ err: { message: err.message }, stderr: stderr.trim(), args }, `systemd-notify failed: ${consequence}`);
    }
    done?.();
  });
}

const SD_NOTIFY_TIMEOUT_MS = 15_000;

/**
 * systemd's watchdog (WatchdogSec= in s3d.service): when systemd asks for pings (WATCHDOG_USEC,
 * and WATCHDOG_PID, if set, is this process), sends WATCHDOG=1 every half of that period. The
 * timer runs on the event loop, so a wedged loop (a busy loop, a synchronous call that never
 * returns) stops the pings and systemd kills and restarts the daemon. A ping still running (a
 * systemd-notify stuck on a busy systemd) is not joined by another: they would pile up. The
 * timer is unref'd: it never keeps the process alive. Returns the stop (once the whole shutdown,
 * drain included, is done), or undefined when systemd asked for no pings.
 */
function startWatchdog(log: Logger, env: NodeJS.ProcessEnv = process.env): (() => void) | undefined {
  if (!env.NOTIFY_SOCKET) return undefined;
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  // Meant for another process (a parent that passed its environment on): not ours to answer.
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== process.pid) return undefined;
  let pinging = false;
  let stopped = false;
  const timer = setInterval(() => {
    if (pinging || stopped) return;
    pinging = true;
    sdNotify(log, ['WATCHDOG=1'], () => (pinging = false));
  }, Math.max(1, Math.floor(usec / 2000)));
  timer.unref();
  log.debug({ intervalMs: Math.floor(usec / 2000) }, 'systemd watchdog: pinging');
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

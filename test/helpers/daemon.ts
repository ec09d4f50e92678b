// Starts the real, built daemon (dist/daemon/main.js) in a child process on a free loopback
// port with a temp data dir, and hands tests ready-made S3 clients pointed at it.

import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createCipheriv, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { createCertificate, createTestPki } from '../fixtures/kes-server/certs.js';
import type { TestPki } from '../fixtures/kes-server/certs.js';
import { diesWithTest } from './dies-with-test.js';
import { sweepDeadTestDirs, testDirPrefix } from './test-dirs.js';

import { ROOT } from './root.js';
export { prng } from './seeded.js';

export { ROOT };
export const MAIN = join(ROOT, 'dist/daemon/main.js');
export const ACCESS_KEY = 'testadmin';
export const SECRET_KEY = 'testadmin-secret-key';
export const REGION = 'us-east-1';
/** ACCESS_KEY/SECRET_KEY as SDK-style credentials (the root user). */
export const ROOT_CREDENTIALS = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY };
/** A fixed built-in KMS key so tests can restart the daemon and read objects back. */
export const TEST_KMS_SECRET = `test-key:${Buffer.alloc(32, 7).toString('base64')}`;

export interface DaemonOptions {
  /** Extra environment (S3_* variables). */
  env?: Record<string, string | undefined>;
  /** Serve HTTPS with a generated certificate (S3_CERTS_DIR). */
  tls?: boolean;
  /** Reuse an existing data dir (restart tests). */
  dataDir?: string;
  /** Pass --dev. */
  dev?: boolean;
  /** Default true: configure TEST_KMS_SECRET unless env sets a KMS. */
  kms?: boolean;
  /** Run the daemon as the leader of a process group of its own (to signal the whole group, as Ctrl-C does). */
  group?: boolean;
  /** Called with each stdout line before the daemon listens (e.g. to signal it during start-up). */
  onStartLine?: (line: string, proc: ChildProcess) => void;
  /** The daemon's entry point (default MAIN): a copy of the build, to change its files under it. */
  main?: string;
}

export interface TestDaemon {
  readonly endpoint: string;
  readonly port: number;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  readonly logs: string[];
  /** The lines of its standard output alone, as they came (`logs` has standard error's too). */
  readonly stdoutLines: string[];
  /** CA certificate the TLS endpoint is signed with (when tls). */
  readonly caCert: string | undefined;
  s3(opts?: { forcePathStyle?: boolean }): S3Client;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the data dir (after stop). */
  cleanup(): void;
  /** Lines of the JSON log parsed. */
  jsonLogs(): Array<Record<string, unknown>>;
  /** The first JSON log line `match` accepts, once it is there (rejects after `timeoutMs`). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

let pkiCache: Promise<TestPki> | undefined;
export function testPki(): Promise<TestPki> {
  pkiCache ??= createTestPki();
  return pkiCache;
}

/**
 * A new server certificate for `localhost` and 127.0.0.1 (or `names`) (for `key`, else a new
 * P-256 key), signed by testPki's CA, valid from `notBefore` to `notAfter` (the certificate
 * writer's defaults when not given).
 */
export async function testServerCert(
  cn: string,
  validity: { notBefore?: Date; notAfter?: Date } = {},
  key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  names: { dnsNames: string[]; ipAddresses?: string[] } = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
): Promise<{ cert: string; key: string; fingerprint: string }> {
  const pki = await testPki();
  const cert = await createCertificate({
    subjectCN: cn,
    issuerCN: 'S3D Test CA',
    publicKey: key,
    signingKey: createPrivateKey(pki.caKey),
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['serverAuth'],
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses ?? [],
    keyIdentifiers: true,
    ...validity,
  });
  return { cert, key: key.export({ type: 'pkcs8', format: 'pem' }).toString(), fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to 127.0.0.1:`port` is served. */
export async function servedFingerprint(port: number): Promise<string> {
  const pki = await testPki();
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.caCert, servername: 'localhost' }, () => {
      const fp = (s.getPeerCertificate() as PeerCertificate).fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

/**
 * Command and arguments that run `node ...args` for a test: the daemon, `s3d verify`, the KES dev
 * server. Under tap every child's NODE_OPTIONS gets @tapjs/processinfo's --import hooks (to follow
 * coverage into children), which cost ~1.1 s of CPU per daemon start (2.0 s against 0.85 s,
 * measured). Without coverage (`npm test`) the child runs through `env NODE_OPTIONS=…`, which
 * sets NODE_OPTIONS back to what the test gave the child (`childEnv`, e.g. the clock preload of
 * helpers/clock.ts) after the hook added tap's; `npm run test:coverage` (TAP_DISABLE_COVERAGE=0)
 * keeps them, so children are covered. `env` execs node: the child's pid is node's own. Either
 * way through diesWithTest (setpriv, which execs too): the child gets SIGKILL when this process
 * ends, also when tap times it out or it crashes before its teardowns.
 */
export function nodeChild(args: string[], childEnv: Record<string, string | undefined> = {}): [string, string[]] {
  if (process.env.TAP_DISABLE_COVERAGE === '0' || process.env.NODE_OPTIONS === undefined || !existsSync('/usr/bin/env')) return diesWithTest(process.execPath, args);
  return diesWithTest('/usr/bin/env', [`NODE_OPTIONS=${childEnv.NODE_OPTIONS ?? ''}`, process.execPath, ...args]);
}

/** How an `s3d` command ended: its exit status (null: ended by a signal) and output. */
export interface S3dRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `s3d ARGS` (the built CLI: verify, backup, --version, a server expected to refuse to start)
 * to its end, with PATH and `env` as its whole environment, in `cwd` (default: this process's);
 * SIGTERM after `timeoutMs`.
 */
export function runS3d(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000, cwd?: string): Promise<S3dRun> {
  return new Promise((resolve) => {
    const [cmd, argv] = nodeChild([MAIN, ...args], env);
    const p = spawn(cmd, argv, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, ...(cwd !== undefined ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    // Decoded as streams: a character split between two chunks stays whole.
    p.stdout.setEncoding('utf8').on('data', (d: string) => void (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The data directories (and TLS certificate directories beside them) startDaemon made in this
 * process, removed when it exits: a test that forgets cleanup(), or fails before it, leaves
 * nothing in /tmp. S3D_KEEP_TEST_DIRS=1 keeps them (with their logs) for a post-mortem.
 */
const madeDirs = new Set<string>();
process.once('exit', () => {
  if (process.env.S3D_KEEP_TEST_DIRS) return;
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

// The data directories of test processes gone without their exit handler (test-dirs.ts).
/** Signals a process ends by when it crashes (the default action dumps core). */
const CRASH_SIGNALS: ReadonlySet<string> = new Set(['SIGABRT', 'SIGSEGV', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGTRAP', 'SIGSYS']);
sweepDeadTestDirs();
/** startDaemon's data directories are named after this process (test-dirs.ts): its pid and start time. */
const DIR_PREFIX = testDirPrefix();

export async function startDaemon(opts: DaemonOptions = {}): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    S3_ROOT_USER: ACCESS_KEY,
    S3_ROOT_PASSWORD: SECRET_KEY,
    S3_ADDRESS: '127.0.0.1:0',
    S3_LOG_LEVEL: 'info',
    S3_CRYPTO_WORKERS: '2',
    // Tests scrape the metrics as they like; prod-metrics.test.ts starts daemons without it (the
    // default, the root user's token or signature) to test that.
    S3_PROMETHEUS_AUTH_TYPE: 'public',
    MALLOC_MMAP_THRESHOLD_: '33554432',
    MALLOC_TRIM_THRESHOLD_: '268435456',
  };
  const kmsInEnv = opts.env && Object.keys(opts.env).some((k) => k.startsWith('S3_KMS_KES') || k === 'S3_KMS_SECRET_KEY');
  if (opts.kms !== false && !kmsInEnv) env.S3_KMS_SECRET_KEY = TEST_KMS_SECRET;
  let caCert: string | undefined;
  // Beside the data directory (S3_CERTS_DIR), removed with it by cleanup().
  const certs = join(dataDir, '..', `${dataDir.split('/').pop()}-certs`);
  if (opts.dataDir === undefined) madeDirs.add(dataDir).add(certs);
  if (opts.tls) {
    const pki = await testPki();
    mkdirSync(certs, { recursive: true });
    writeFileSync(join(certs, 'public.crt'), pki.server.cert);
    writeFileSync(join(certs, 'private.key'), pki.server.key, { mode: 0o600 });
    env.S3_CERTS_DIR = certs;
    caCert = pki.caCert;
  }
  Object.assign(env, opts.env ?? {});
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const args = [opts.main ?? MAIN, 'server', dataDir];
  if (opts.dev) args.push('--dev');
  const proc = spawn(...nodeChild(args, env), { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.group === true });
  const logs: string[] = [];
  const stdoutLines: string[] = [];
  let started = false;
  let buffered = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start in 20 s:\n${logs.join('\n')}`)), 20_000);
    const onLine = (line: string): void => {
      logs.push(line);
      stdoutLines.push(line);
      if (!started) opts.onStartLine?.(line, proc);
      if (line.includes('"msg":"listening"')) {
        const m = /"port":(\d+)/.exec(line);
        if (m) {
          started = true;
          clearTimeout(timer);
          resolvePort(Number(m[1]));
        }
      }
    };
    proc.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let i: number;
      while ((i = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, i));
        buffered = buffered.slice(i + 1);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => logs.push(...d.toString().split('\n').filter((l) => l !== '')));
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening:\n${logs.join('\n')}`));
    });
  });
  const jsonLogs = (): Array<Record<string, unknown>> =>
    logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const scheme = opts.tls ? 'https' : 'http';
  const endpoint = `${scheme}://127.0.0.1:${port}`;
  let exited: Promise<number | null> = new Promise((r) => proc.once('exit', (code) => r(code)));
  // 'exit' may come before the last of the child's output has been read (Node's docs on 'exit':
  // its stdio streams might still be open), and a native crash writes its reason just before it
  // ends: the last lines are printed once the streams closed, waiting for that 1 s at most.
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  const lastLines = async (why: string): Promise<void> => {
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
    process.stderr.write(`daemon pid ${proc.pid} (${dataDir}) ${why}; its last lines:\n${logs.slice(-40).join('\n')}\n`);
  };
  let stopping = false;
  // A crash in the middle of a test, not only during stop(): the test then fails on a refused
  // connection, and only these lines say why.
  proc.once('exit', (_code, sig) => {
    if (!stopping && sig !== null && CRASH_SIGNALS.has(sig)) void lastLines(`crashed: ended by ${sig}`);
  });
  return {
    endpoint,
    port,
    dataDir,
    proc,
    logs,
    stdoutLines,
    caCert,
    s3(o = {}) {
      return s3Client(endpoint, caCert, o.forcePathStyle ?? true);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      stopping = true;
      proc.kill(signal);
      const code = await exited;
      exited = Promise.resolve(code);
      // Ended by a signal, not by its own exit (a crash, the OOM killer, or a signal before its handler): say which, with the last of
      // its log, so that a rare failure of a clean stop can be read from a CI log.
      // 40 lines: a native crash (SIGABRT) prints its reason above a stack of some 25 lines.
      if (code === null && signal !== 'SIGKILL') await lastLines(`ended by ${proc.signalCode} after ${signal}`);
      return code;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      // A TLS daemon's, also when a later daemon on this directory (this one) serves plain HTTP.
      rmSync(certs, { recursive: true, force: true });
    },
    jsonLogs,
    async waitForLog(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = jsonLogs().find(match);
        if (line) return line;
        if (Date.now() > deadline) throw new Error(`no such log line in ${timeoutMs} ms:\n${logs.slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** startDaemon for the rest of `t` (a subtest or the file's top-level t): stopped (SIGTERM) and its data dir removed at t's teardown. */
export async function startDaemonFor(t: Test, opts: DaemonOptions = {}): Promise<TestDaemon> {
  const d = await startDaemon(opts);
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  return d;
}

/**
 * A TLS daemon for the suites that drive command-line tools and other clients (aws, boto3,
 * s3cmd, rclone), with a scratch directory holding its CA certificate (`caFile`, for
 * AWS_CA_BUNDLE and the like); both go when `t` ends (S3D_DUMP_LOGS=1 prints the daemon's log
 * lines above info first).
 */
export async function startTlsDaemonWithWork(t: Test, prefix: string): Promise<{ d: TestDaemon; work: string; caFile: string }> {
  const d = await startDaemon({ tls: true });
  const work = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(async () => {
    if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
    await d.stop();
    d.cleanup();
    rmSync(work, { recursive: true, force: true });
  });
  const caFile = join(work, 'ca.pem');
  writeFileSync(caFile, d.caCert!);
  return { d, work, caFile };
}

/**
 * A plain and a TLS daemon side by side for the suites that drive other clients, the TLS one's CA
 * certificate written to `caFile` in the scratch directory `work`; the daemons and `work` go when
 * `t` ends, a daemon that started even when the other did not (S3D_DUMP_LOGS=1 prints their log
 * lines above info first).
 */
export async function startPlainAndTls(t: Test, work: string): Promise<{ plain: TestDaemon; tls: TestDaemon; caFile: string }> {
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const started = await Promise.allSettled([startDaemon(), startDaemon({ tls: true })]);
  for (const s of started) {
    if (s.status !== 'fulfilled') continue;
    const d = s.value;
    t.teardown(async () => {
      if (process.env.S3D_DUMP_LOGS) console.error(d.logs.filter((l) => !l.includes('"level":30')).join('\n'));
      await d.stop();
      d.cleanup();
    });
  }
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const [plain, tls] = started.map((s) => (s as PromiseFulfilledResult<TestDaemon>).value) as [TestDaemon, TestDaemon];
  const caFile = join(work, 'ca.pem');
  writeFileSync(caFile, tls.caCert!);
  return { plain, tls, caFile };
}

/**
 * An SDK client with the test credentials, trusting `caCert` (kept-alive HTTPS agent) when given;
 * `config` overrides any setting (a `requestHandler` there replaces the CA agent).
 */
export function s3Client(endpoint: string, caCert: string | undefined, forcePathStyle = true, config: Partial<S3ClientConfig> = {}): S3Client {
  const httpsAgent = caCert && config.requestHandler === undefined ? new HttpsAgent({ ca: caCert, keepAlive: true }) : undefined;
  return new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    ...(httpsAgent ? { requestHandler: { httpsAgent } } : {}),
    ...config,
  });
}

/** A unique, valid bucket name. */
export function bucketName(prefix = 'tb'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** testBytes's AES-CTR input, a chunk at a time: chunks this small come from malloc's reused memory (fresh pages cost ~3 ms per MiB here). */
const ZEROS = Buffer.alloc(64 * 1024);

/**
 * `size` deterministic pseudo-random bytes for `seed`: AES-128-CTR's keystream under a key made of
 * the seed (OpenSSL: ~4x faster than the byte-at-a-time xorshift loop this replaced, and the suite
 * draws GBs). testBytes(n, s) is the start of testBytes(m, s) for n < m.
 */
export function testBytes(size: number, seed = 1): Buffer {
  const key = Buffer.alloc(16);
  key.writeDoubleBE(seed, 0);
  key.write('testdata', 8, 'latin1');
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const out = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += ZEROS.length) cipher.update(ZEROS.subarray(0, Math.min(ZEROS.length, size - at))).copy(out, at);
  return out;
}

/** Reads a process's resident set (KiB) from /proc. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : 0;
}

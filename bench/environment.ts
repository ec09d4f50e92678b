// Everything one bench invocation runs against, started and torn down together: the null
// servers (plain and TLS), s3d three times (static key; TLS for SSE-C; KES fixture), or an
// existing --endpoint; the temp data dir and self-signed certificate; the bench bucket.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import type { BenchOptions } from './cli.js';
import { startKesForBench } from './kms/kes.js';
import type { KesForBench } from './kms/kes.js';
import type { LoadCredentials } from './load/protocol.js';
import type { BenchServer } from './runner.js';
import { startChild } from './servers/child-process.js';
import type { ChildServer } from './servers/child-process.js';
import { daemonBuilt, startDaemon } from './servers/daemon.js';
import type { DaemonHandle } from './servers/daemon.js';
import { createSelfSignedCert } from './servers/tls-cert.js';
import { MALLOC_ENV } from './malloc-env.js';
import type { ServerKind } from './report/types.js';
import { createBucket, removeBucket, s3Client } from './setup.js';

export { MALLOC_ENV };

const NULL_SERVER = fileURLToPath(new URL('./servers/null-server.js', import.meta.url));

export interface BenchEnvironment {
  dataRoot: string;
  /** where the daemons' .cpuprofile files go (--profile), written when they exit */
  profileDir: string | undefined;
  credentials: LoadCredentials;
  servers: Map<ServerKind, BenchServer>;
  daemons: Map<ServerKind, DaemonHandle>;
  clients: Map<ServerKind, S3Client>;
  kes: KesForBench | null;
  certPem: string;
  notes: string[];
  close(): Promise<void>;
}

/** The environment for child servers: only what they need, plus the tuned malloc. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = { ...MALLOC_ENV };
  // The daemon's tuning knobs pass through, so a probe can compare them (S3_DIRECT_IO=off …).
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', ...DAEMON_TUNING_VARS]) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/** The daemon settings a bench run passes through from its own environment. */
export const DAEMON_TUNING_VARS = ['S3_DIRECT_IO', 'S3_CRYPTO_WORKERS', 'S3_ACCESS_LOG', 'S3_INLINE_THRESHOLD', 'S3_SYNC_READ_MAX', 'S3_DATA_REQUESTS_MAX', 'S3_DATA_REQUESTS_WAIT', 'S3_NATIVE_AES', 'S3_NATIVE_CRC'] as const;

/** What this run's daemons were started with beyond their defaults (recorded in the results). */
export function tuningEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...DAEMON_TUNING_VARS, 'S3D_BENCH_NODE_ARGS']) {
    const v = process.env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export async function startEnvironment(opts: BenchOptions, say: (line: string) => void): Promise<BenchEnvironment> {
  const dataRoot = mkdtempSync(join(opts.tmpDir ?? tmpdir(), 's3d-bench-'));
  const profileDir = opts.profile ? join(opts.outDir, 'profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const credentials: LoadCredentials = { accessKey: opts.accessKey, secretKey: opts.secretKey, region: opts.region };
  const servers = new Map<ServerKind, BenchServer>();
  const daemons = new Map<ServerKind, DaemonHandle>();
  const clients = new Map<ServerKind, S3Client>();
  const children: ChildServer[] = [];
  const notes: string[] = [];
  let kes: KesForBench | null = null;
  let endpointBucket: { client: S3Client; bucket: string } | undefined;

  const close = async (): Promise<void> => {
    if (endpointBucket !== undefined) {
      try {
        await removeBucket(endpointBucket.client, endpointBucket.bucket);
      } catch (err) {
        say(`could not remove bucket ${endpointBucket.bucket} from the endpoint: ${(err as Error).message}`);
      }
    }
    await Promise.allSettled([...daemons.values()].map((d) => d.stop()));
    await Promise.allSettled(children.map((c) => c.stop()));
    if (kes !== null) await kes.close().catch(() => undefined);
    for (const c of clients.values()) c.destroy();
    rmSync(dataRoot, { recursive: true, force: true, maxRetries: 3 }); // retried: a file may still appear while it goes
  };

  try {
    const tls = createSelfSignedCert(join(dataRoot, 'certs'));
    const env = childEnv();
    // The null servers: the ceilings, and the load generator's own limit.
    const [sink, sinkTls] = await Promise.all([
      startChild({ label: 'null server', command: process.execPath, args: [NULL_SERVER], env, readyTimeoutMs: 10_000 }),
      startChild({ label: 'null server (TLS)', command: process.execPath, args: [NULL_SERVER, '--cert', tls.certFile, '--key', tls.keyFile], env, readyTimeoutMs: 10_000 }),
    ]);
    children.push(sink, sinkTls);
    servers.set('sink', { kind: 'sink', target: { host: '127.0.0.1', port: sink.port, tls: false }, pid: () => sink.pid, bucket: 'bench' });
    servers.set('sink-tls', { kind: 'sink-tls', target: { host: '127.0.0.1', port: sinkTls.port, tls: true, ca: tls.certPem }, pid: () => sinkTls.pid, bucket: 'bench' });

    if (opts.endpoint !== undefined) {
      const url = new URL(opts.endpoint);
      const https = url.protocol === 'https:';
      const port = Number(url.port || (https ? 443 : 80));
      const bucket = `s3d-bench-${Date.now().toString(36)}`;
      const ca = opts.caFile === undefined ? undefined : readFileSync(opts.caFile, 'utf8');
      const client = s3Client(opts.endpoint, credentials, ca);
      await createBucket(client, bucket);
      endpointBucket = { client, bucket };
      const target = { host: url.hostname, port, tls: https, ca };
      const pid = (): number | null => opts.serverPid ?? null;
      // One server plays every role; SSE-C needs TLS, KES figures need the fixture's counters.
      servers.set('daemon', { kind: 'daemon', target, pid, bucket });
      clients.set('daemon', client);
      if (https) {
        servers.set('daemon-tls', { kind: 'daemon-tls', target, pid, bucket });
        clients.set('daemon-tls', client);
      } else {
        notes.push('--endpoint is plain HTTP: SSE-C runs are skipped (SSE-C requires TLS).');
      }
      notes.push('--endpoint: the KES runs are skipped (they need the KES fixture counters of a daemon the bench starts).');
      if (opts.serverPid === undefined) notes.push('--endpoint without --server-pid: no server CPU or peak RSS figures.');
      return { dataRoot, profileDir, credentials, servers, daemons, clients, kes, certPem: tls.certPem, notes, close };
    }

    if (!daemonBuilt()) {
      notes.push('dist/daemon/main.js is missing: only the baselines and the null server were measured.');
      return { dataRoot, profileDir, credentials, servers, daemons, clients, kes, certPem: tls.certPem, notes, close };
    }
    try {
      kes = await startKesForBench(join(dataRoot, 'kes'));
    } catch (err) {
      notes.push(`the KES fixture did not start (${(err as Error).message}): no KES-backed daemon, no KMS figures.`);
    }
    const staticKey = { S3_KMS_SECRET_KEY: `s3d-bench-key:${randomBytes(32).toString('base64')}` };
    const nodeArgs = [...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), ...(process.env.S3D_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
    const common = { accessKey: opts.accessKey, secretKey: opts.secretKey, baseEnv: env, readyTimeoutMs: 30_000, nodeArgs };
    const profiles: Array<{ kind: ServerKind; kmsEnv: Record<string, string>; tls: boolean }> = [
      { kind: 'daemon', kmsEnv: staticKey, tls: false },
      { kind: 'daemon-tls', kmsEnv: staticKey, tls: true },
      ...(kes === null ? [] : [{ kind: 'daemon-kes' as const, kmsEnv: kes.env, tls: false }]),
    ];
    const started = await Promise.allSettled(
      profiles.map(async (p) => {
        const dataDir = join(dataRoot, p.kind);
        mkdirSync(dataDir, { recursive: true });
        const d = await startDaemon({ ...common, label: `s3d (${p.kind})`, dataDir, kmsEnv: p.kmsEnv, tls: p.tls ? { certsDir: tls.dir, certPem: tls.certPem } : undefined });
        daemons.set(p.kind, d);
        return d;
      }),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    for (const [kind, d] of daemons) {
      const client = s3Client(d.endpoint, credentials, d.target.ca);
      await createBucket(client, 'bench');
      clients.set(kind, client);
      servers.set(kind, { kind, target: d.target, pid: () => d.server().pid, bucket: 'bench' });
    }
    return { dataRoot, profileDir, credentials, servers, daemons, clients, kes, certPem: tls.certPem, notes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

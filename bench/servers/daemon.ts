// s3d as the bench sees it: a child process started from dist/daemon/main.js on a temp data dir
// with a KMS and (for SSE-C) TLS configuration, ready when /minio/health/ready answers 200.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { HttpTarget } from '../load/connection.js';
import { freePort, startChild } from './child-process.js';
import type { ChildServer } from './child-process.js';

export const DAEMON_MAIN = fileURLToPath(new URL('../../daemon/main.js', import.meta.url));

export function daemonBuilt(): boolean {
  return existsSync(DAEMON_MAIN);
}

export interface DaemonOptions {
  label: string;
  dataDir: string;
  accessKey: string;
  secretKey: string;
  /** S3_CERTS_DIR holding public.crt/private.key, and the PEM to trust */
  tls?: { certsDir: string; certPem: string };
  /** S3_KMS_* variables */
  kmsEnv: Record<string, string>;
  baseEnv: Record<string, string>;
  readyTimeoutMs: number;
  /** extra node flags, e.g. --cpu-prof */
  nodeArgs?: string[];
}

export interface DaemonHandle {
  readonly options: DaemonOptions;
  readonly target: HttpTarget;
  readonly endpoint: string;
  server(): ChildServer;
  /** stop and start again on the same data dir and port (a cold KMS cache) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Polls GET /minio/health/ready until 200 (bounded by timeoutMs). */
export async function waitReady(endpoint: string, certPem: string | undefined, timeoutMs: number): Promise<void> {
  const dispatcher = new Agent(certPem === undefined ? {} : { connect: { ca: certPem, servername: 'localhost' } });
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  try {
    for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
      try {
        const res = await request(`${endpoint}/minio/health/ready`, { dispatcher, headersTimeout: 2000, bodyTimeout: 2000 });
        await res.body.dump();
        if (res.statusCode === 200) return;
        last = `HTTP ${res.statusCode}`;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await dispatcher.close();
  }
  throw new Error(`${endpoint} not ready within ${timeoutMs} ms (${last})`);
}

export async function startDaemon(opts: DaemonOptions): Promise<DaemonHandle> {
  const port = await freePort();
  const tls = opts.tls;
  const endpoint = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...opts.baseEnv,
    S3_ROOT_USER: opts.accessKey,
    S3_ROOT_PASSWORD: opts.secretKey,
    S3_ADDRESS: `127.0.0.1:${port}`,
    ...opts.kmsEnv,
    ...(tls === undefined ? {} : { S3_CERTS_DIR: tls.certsDir }),
  };
  const launch = async (): Promise<ChildServer> => {
    const child = await startChild({
      label: opts.label,
      command: process.execPath,
      args: [...(opts.nodeArgs ?? []), DAEMON_MAIN, 'server', opts.dataDir],
      env,
      readyTimeoutMs: opts.readyTimeoutMs,
      port,
    });
    try {
      await waitReady(endpoint, tls?.certPem, opts.readyTimeoutMs);
    } catch (err) {
      await child.stop(2000);
      throw new Error(`${(err as Error).message}\n--- ${opts.label} output ---\n${child.tail()}`);
    }
    return child;
  };
  let child = await launch();
  return {
    options: opts,
    target: { host: '127.0.0.1', port, tls: tls !== undefined, ca: tls?.certPem },
    endpoint,
    server: () => child,
    restart: async () => {
      await child.stop();
      child = await launch();
    },
    stop: () => child.stop(),
  };
}

// Starting and stopping the servers the bench measures, as child processes: wait for their
// "listening" JSON line, keep draining their output (a full pipe would stall them), stop them
// with SIGTERM and, after a grace period, SIGKILL.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface ChildServer {
  readonly label: string;
  readonly pid: number;
  readonly port: number;
  exited(): boolean;
  /** last lines of stdout/stderr, for error messages */
  tail(): string;
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  label: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  readyTimeoutMs: number;
  /** the port when the child does not report one */
  port?: number;
}

const TAIL_LINES = 40;

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function portOf(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const j = JSON.parse(line) as { msg?: unknown; port?: unknown; address?: unknown };
    if (j.msg !== 'listening') return undefined;
    if (typeof j.port === 'number') return j.port;
    if (typeof j.address === 'string') {
      const m = /:(\d+)$/.exec(j.address);
      if (m !== null) return Number(m[1]);
    }
    return 0;
  } catch {
    return undefined;
  }
}

export function startChild(opts: ChildOptions): Promise<ChildServer> {
  const child: ChildProcess = spawn(opts.command, opts.args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let exited = false;
  const push = (text: string): void => {
    for (const l of text.split('\n')) {
      if (l.trim() === '') continue;
      lines.push(l.length > 400 ? `${l.slice(0, 400)}…` : l);
      if (lines.length > TAIL_LINES) lines.shift();
    }
  };
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  return new Promise<ChildServer>((resolve, reject) => {
    let settled = false;
    let partial = '';
    const timer = setTimeout(() => fail(new Error(`${opts.label} did not report "listening" within ${opts.readyTimeoutMs} ms`)), opts.readyTimeoutMs);
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- ${opts.label} output ---\n${lines.join('\n')}`));
    };
    const ready = (port: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        label: opts.label,
        pid: child.pid!,
        port,
        exited: () => exited,
        tail: () => lines.join('\n'),
        stop: async (graceMs = 10_000) => {
          if (exited) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exitPromise;
          clearTimeout(killer);
        },
      });
    };
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      const text = partial + chunk;
      const cut = text.lastIndexOf('\n');
      partial = cut < 0 ? text : text.slice(cut + 1);
      if (partial.length > 1 << 16) partial = '';
      const complete = cut < 0 ? '' : text.slice(0, cut);
      push(complete);
      if (!settled) {
        for (const l of complete.split('\n')) {
          const p = portOf(l.trim());
          if (p !== undefined) {
            ready(p === 0 ? (opts.port ?? 0) : p);
            break;
          }
        }
      }
    });
    child.stderr!.on('data', (chunk: string) => push(chunk));
    child.once('error', (err) => fail(err));
    child.once('exit', (code, signal) => fail(new Error(`${opts.label} exited (${signal ?? code}) before it was ready`)));
  });
}

// `npm run bench [-- --quick]`: measures s3d next to its ceilings in one run on one machine and
// writes bench/results/{<timestamp>.json, latest.json, latest.md, latest.svg}. See docs/performance.md.
// This launcher only re-runs itself with the tuned malloc and then loads the bench.

import { spawn } from 'node:child_process';
import { exitCodeOf } from './interrupt.js';
import { MALLOC_ENV } from './malloc-env.js';

/**
 * glibc reads the malloc tunables at start-up only: re-run this process once with them set.
 * SIGINT and SIGTERM sent to this launcher (by npm, `timeout`, `kill`) are passed on to the bench,
 * which stops its servers and removes its data before it exits; a terminal's Ctrl-C reaches both,
 * and the bench ignores the repeat while it cleans up.
 */
function reexecWithTunedMalloc(): Promise<number> | undefined {
  if (process.env.MALLOC_MMAP_THRESHOLD_ !== undefined) return undefined;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...MALLOC_ENV } });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : exitCodeOf(signal))));
  });
}

/** The AWS SDK warns at load time that its 2027 releases need Node 22; it says nothing about this run. */
function quietSdkVersionWarning(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (w.name === 'NodeVersionSupportWarning' || w.message.startsWith('NodeVersionSupportWarning')) return;
    for (const l of listeners) l(w);
  });
}

async function main(): Promise<number> {
  const status = reexecWithTunedMalloc();
  if (status !== undefined) return await status;
  quietSdkVersionWarning();
  const args = process.argv.slice(2);
  if (args[0] === 'probe') return (await import('./probe.js')).probe(args.slice(1));
  if (args[0] === 'soak') return (await import('./soak.js')).soak(args.slice(1));
  const { runBench } = await import('./orchestrator.js');
  return runBench(args);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);

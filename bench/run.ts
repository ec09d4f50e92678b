// `npm run bench [-- --quick]`: measures s3d next to its ceilings in one run on one machine and
// writes bench/results/{<timestamp>.json, latest.json, latest.md, latest.svg}. See docs/performance.md.
// This launcher only re-runs itself with the tuned malloc and then loads the bench.

import { spawnSync } from 'node:child_process';
import { MALLOC_ENV } from './malloc-env.js';

/** glibc reads the malloc tunables at start-up only: re-run this process once with them set. */
function reexecWithTunedMalloc(): number | undefined {
  if (process.env.MALLOC_MMAP_THRESHOLD_ !== undefined) return undefined;
  const ignore = (): void => undefined; // the child gets the same signal and cleans up
  process.on('SIGINT', ignore);
  process.on('SIGTERM', ignore);
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, ...MALLOC_ENV } });
  return r.status ?? 1;
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
  if (status !== undefined) return status;
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

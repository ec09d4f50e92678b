// systemd/s3d.service and systemd/s3d.env (issue 8 §1): the unit passes `systemd-analyze verify`
// without a single warning (when systemd-analyze exists), keeps its hardening, starts the built
// daemon (ExecStart, run here with the example environment and a recording systemd-notify),
// and the environment file lists every S3_* variable the daemon reads and loads as a config.

import t, { type Test } from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { KNOWN_VARIABLES, loadConfig } from '../../../daemon/config.js';
import { ACCESS_KEY, ROOT, SECRET_KEY } from '../../helpers/daemon.js';
import { openPut, send } from '../../helpers/http.js';
import { get, inCheckout, INSTALL_ROOT, parseUnit } from '../../helpers/systemd.js';
import { pollUntil } from '../../helpers/wait.js';

const UNIT = join(ROOT, 'systemd/s3d.service');
const ENV = join(ROOT, 'systemd/s3d.env');

function seconds(value: string): number {
  const m = /^(\d+)\s*(s|sec|min|m)?$/.exec(value);
  if (!m) throw new Error(`cannot read a duration from ${value}`);
  return Number(m[1]) * (m[2] === 'min' || m[2] === 'm' ? 60 : 1);
}

/** Variables assigned (uncommented) and mentioned in comments (#S3_X=...) in the env file. */
function parseEnvFile(text: string): { assigned: Record<string, string>; mentioned: Set<string> } {
  const assigned: Record<string, string> = {};
  const mentioned = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const active = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (active) {
      let v = active[2]!;
      if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
      assigned[active[1]!] = v;
      mentioned.add(active[1]!);
      continue;
    }
    const commented = /^#\s*(S3_[A-Z0-9_]+)=/.exec(line);
    if (commented) mentioned.add(commented[1]!);
  }
  return { assigned, mentioned };
}

/** Every S3_* environment variable named in the daemon's sources (identifiers and prefixes excluded). */
function daemonVariables(): Set<string> {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(join(ROOT, 'daemon'));
  walk(join(ROOT, 'workers'));
  const found = new Set<string>();
  const identifiers = new Set<string>();
  for (const f of files) {
    // The list of known variables itself does not count as reading them.
    const src = readFileSync(f, 'utf8').replace(/export const KNOWN_VARIABLES[\s\S]*?\]\);/, '');
    for (const m of src.matchAll(/\b(?:const|let|var|function|class|enum)\s+(S3_[A-Z0-9_]+)/g)) identifiers.add(m[1]!);
    for (const m of src.matchAll(/\bS3_[A-Z0-9_]*[A-Z0-9]\b/g)) found.add(m[0]);
  }
  for (const id of identifiers) found.delete(id);
  return found;
}

const unitText = readFileSync(UNIT, 'utf8');
const unit = parseUnit(unitText);
const envText = readFileSync(ENV, 'utf8');
const env = parseEnvFile(envText);
const execStart = get(unit, 'Service', 'ExecStart') ?? '';
const argv = execStart.split(/\s+/);

t.test('hardening and lifecycle settings', async (t) => {
  const s = (k: string): string | undefined => get(unit, 'Service', k);
  t.ok(s('User') && s('User') !== 'root', `runs as a dedicated user (${s('User')})`);
  t.equal(s('ProtectSystem'), 'strict');
  t.equal(s('NoNewPrivileges'), 'yes');
  t.equal(s('PrivateTmp'), 'yes');
  t.equal(s('ProtectHome'), 'yes');
  t.equal(s('CapabilityBoundingSet'), '', 'no capabilities');
  t.equal(s('AmbientCapabilities'), '', 'no ambient capabilities');
  t.equal(s('LimitNOFILE'), '65536');
  // A core dump (the watchdog's SIGABRT makes one) holds the process's memory and environment: the
  // root password, the KMS key, object keys and SSE-C keys in flight.
  t.equal(s('LimitCORE'), '0', 'no core dumps');
  // Swap would hold the same memory on disk, object plaintext in the crypto slots and body pieces
  // included, after the daemon is gone: the service's memory is never swapped out.
  t.equal(s('MemorySwapMax'), '0', 'no swap: no object plaintext paged out to disk');
  t.equal(s('Restart'), 'on-failure');
  t.equal(s('EnvironmentFile'), '/etc/s3d/s3d.env');
  t.notOk(s('MemoryDenyWriteExecute'), 'no MemoryDenyWriteExecute (V8 JIT)');
  // Memory protection keys: all or nothing. Where the CPU has them (PKU), V8's probe (pkey_alloc)
  // succeeds and it then guards WebAssembly code (undici's parser: KES, webhooks) with
  // pkey_mprotect; allowing the probe but not that one fails V8 with EPERM on such a CPU.
  const filter = (s('SystemCallFilter') ?? '').split(/\s+/);
  const pkeyCalls = ['pkey_alloc', 'pkey_mprotect', 'pkey_free'];
  const allowed = (call: string): boolean => filter.includes('@pkey') || filter.includes(call);
  t.ok(pkeyCalls.every(allowed) || !pkeyCalls.some(allowed), `SystemCallFilter allows all of ${pkeyCalls.join(', ')} or none (${filter.join(' ')})`);
  t.ok(filter.includes('@system-service'), 'SystemCallFilter starts from @system-service');

  const dataDir = argv[argv.length - 1]!;
  t.match(dataDir, /^\//, 'the data dir is absolute');
  t.ok((s('ReadWritePaths') ?? '').split(/\s+/).includes(dataDir), `ReadWritePaths= is the data dir (${dataDir})`);
  t.equal(`/var/lib/${s('StateDirectory')}`, dataDir, 'StateDirectory= creates the data dir owned by the service user');

  // The stop timeout must cover the drain deadline, cut-request cleanup and worker shutdown.
  const drain = Number(env.assigned.S3_SHUTDOWN_TIMEOUT ?? /#S3_SHUTDOWN_TIMEOUT=(\d+)/.exec(envText)?.[1] ?? NaN);
  t.equal(drain, loadConfig({ dataDir: '/tmp/x', dev: true }, {}).shutdownTimeoutMs / 1000, 'the env file shows the real default drain deadline');
  // After the deadline: 5 s commit grace + 2 s cleanup + 2 s token + 5 s LMDB close, and up to
  // 10 s for the crypto workers' tasks and loads (crypto/pool.ts LOAD_WAIT_MS).
  t.ok(seconds(s('TimeoutStopSec') ?? '0') >= drain + 30, `TimeoutStopSec (${s('TimeoutStopSec')}) exceeds S3_SHUTDOWN_TIMEOUT (${drain} s) by at least 30 s`);

  t.equal(s('Type'), 'notify', 'readiness: Type=notify');
  t.equal(s('NotifyAccess'), 'all', 'systemd-notify is a child of the daemon: NotifyAccess=all');
  t.equal(s('RestartPreventExitStatus'), '2', 'configuration errors (exit 2) do not restart-loop');
  t.equal(get(unit, 'Install', 'WantedBy'), 'multi-user.target');
});

t.test('ExecStart runs the file `npm run build` produces', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };
  t.match(pkg.scripts.build, /tsc -p tsconfig\.json/);
  const built = join(tsconfig.compilerOptions.outDir, relative(join(ROOT, tsconfig.compilerOptions.rootDir), join(ROOT, 'daemon/main.js')));
  t.equal(built, 'dist/daemon/main.js');
  t.equal(pkg.bin.s3d, built, 'the package bin is the same file');
  t.match(argv[0], /^\/\S+\/node$/, 'ExecStart starts node by absolute path');
  t.equal(argv[1], `${INSTALL_ROOT}/${built}`, `ExecStart runs ${INSTALL_ROOT}/${built}`);
  t.equal(argv[2], 'server');
  t.equal(argv.length, 4, 'server DIR, nothing else (no --dev)');
  t.ok(existsSync(join(ROOT, built)), 'the built file exists (npm run build ran)');
  t.equal(get(unit, 'Service', 'WorkingDirectory'), argv[3]);
});

/** Runs the unit's ExecStart (mapped onto this checkout) with the example env file, until ready. */
async function runUnit(t: Test, notify: boolean, extraEnv: Record<string, string> = {}): Promise<{ out: () => string; record: string; stop: () => Promise<number | null> }> {
  const tmp = mkdtempSync(join(tmpdir(), 's3d-unit-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  // A stand-in systemd-notify that records its arguments (Node cannot talk to a real notify socket).
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  const record = join(tmp, 'notify.log');
  writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$*" >> '${record}'\n`);
  chmodSync(join(bin, 'systemd-notify'), 0o755);
  const dataDir = join(tmp, 'data');
  const args = [inCheckout(argv[1]!), ...argv.slice(2, -1), dataDir];
  const childEnv: Record<string, string> = { PATH: `${bin}:${process.env.PATH}`, ...env.assigned, S3_ADDRESS: '127.0.0.1:0', S3_CRYPTO_WORKERS: '1', ...extraEnv };
  if (notify) childEnv.NOTIFY_SOCKET = join(tmp, 'notify.sock');
  // WATCHDOG_PID=self: the daemon's own pid, as systemd sets it (a shell that execs node keeps its pid).
  const [cmd, cmdArgs] = childEnv.WATCHDOG_PID === 'self' ? ['/bin/sh', ['-c', 'WATCHDOG_PID=$$ exec "$0" "$@"', process.execPath, ...args]] : [process.execPath, args];
  if (childEnv.WATCHDOG_PID === 'self') delete childEnv.WATCHDOG_PID;
  const proc = spawn(cmd, cmdArgs, { env: childEnv, cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  // Both signs of readiness: the notification can overtake the log line through the pipe.
  const ready = (): boolean => out.includes('"msg":"listening"') && (!notify || (existsSync(record) && readFileSync(record, 'utf8').includes('--ready')));
  const deadline = Date.now() + 20_000;
  while (!ready() && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  return {
    out: () => out,
    record,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

t.test('the unit started as systemd would: env file, ExecStart argv, readiness and stop', async (t) => {
  const run = await runUnit(t, true);
  t.match(run.out(), /"msg":"listening"/, 'the daemon started from the unit argv and the example env file');
  t.match(readFileSync(run.record, 'utf8'), /^--ready --status=serving on port \d+$/m, 'and told systemd it is ready (systemd-notify --ready)');
  t.equal(await run.stop(), 0, 'SIGTERM (systemd stop) exits 0');
  t.match(readFileSync(run.record, 'utf8'), /^STOPPING=1 /m, 'and reported STOPPING=1 when the drain began');
});

t.test('a drain deadline above what TimeoutStopSec= allows: the daemon extends the stop timeout itself', async (t) => {
  // S3_SHUTDOWN_TIMEOUT lives in /etc/s3d/s3d.env and TimeoutStopSec= in the unit: raising the first
  // alone had systemd SIGKILL the drain at TimeoutStopSec (uploads cut without cleanup, no
  // clean-shutdown marker). With STOPPING=1 the daemon asks for its deadline plus its own steps.
  const run = await runUnit(t, true, { S3_SHUTDOWN_TIMEOUT: '120' });
  t.match(run.out(), /"msg":"listening"/);
  t.equal(await run.stop(), 0);
  const line = readFileSync(run.record, 'utf8').split('\n').find((l) => l.startsWith('STOPPING=1')) ?? '';
  const usec = Number(/EXTEND_TIMEOUT_USEC=(\d+)/.exec(line)?.[1]);
  t.equal(usec, (120 + 30) * 1e6, `STOPPING=1 carries EXTEND_TIMEOUT_USEC= for the 120 s drain and 30 s of shutdown steps (${line})`);
});

t.test('WatchdogSec=: the unit sets a watchdog that restarts a hung daemon', async (t) => {
  const watchdog = seconds(get(unit, 'Service', 'WatchdogSec') ?? '0');
  t.ok(watchdog >= 30 && watchdog <= 120, `WatchdogSec=${watchdog} s: long enough for a loaded machine, short enough to matter`);
  t.equal(get(unit, 'Service', 'Restart'), 'on-failure', 'Restart=on-failure restarts after a watchdog kill');
  t.notOk(get(unit, 'Service', 'WatchdogSignal'), 'the default WatchdogSignal (SIGABRT, an unclean exit)');
});

/** The WATCHDOG=1 lines the fake systemd-notify recorded, and how many came after STOPPING=1. */
function watchdogPings(record: string): { pings: number; afterStopping: number } {
  const lines = existsSync(record) ? readFileSync(record, 'utf8').split('\n') : [];
  const stopAt = lines.findIndex((l) => l.startsWith('STOPPING=1'));
  const pings = lines.filter((l) => l === 'WATCHDOG=1').length;
  const afterStopping = stopAt < 0 ? 0 : lines.slice(stopAt).filter((l) => l === 'WATCHDOG=1').length;
  return { pings, afterStopping };
}

t.test('with WATCHDOG_USEC set, the daemon pings the watchdog every half period until it exits', async (t) => {
  // 400 ms: a ping every 200 ms.
  const run = await runUnit(t, true, { WATCHDOG_USEC: '400000', WATCHDOG_PID: 'self' });
  t.match(run.out(), /"msg":"listening"/);
  // Each ping runs systemd-notify (here a script): on a loaded machine a spawn can take most of a
  // second, so the pings are counted until three came (at most 10 s), not over a fixed 1.5 s.
  const during = (await pollUntil(() => watchdogPings(run.record), (p) => p.pings >= 3, 10_000, 100)).pings;
  t.ok(during >= 3, `repeated WATCHDOG=1 (${during})`);
  t.equal(await run.stop(), 0);
  await new Promise((r) => setTimeout(r, 500));
  const { pings } = watchdogPings(run.record);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(watchdogPings(run.record).pings, pings, 'none once the daemon has exited');
});

t.test('the watchdog is answered through a long drain: a SIGTERM not from systemd leaves it armed', async (t) => {
  // A drain may last S3_SHUTDOWN_TIMEOUT and more; a `kill -TERM` (not `systemctl stop`) leaves the
  // unit active and its watchdog armed, which would kill the draining daemon (SIGABRT) mid-drain.
  const run = await runUnit(t, true, { WATCHDOG_USEC: '400000', WATCHDOG_PID: 'self', S3_ROOT_USER: ACCESS_KEY, S3_ROOT_PASSWORD: SECRET_KEY });
  const port = Number(/--status=serving on port (\d+)/.exec(readFileSync(run.record, 'utf8'))?.[1]);
  t.equal((await send(port, { method: 'PUT', path: '/wd-drain' })).status, 200, 'a bucket');
  // An upload in flight, its body a quarter sent: the drain waits for it. Its 100 Continue says the
  // daemon has taken the request (under load a SIGTERM sent on the write alone could come first,
  // and the drain had nothing to wait for).
  const up = openPut(port, '/wd-drain/held', 1 << 20, { headers: { expect: '100-continue' } });
  await new Promise<void>((resolve) => {
    up.req.once('continue', () => resolve());
    up.req.flushHeaders();
  });
  await up.write(Buffer.alloc(256 << 10));
  const exited = run.stop();
  // Counted until three came (at most 10 s; the drain waits 30 s for the upload), as above.
  const { afterStopping } = await pollUntil(() => watchdogPings(run.record), (p) => p.afterStopping >= 3, 10_000, 100);
  t.ok(afterStopping >= 3, `WATCHDOG=1 went on while the drain waited (${afterStopping} after STOPPING=1)`);
  up.req.destroy();
  t.equal(await exited, 0, 'the drain ended once the upload went, exit 0');
});

t.test('WATCHDOG_PID naming another process: no pings', async (t) => {
  const other = await runUnit(t, true, { WATCHDOG_USEC: '400000', WATCHDOG_PID: '1' });
  t.match(other.out(), /"msg":"listening"/);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(watchdogPings(other.record).pings, 0, 'WATCHDOG_PID=1 is not this daemon: no WATCHDOG=1');
  t.equal(await other.stop(), 0);
});

t.test('without WATCHDOG_USEC, no watchdog pings', async (t) => {
  const run = await runUnit(t, true);
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(watchdogPings(run.record).pings, 0, 'no WATCHDOG=1');
  t.equal(await run.stop(), 0);
});

t.test('outside systemd (no NOTIFY_SOCKET) systemd-notify is never run', async (t) => {
  const run = await runUnit(t, false);
  t.match(run.out(), /"msg":"listening"/);
  t.equal(await run.stop(), 0);
  t.notOk(existsSync(run.record), 'no systemd-notify call');
});

t.test('s3d.env lists every S3_* variable the daemon reads, and loads', async (t) => {
  const vars = daemonVariables();
  // The list the start-up checks the environment against (config.ts) is that same set.
  const listed = [...KNOWN_VARIABLES, ...[...vars].filter((v) => v.startsWith('S3_NOTIFY_WEBHOOK_'))].sort();
  t.strictSame(listed, [...vars].sort(), 'KNOWN_VARIABLES (plus the webhook variables) is every S3_* variable the daemon reads');
  t.ok(vars.size >= 20, `found ${vars.size} variables in daemon/`);
  for (const v of [...vars].sort()) t.ok(env.mentioned.has(v), `${v} is in s3d.env`);
  for (const v of env.mentioned) t.ok(vars.has(v), `${v} (in s3d.env) is read by the daemon`);
  t.ok(env.assigned.S3_ROOT_USER && env.assigned.S3_ROOT_PASSWORD, 'credentials are set (placeholders)');
  const config = loadConfig({ dataDir: '/var/lib/s3d', dev: false }, env.assigned);
  t.equal(config.dev, false);
  t.equal(config.port, 9000);
  // The shipped placeholder is the one the start-up warns about (a service started with it
  // listens on every interface with a secret anyone can read).
  t.ok(config.warnings.some((w) => /S3_ROOT_PASSWORD is still the placeholder of the example s3d\.env/.test(w)), 'its placeholder secret is warned about');
});

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));

t.test('systemd-analyze verify: no errors, no warnings', { skip: analyze ? false : 'systemd-analyze not installed (Debian package: systemd)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-verify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 's3d.service');
  let note = 'as shipped';
  if (existsSync(argv[0]!)) {
    copyFileSync(UNIT, file);
  } else {
    // verify checks that ExecStart's binary exists; on hosts with node elsewhere, check the rest.
    writeFileSync(file, unitText.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
    note = `with ExecStart's ${argv[0]} replaced by ${process.execPath}`;
  }
  const r = spawnSync(analyze!, ['verify', '--man=no', file], { encoding: 'utf8' });
  t.equal(r.status, 0, `systemd-analyze verify passes (${note})`);
  t.equal((r.stdout + r.stderr).trim(), '', 'and prints nothing (unknown keys and bad values are only warnings)');

  // A deliberately broken copy must fail the same check: the check is not vacuous.
  writeFileSync(file, unitText.replace(/^ProtectSystem=strict$/m, 'ProtectSystem=strict\nProtectSytem=yes'));
  const bad = spawnSync(analyze!, ['verify', '--man=no', file], { encoding: 'utf8' });
  t.match(bad.stdout + bad.stderr, /Unknown key/, 'a misspelt directive is reported');
});

t.test('systemd-analyze security: exposure stays low', { skip: analyze ? false : 'systemd-analyze not installed (Debian package: systemd)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-security-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 's3d.service');
  copyFileSync(UNIT, file);
  let out: string;
  try {
    out = execFileSync(analyze!, ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
  } catch (err) {
    t.fail(`systemd-analyze security failed: ${(err as Error).message}`);
    return;
  }
  const m = /Overall exposure level for s3d\.service: ([\d.]+)/.exec(out);
  t.ok(m, 'exposure reported');
  t.ok(Number(m![1]) <= 2.5, `overall exposure ${m![1]} ≤ 2.5 (0 = locked down, 10 = exposed)`);
});

const sysusers = ['/usr/bin/systemd-sysusers', '/bin/systemd-sysusers'].find((p) => existsSync(p));

t.test('s3d.sysusers creates the unit\'s user', { skip: sysusers ? false : 'systemd-sysusers not installed (Debian package: systemd)' }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 's3d-sysusers-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  const r = spawnSync(sysusers!, ['--dry-run', `--root=${root}`, join(ROOT, 'systemd/s3d.sysusers')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const user = get(unit, 'Service', 'User')!;
  t.match(r.stdout + r.stderr, new RegExp(`Creating user '${user}'`), `creates user ${user}`);
  t.match(r.stdout + r.stderr, new RegExp(`Creating group '${get(unit, 'Service', 'Group')}'`), 'and its group');
});

// Loaded first in every test process of a run without coverage (`npm test`): .taprc's test-env
// puts it in NODE_OPTIONS, whose --import modules Node runs before the command line's, so before
// @tapjs/processinfo's `--import`, which tap's runner always adds.
//
// On Node 20, processinfo registers an off-thread module loader (module.register) that sees every
// ES module the test process loads: it records file names and line lengths for coverage reports
// and for `tap --changed`, neither of which `npm test` uses. That loader thread and its round trips
// cost ~1.2 s of CPU per test file: 71 unit test files took 89 s (172 s of CPU) with it and 51 s
// (97 s of CPU) without it, on two cores. (On Node 24.13+ processinfo uses synchronous hooks
// instead, which are cheap; it then never calls module.register, and nothing here changes.)
//
// So, in a run without coverage (tap sets _TAPJS_PROCESSINFO_COVERAGE_=0 for each test file when
// coverage is disabled), the one module.register call for processinfo's loader is skipped; every
// other register call goes through. `npm run test:coverage` sets it to 1: processinfo then works
// as tap ships it, and coverage is collected as before.
import module from 'node:module';

// Out of NODE_OPTIONS again, before processinfo copies it for this process's children: its path is
// relative to the project root, and a child may run elsewhere (the systemd unit tests do).
const options = (process.env.NODE_OPTIONS ?? '').replace(/"?--import=\.\/scripts\/tap-skip-processinfo\.mjs"?/, '').trim();
if (options === '') delete process.env.NODE_OPTIONS;
else process.env.NODE_OPTIONS = options;

const register = module.register;
if (process.env._TAPJS_PROCESSINFO_COVERAGE_ === '0' && typeof register === 'function') {
  module.register = function registerUnlessProcessinfo(specifier, ...rest) {
    if (/[\\/]@tapjs[\\/]processinfo[\\/]/.test(String(specifier))) {
      module.register = register;
      return undefined;
    }
    return register.call(this, specifier, ...rest);
  };
}

// S3D_TEST_CPU_LOG=FILE (`S3D_TEST_CPU_LOG=/tmp/cpu.tsv npm test`): each test process appends one
// line to FILE as it exits: the test file, its own CPU seconds, the CPU seconds of the children it
// waited for (the daemons, s3d verify and backup, the aws CLI and other tools it ran), its wall
// seconds, and the page faults of both (/proc/self/stat). Which files the suite's CPU goes to:
// `sort -t$'\t' -k5 -nr FILE | head` (column 5: self + children). Linux only; off by default.
const cpuLog = process.env.S3D_TEST_CPU_LOG;
if (cpuLog) {
  const { appendFileSync, readFileSync } = await import('node:fs');
  const { relative } = await import('node:path');
  process.once('exit', () => {
    try {
      // Fields after the command's closing parenthesis, from `state` (0): minflt 7, cminflt 8,
      // utime 11, stime 12, cutime 13, cstime 14, in clock ticks (USER_HZ, 100 on Linux).
      const f = readFileSync('/proc/self/stat', 'utf8').split(') ').pop().split(' ').map(Number);
      const self = (f[11] + f[12]) / 100;
      const children = (f[13] + f[14]) / 100;
      const file = relative(process.cwd(), process.argv[1] ?? '');
      const line = [file, self.toFixed(2), children.toFixed(2), process.uptime().toFixed(2), (self + children).toFixed(2), f[7], f[8]].join('\t');
      appendFileSync(cpuLog, line + '\n');
    } catch {
      // Not Linux, or the file cannot be written: the run goes on without its line.
    }
  });
}

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

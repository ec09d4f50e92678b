// `npm run build` step after tsc: compiles native/dare-aead.c (AES-256-GCM into caller buffers,
// through the OpenSSL inside Node) to dist/native/dare-aead.node with the system's C compiler and
// Node-API's headers (the node-api-headers dev dependency). Optional: without a compiler, or when
// the result fails its known-answer check, nothing is written and s3d seals with node:crypto
// (about half the AES throughput; the daemon logs which one it uses).
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'dare-aead.c');
const target = join(root, 'dist', 'native', 'dare-aead.node');
const temp = join(dirname(target), `dare-aead.${process.pid}.tmp.node`);

function skip(why) {
  rmSync(temp, { force: true });
  rmSync(target, { force: true });
  process.stdout.write(`prepare-native: ${why}; AES-GCM runs through node:crypto (about half the speed)\n`);
  process.exit(0);
}

if (process.env.S3_NATIVE_BUILD === 'off') skip('S3_NATIVE_BUILD=off');
let includeDir;
try {
  includeDir = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  skip('node-api-headers is not installed (npm ci installs it)');
}
const cc = process.env.CC || 'cc';
mkdirSync(dirname(target), { recursive: true });
const args = ['-O2', '-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden', '-DNAPI_VERSION=8',
  '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2',
  '-I', includeDir, '-Wl,-z,now', '-Wl,-z,relro', '-o', temp, source];
const built = spawnSync(cc, args, { encoding: 'utf8', timeout: 120_000 });
if (built.error !== undefined) skip(`no C compiler (${cc}: ${built.error.code ?? built.error.message})`);
if (built.status !== 0) skip(`${cc} failed${built.signal ? ` (${built.signal})` : ''}:\n${built.stderr.trim()}`);
// The known-answer check runs in a child: a binding that cannot load must not take this build down.
const check = spawnSync(process.execPath, [join(root, 'dist', 'workers', 'format', 'aead-native-check.js'), temp], { encoding: 'utf8', timeout: 60_000 });
if (check.status !== 0) skip(`the compiled binding failed its check: ${(check.stderr || check.stdout).trim() || check.signal || check.error?.message}`);
renameSync(temp, target);
process.stdout.write(`prepare-native: ${target}\n`);

// `npm run build` step after tsc: compiles the optional Node-API bindings in native/ with the
// system's C compiler and Node-API's headers (the node-api-headers dev dependency):
//   native/dare-aead.c → dist/native/dare-aead.node: AES-256-GCM into caller buffers, through the
//     OpenSSL inside Node (without it s3d seals with node:crypto, about half the AES throughput);
//   native/checksums.c → dist/native/checksums.node: CRC32C and CRC64NVME (without it s3d uses the
//     JavaScript ones of @aws-sdk/checksums, about 400 MiB/s on the event loop);
//   native/stdio-quiet.c → dist/native/stdio-quiet.node: keeps the debugging lines uWebSockets.js
//     prints as TLS server names are added off standard output, s3d's JSON log (without it they
//     appear there).
// Each is optional and built on its own: without a compiler, or when the result fails its
// known-answer check, nothing is written for it (the daemon logs which implementation it uses).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BINDINGS = [
  { name: 'dare-aead', check: join('workers', 'format', 'aead-native-check.js'), without: 'AES-GCM runs through node:crypto (about half the speed)' },
  { name: 'checksums', check: join('daemon', 'auth', 'crc-native-check.js'), without: 'CRC32C and CRC64NVME run in JavaScript (@aws-sdk/checksums)' },
  { name: 'stdio-quiet', check: join('daemon', 'http', 'stdio-quiet-check.js'), without: 'uWebSockets.js\'s debugging lines about TLS server names reach standard output' },
];

let includeDir;
try {
  includeDir = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  // Reported per binding below.
}
const cc = process.env.CC || 'cc';

/** Builds one binding; returns the line to print. */
function build({ name, check, without }) {
  const source = join(root, 'native', `${name}.c`);
  const target = join(root, 'dist', 'native', `${name}.node`);
  const temp = join(dirname(target), `${name}.${process.pid}.tmp.node`);
  const skip = (why) => {
    rmSync(temp, { force: true });
    rmSync(target, { force: true });
    return `prepare-native: ${why}; ${without}`;
  };
  if (process.env.S3_NATIVE_BUILD === 'off') return skip('S3_NATIVE_BUILD=off');
  if (includeDir === undefined) return skip('node-api-headers is not installed (npm ci installs it)');
  if (!existsSync(source)) return skip(`${source} is missing`);
  mkdirSync(dirname(target), { recursive: true });
  const args = ['-O2', '-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-fvisibility=hidden', '-DNAPI_VERSION=8',
    '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2',
    '-I', includeDir, '-Wl,-z,now', '-Wl,-z,relro', '-o', temp, source];
  const built = spawnSync(cc, args, { encoding: 'utf8', timeout: 120_000 });
  if (built.error !== undefined) return skip(`no C compiler (${cc}: ${built.error.code ?? built.error.message})`);
  if (built.status !== 0) return skip(`${cc} failed${built.signal ? ` (${built.signal})` : ''}:\n${built.stderr.trim()}`);
  // The known-answer check runs in a child: a binding that cannot load must not take this build down.
  const checked = spawnSync(process.execPath, [join(root, 'dist', check), temp], { encoding: 'utf8', timeout: 60_000 });
  if (checked.status !== 0) return skip(`the compiled binding failed its check: ${(checked.stderr || checked.stdout).trim() || checked.signal || checked.error?.message}`);
  renameSync(temp, target);
  return `prepare-native: ${target}`;
}

for (const binding of BINDINGS) process.stdout.write(`${build(binding)}\n`);

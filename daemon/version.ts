// s3d's version: package.json's, read once (dist/daemon/version.js and the installed
// /opt/s3d/dist/daemon/version.js both find it two directories up). `s3d --version` prints it,
// the `listening` log line and the s3d_build_info metric carry it.

import { readFileSync } from 'node:fs';
import { STORE_FORMAT } from './meta/state.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
    if (pkg.name === 's3d' && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // a program copied without its package.json: say so rather than fail
  }
  return 'unknown';
}

export const S3D_VERSION = packageVersion();

/** `s3d --version`: the version, the store format it writes, and the runtime. */
export function versionLine(): string {
  return `s3d ${S3D_VERSION} (store format ${STORE_FORMAT}; Node.js ${process.version}, ${process.platform}-${process.arch})`;
}

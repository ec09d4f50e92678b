// Loads the native uWebSockets.js binding directly. The npm build we depend on silently falls
// back to a slow pure-JS server when its binary fails to load; s3d refuses that fallback.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';

const require = createRequire(import.meta.url);

export class NativeBindingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeBindingError';
  }
}

/** Absolute path of the native binary this Node build needs. */
export function nativeBindingPath(): string {
  const pkgDir = dirname(require.resolve('uWebSockets.js/package.json'));
  return join(pkgDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

let loaded: typeof Uws | undefined;

/** The native module, or a NativeBindingError that says why it could not load. */
export function loadUws(): typeof Uws {
  if (loaded) return loaded;
  const file = nativeBindingPath();
  let mod: typeof Uws;
  try {
    // Never `require('uWebSockets.js')`: its entry point swallows the failure and returns the
    // pure-JS fallback. Loading the .node file ourselves either gives the native code or throws.
    mod = require(file) as typeof Uws;
  } catch (err) {
    throw new NativeBindingError(
      `the native uWebSockets.js binding could not be loaded from ${file} ` +
        `(platform ${process.platform}, arch ${process.arch}, Node ABI ${process.versions.modules}): ` +
        `${(err as Error).message}. s3d refuses the slow pure-JS fallback; use Node 20 on linux-x64 or arm64.`,
      { cause: err },
    );
  }
  if (typeof mod.App !== 'function' || require.cache[file] === undefined) {
    throw new NativeBindingError(`${file} did not export the native uWebSockets.js API`);
  }
  loaded = mod;
  return mod;
}

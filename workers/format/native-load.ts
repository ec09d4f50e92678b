// Loading an optional Node-API binding that `npm run build` compiles into dist/native/ (the AES one,
// workers/format/aead-native.ts; the CRC one, daemon/auth/crc-native.ts; the stdio one, which has
// no setting, daemon/http/stdio-quiet.ts): off by its setting, not built, not s3d's, failing its
// known-answer check or failing to load, each is a reason to run without it, never an exception.
// Each thread loads the bindings it uses for itself.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A binding, or why there is none. */
export interface NativeLoad<T> {
  binding?: T;
  file: string;
  /** Why there is no binding: not built, its setting off, or the load's error. */
  reason?: string;
  /** No binding by the operator's choice (its setting off), not by a fault. */
  byDesign?: boolean;
}

/**
 * Loads the binding at `file` unless its setting `variable`, if it has one, is off (the values
 * daemon/config.ts reads as off; it refuses anything but these and on, true, 1): it must export
 * `functions` (else it is not s3d's `what`) and pass `check` (what went wrong, or undefined).
 * Never throws.
 */
export function loadNativeBinding<T>(
  file: string,
  env: NodeJS.ProcessEnv,
  spec: { variable?: string; what: string; functions: readonly string[]; check: (binding: T) => string | undefined },
): NativeLoad<T> {
  const { variable } = spec;
  const setting = variable !== undefined ? (env[variable] ?? '').trim().toLowerCase() : '';
  if (variable !== undefined && (setting === 'off' || setting === 'false' || setting === '0')) return { file, reason: `${variable}=${env[variable]}`, byDesign: true };
  if (!existsSync(file)) return { file, reason: `${file} was not built (npm run build compiles it where a C compiler is installed)` };
  try {
    const binding = createRequire(import.meta.url)(file) as Record<string, unknown>;
    if (spec.functions.some((name) => typeof binding[name] !== 'function')) return { file, reason: `${file} is not s3d's ${spec.what}` };
    // The build checked it against the Node that built it; this Node may be another.
    const problem = spec.check(binding as T);
    if (problem !== undefined) return { file, reason: `${file} fails its known-answer check (${problem}): rebuild with npm run build` };
    return { file, binding: binding as T };
  } catch (err) {
    return { file, reason: `${file} does not load: ${(err as Error).message}` };
  }
}

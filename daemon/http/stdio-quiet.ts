// The uWebSockets.js binary prints debugging lines of its own through C stdio's standard output
// as a TLS server name is added (`finding NAME`, `Browsed to SNI: NAME`: at each start and reload
// per name, and when a name is first sent in another case), and standard output is s3d's JSON
// log. quietStdio runs such a call with that output sent to /dev/null, through the Node-API
// binding native/stdio-quiet.c (compiled by `npm run build` to dist/native/stdio-quiet.node where
// a C compiler is installed); fd 1 itself, which the log is written to, is left alone. Without the
// binding the call runs as it is, and the lines appear as before (the start-up log says so).
import { fileURLToPath } from 'node:url';
import { loadNativeBinding, type NativeLoad } from '../../workers/format/native-load.js';

/** The binding's calls. */
export interface StdioQuiet {
  /** fn(), its stdio output to standard output going to /dev/null; its result, or its exception once the output is restored. */
  quiet<T>(fn: () => T): T;
  /** `text` (its first 1023 bytes) through printf, for the checks. */
  print(text: string): void;
}

/** Where `npm run build` writes the binding: dist/native/, beside the others. */
export function stdioQuietPath(): string {
  return fileURLToPath(new URL('../../native/stdio-quiet.node', import.meta.url));
}

/** The cheap check made at every load: quiet gives fn's result and throws fn's exception. Returns what went wrong, or undefined. */
export function knownAnswerProblem(binding: StdioQuiet): string | undefined {
  try {
    if (binding.quiet(() => 42) !== 42) return 'quiet(fn) does not return what fn returns';
    const thrown = new Error('thrown by fn');
    try {
      binding.quiet(() => {
        throw thrown;
      });
    } catch (err) {
      return err === thrown ? undefined : `quiet(fn) threw ${String(err)}, not fn's exception`;
    }
    return 'quiet(fn) did not throw what fn threw';
  } catch (err) {
    return (err as Error).message;
  }
}

/** Loads the binding at `file` and checks it. Never throws. */
export function loadStdioQuiet(file = stdioQuietPath()): NativeLoad<StdioQuiet> {
  return loadNativeBinding<StdioQuiet>(file, {}, { what: 'stdio binding', functions: ['quiet', 'print'], check: knownAnswerProblem });
}

/** Loaded on first use: only a daemon serving TLS asks (the rest of the process never dlopens it). */
let loaded: NativeLoad<StdioQuiet> | undefined;
const load = (): NativeLoad<StdioQuiet> => (loaded ??= loadStdioQuiet());

/**
 * fn(), with what it prints through C stdio's standard output discarded where the binding loaded.
 * The binding holds stdout's lock while fn runs: fn must not wait on another thread (one that
 * printed through stdio meanwhile would wait for fn in turn). uWS's addServerName and domain do not.
 */
export function quietStdio<T>(fn: () => T): T {
  const { binding } = load();
  return binding !== undefined ? binding.quiet(fn) : fn();
}

/** Whether quietStdio discards that output, and the binding's file or why it has none (for the start-up log). */
export function stdioQuietImplementation(): { native: boolean; file: string; reason?: string } {
  const { binding, file, reason } = load();
  return { native: binding !== undefined, file, reason };
}

// Stopping early: on the first SIGINT or SIGTERM run the command's cleanup (stop the servers it
// started, remove its temporary data), then exit 128 + the signal's number. A terminal's Ctrl-C
// arrives twice (directly, and passed on by the launcher in run.ts): repeats are ignored.

import { constants } from 'node:os';

export function exitCodeOf(sig: NodeJS.Signals): number {
  return 128 + (constants.signals[sig] ?? 0);
}

export interface SignalStop {
  /** the signal that stopped the command, if one did */
  signal(): NodeJS.Signals | undefined;
  /** removes the handlers (the command cleaned up by itself) */
  dispose(): void;
}

/**
 * Installs the handlers. `cleanup` may wait for servers still starting (the caller passes a
 * cleanup that awaits them), so a signal during start-up leaves nothing behind either.
 */
export function stopOnSignal(say: (line: string) => void, cleanup: () => Promise<void>): SignalStop {
  let got: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (got !== undefined) return;
    got = sig;
    say(`${sig}: stopping the servers and removing the temporary data`);
    void cleanup()
      .catch((err: unknown) => say(`cleanup after ${sig} failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => process.exit(exitCodeOf(sig)));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: () => got,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

// Waiting in tests: plain sleeps, polling a condition until a deadline, and waiting for a daemon
// log line.

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Reads a value every `intervalMs` until `done(value)` holds or `timeoutMs` has passed; returns the
 * last value read (the caller asserts on it, so a timeout shows what was seen).
 */
export async function pollUntil<T>(read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await sleep(intervalMs);
  }
}

/** Resolves once `predicate` is true for some log line (JSON-parsed), or rejects after `ms`. */
export async function waitForLog(logs: string[], predicate: (line: Record<string, unknown>) => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  let seen = 0;
  while (Date.now() - start < ms) {
    for (; seen < logs.length; seen++) {
      try {
        if (predicate(JSON.parse(logs[seen]!) as Record<string, unknown>)) return;
      } catch {
        // not JSON
      }
    }
    await sleep(10);
  }
  throw new Error(`log line not seen within ${ms} ms`);
}

/**
 * Runs `pass`, counting the turns of the event loop (setImmediate rounds) while it runs: a pass
 * that gives the loop back between bounded chunks shows turns, one synchronous stretch none.
 * `pass` gets the count so far, for a test that notes it at some point of the pass.
 */
export async function turnsDuring<T>(pass: (turnsSoFar: () => number) => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let polling = true;
  const poll = (): void => {
    if (!polling) return;
    turns++;
    setImmediate(poll);
  };
  setImmediate(poll);
  try {
    return { result: await pass(() => turns), turns };
  } finally {
    polling = false;
  }
}

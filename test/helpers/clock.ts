// A daemon whose clock runs behind (or ahead): a preload module, loaded with --import, makes
// Date.now(), new Date() and Date() read the real clock plus TEST_CLOCK_OFFSET_MS. For tests of
// what time decides (lifecycle ages, retention dates) without waiting days. Plus an SDK client
// that signs with that clock.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TestDaemon } from './daemon.js';
import { clientFor } from './s3.js';

const CLOCK = `
const offset = Number(process.env.TEST_CLOCK_OFFSET_MS ?? '0');
const RealDate = globalThis.Date;
const realNow = RealDate.now.bind(RealDate);
const now = () => realNow() + offset;
const Shifted = new Proxy(RealDate, {
  construct: (target, args, newTarget) => Reflect.construct(target, args.length === 0 ? [now()] : args, newTarget === Shifted ? target : newTarget),
  apply: () => new RealDate(now()).toString(),
  get: (target, p, receiver) => (p === 'now' ? now : Reflect.get(target, p, receiver)),
});
globalThis.Date = Shifted;
`;

/** Writes the preload into `dir`; returns the daemon environment that shifts its clock by `offsetMs`. */
export function shiftedClockEnv(dir: string, offsetMs: number): Record<string, string> {
  const file = join(dir, 'clock.mjs');
  writeFileSync(file, CLOCK);
  return { NODE_OPTIONS: `--import=${pathToFileURL(file).href}`, TEST_CLOCK_OFFSET_MS: String(offsetMs) };
}

/**
 * A client signing with a clock `offsetMs` off. The SDK corrects its clock offset from each
 * response's Date header, which the HTTP layer writes from the real clock: the offset is set back
 * before every request is signed.
 */
export function shiftedClient(daemon: TestDaemon, offsetMs: number): S3Client {
  const c = clientFor(daemon, { systemClockOffset: offsetMs });
  c.middlewareStack.add(
    (next) => (args) => {
      c.config.systemClockOffset = offsetMs;
      return next(args);
    },
    { step: 'build', name: 'pinClockOffset' },
  );
  return c;
}

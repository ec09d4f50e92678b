// undici's Agent, loaded when the first one is made (the KES client, webhook targets): undici is
// ~120 ms of start-up, and most daemons have no KES endpoint and no webhook target.

import { createRequire } from 'node:module';
import type { Agent } from 'undici';

let agentClass: typeof Agent | undefined;

export function undiciAgent(): typeof Agent {
  return (agentClass ??= (createRequire(import.meta.url)('undici') as typeof import('undici')).Agent);
}

// daemon/log.ts commandLogger: what `s3d verify` makes of the log lines of the modules it shares
// with the daemon (the KMS clients). They were pino's JSON lines (level as a number, a timestamp)
// among the command's lines of text; now lines of text too, warnings and errors kept, info and
// debug (the daemon journal's business) dropped.
import t from 'tap';
import { commandLogger } from '../../../daemon/log.js';

t.test('warnings and errors as lines of text with their fields; info and debug dropped', async (t) => {
  const lines: string[] = [];
  const log = commandLogger('s3d verify', (l) => lines.push(l));
  log.debug({ endpoint: 'https://kes-a:7373' }, 'KES endpoint failed again');
  log.info({ key: 'k' }, 'KES reachable, default key ready');
  log.warn({ endpoint: 'https://kes-a:7373', err: 'connect ECONNREFUSED 127.0.0.1:7373' }, 'KES endpoint failed');
  log.warn({ endpoints: ['https://kes-a:7373', 'https://kes-b:7373'], err: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }, 'KES unreachable: every endpoint failed');
  log.error({ err: { message: 'kes: not authorized', code: 'Forbidden' }, key: 'k', retryInMs: 400 }, "KES refuses s3d's identity");
  log.warn('KMS: a warning without fields');
  log.fatal({ nested: { a: 1 } }, 'anything else, as JSON');
  t.strictSame(lines, [
    's3d verify: warning: KES endpoint failed (endpoint: https://kes-a:7373; err: connect ECONNREFUSED 127.0.0.1:7373)',
    's3d verify: warning: KES unreachable: every endpoint failed (endpoints: https://kes-a:7373, https://kes-b:7373; err: socket hang up (ECONNRESET))',
    "s3d verify: error: KES refuses s3d's identity (err: kes: not authorized (Forbidden); key: k; retryInMs: 400)",
    's3d verify: warning: KMS: a warning without fields',
    's3d verify: fatal: anything else, as JSON (nested: {"a":1})',
  ]);
});

// What s3d's log lines (the daemon's and s3d verify's) do with the values they carry, and where
// they go: the daemon's as JSON on stdout, a command's as text lines on stderr.
import { destination, pino, stdSerializers, type Logger, type LoggerOptions } from 'pino';

/**
 * `err` in a log line: an Error with its type and stack (pino's serializer); the plain
 * `{ message, code }` objects s3d logs for expected failures as given (pino's serializer would add
 * `"type":"Object","stack":""` to them).
 */
export const LOG_SERIALIZERS = { err: (e: unknown): unknown => (e instanceof Error ? stdSerializers.err(e) : e) };

/**
 * The most bytes of log lines held while stdout takes none (journald stalled, a container
 * runtime's log pipe full, `s3d | less` paused). Without a bound pino's asynchronous destination
 * (sonic-boom) kept every line in memory for as long as the stall lasted; past it, lines are
 * dropped and counted, as journald itself drops lines past its rate limit.
 */
export const LOG_BUFFER_MAX = 16 * 1024 * 1024;

/**
 * The daemon's logger: JSON lines on stdout, written asynchronously (lines written while a write
 * is in flight go out together in the next one: one syscall per line cost ~8 % of the main thread
 * at 1 MiB GETs) and flushed at exit (pino registers a synchronous flush on `exit`). Lines dropped
 * at LOG_BUFFER_MAX are reported in a warning once stdout takes lines again.
 */
export function stdoutLogger(options: LoggerOptions): Logger {
  const dest = destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_MAX });
  const log = pino(options, dest);
  let dropped = 0;
  let reporting = false;
  dest.on('drop', () => void dropped++);
  // 'write' is emitted before the written bytes leave sonic-boom's count: the report waits a turn,
  // when there is room for it. Should it be dropped too, it counts itself and the next write reports again.
  dest.on('write', () => {
    if (dropped === 0 || reporting) return;
    reporting = true;
    setImmediate(() => {
      reporting = false;
      const n = dropped;
      dropped = 0;
      log.warn({ dropped: n, bufferBytes: LOG_BUFFER_MAX }, 'log lines dropped: stdout did not take them');
    });
  });
  return log;
}

const LEVEL_WORDS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/** A field of a log line as a person reads it: an error by its message (and code), a list by its items. */
function fieldText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(fieldText).join(', ');
  if (typeof v === 'object' && v !== null) {
    const { message, code } = v as { message?: unknown; code?: unknown };
    if (typeof message === 'string') return typeof code === 'string' || typeof code === 'number' ? `${message} (${code})` : message;
    return JSON.stringify(v);
  }
  return String(v);
}

/**
 * One of pino's JSON lines as a command's line of text: `PREFIX: warning: MESSAGE (field: value;
 * …)`. A line that does not parse (none should) is given as it is.
 */
export function commandLogText(prefix: string, json: string): string {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `${prefix}: ${json.trimEnd()}`;
  }
  const { level, msg, ...fields } = line;
  const fieldList = Object.entries(fields).map(([k, v]) => `${k}: ${fieldText(v)}`);
  const word = LEVEL_WORDS[Number(level)] ?? String(level);
  return `${prefix}: ${word}: ${typeof msg === 'string' ? msg : ''}${fieldList.length > 0 ? ` (${fieldList.join('; ')})` : ''}`;
}

/**
 * The logger a command (`s3d verify`) hands the modules it shares with the daemon (the KMS
 * clients): their warnings and errors as lines of text through `write` (stderr), among the
 * command's own; their info and debug lines, the daemon's journal's business, dropped. Pino's
 * JSON lines (a timestamp, a pid, the level as a number) had been written among the command's
 * own lines, for a person at a terminal to read.
 */
export function commandLogger(prefix: string, write: (line: string) => void): Logger {
  return pino({ level: 'warn', base: null, timestamp: false, serializers: LOG_SERIALIZERS }, { write: (json: string) => write(commandLogText(prefix, json)) });
}

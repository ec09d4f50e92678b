// A log reader that stops reading (journald stalled, a container runtime's log pipe full, `s3d |
// less` left paused): the daemon must keep serving with bounded memory. Its lines go to stdout
// through pino's asynchronous destination, which held every line stdout did not take in memory,
// without a bound (60,000 access lines: ~60 MB more resident, growing for as long as the reader
// stalls). It now holds at most LOG_BUFFER_MAX bytes, drops what comes past that, and says how
// many lines it dropped once stdout takes lines again.
import t from 'tap';
import http from 'node:http';
import { startDaemonFor } from '../helpers/daemon.js';
import { LOG_BUFFER_MAX } from '../../daemon/log.js';

const d = await startDaemonFor(t, { env: { S3_ACCESS_LOG: 'all' } });
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
t.teardown(() => agent.destroy());

/** An unsigned GET of a bucket that is not there, whose access line names a long key (about 1.1 KB a line). */
const KEY = 'stalled-log-'.padEnd(1000, 'k');
function get(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${d.endpoint}/no-such-bucket/${KEY}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The first defined value of `f`, polled every 50 ms, or a failure after `ms`. */
async function waitFor<T>(f: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not seen in ${ms} ms: ${d.logs.slice(-3).join('\n').slice(-600)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function requests(n: number): Promise<number[]> {
  const statuses: number[] = [];
  let started = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (started++ < n) statuses.push(await get());
    }),
  );
  return statuses;
}

// Counted on the raw lines: parsing tens of thousands of 1 KB lines on every look takes seconds.
const accessLines = (): number => d.logs.filter((l) => l.includes('"msg":"request"') && l.includes('"key":"stalled-log-')).length;

t.test('a stalled stdout holds a bounded amount of log lines', async (t) => {
  // Each line is written as its response goes out: once every response is in, so is every line.
  const before = accessLines();
  d.proc.stdout!.pause();
  // About twice the bound's worth of lines while nobody reads.
  const N = Math.ceil((2 * LOG_BUFFER_MAX) / 1100);
  let statuses: number[];
  try {
    statuses = await requests(N);
  } finally {
    // Read again whatever happened: a daemon whose stdout stays full never exits (pino's flush at
    // exit waits for the pipe), so a request that failed here made the teardown's stop wait for
    // tap's timeout and left the daemon running.
    d.proc.stdout!.resume();
  }
  t.equal(statuses.length, N, 'every request was answered while stdout was not read');
  t.ok(
    statuses.every((s) => s === 404),
    'all answered NoSuchBucket',
  );

  const reportLine = await waitFor(() => d.logs.find((l) => l.includes('"msg":"log lines dropped: stdout did not take them"')), 30_000);
  const report = JSON.parse(reportLine) as { dropped: unknown };
  // Give the rest of the held lines time to come out.
  await new Promise((r) => setTimeout(r, 500));
  const seen = accessLines() - before;
  t.ok(seen < N, `fewer access lines than requests came out (${seen} of ${N}): the held lines were bounded`);
  t.ok(seen * 1100 >= LOG_BUFFER_MAX / 2, `the lines held up to the bound came out (${seen})`);
  t.equal(Number(report.dropped) + seen, N, 'the report counts exactly the lines that did not come out');

  // Still serving, and logging, after the stall.
  t.equal(await get(), 404, 'the daemon still answers');
  await waitFor(() => accessLines() > before + seen || undefined, 10_000);
});

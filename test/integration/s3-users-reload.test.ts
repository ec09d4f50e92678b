// A users-file reload (SIGHUP) of many users against the real daemon: requests are answered while
// it is read and checked (it went in one turn of the event loop: 50,000 users held every request
// back ~0.3 s), a request sees the old users or the new, never some of each, a file refused at its
// last user leaves the previous users in force throughout, and a SIGHUP during a reload has the
// file read again once it ends (the last file wins; two reloads never interleave). Counted in
// the daemon's own log (every request logged, in the order it was answered), not in milliseconds.
// What a users file holds: s3-users-keys.test.ts; the steps' bounds: unit auth/users-turns.test.ts.

import t from 'tap';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGION, startDaemonFor, type TestDaemon } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { sleep } from '../helpers/wait.js';
import { signRequest } from '../../daemon/auth/sign.js';

const USERS = 30_000;
const work = mkdtempSync(join(tmpdir(), 's3d-users-reload-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const file = join(work, 'iam.json');

/** The file replaced whole (renamed into place), as an operator's tools do: a reload reading the previous one reads it to its end. */
function writeFile(content: unknown): void {
  writeFileSync(`${file}.new`, JSON.stringify(content), { mode: 0o600 });
  renameSync(`${file}.new`, file);
}

const key = (i: number): string => `user-${String(i).padStart(6, '0')}`;
/** A file of USERS users (their secrets of `generation`) and 50 policies; `extra` users after them. */
function writeUsers(generation: string, extra: Array<Record<string, unknown>> = []): void {
  const policies: Record<string, unknown> = {};
  for (let p = 0; p < 50; p++) {
    policies[`p${p}`] = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:ListBucket'], Resource: [`arn:aws:s3:::bucket-${p}`, `arn:aws:s3:::bucket-${p}/*`] }] };
  }
  const users: Array<Record<string, unknown>> = [];
  for (let i = 0; i < USERS; i++) users.push({ accessKey: key(i), secretKey: `secret-${generation}-${i}`, policies: [`p${i % 50}`, 'readonly'], tags: { team: `t${i % 7}` } });
  writeFile({ policies, users: [...users, ...extra] });
}

/** ListBuckets signed as `accessKey` with `secretKey`: its status. */
async function listAs(d: TestDaemon, accessKey: string, secretKey: string): Promise<number> {
  const headers = signRequest({ method: 'GET', rawPath: '/', rawQuery: '', headers: { host: `127.0.0.1:${d.port}` }, accessKeyId: accessKey, secretAccessKey: secretKey, region: REGION }).headers;
  return (await send(d.port, { method: 'GET', path: '/', sign: false, headers })).status;
}

/** The index of the first log line from `from` on that `match` accepts, once there. */
async function logIndex(d: TestDaemon, from: number, match: (l: Record<string, unknown>) => boolean): Promise<number> {
  const until = Date.now() + 60_000;
  for (;;) {
    const at = d.jsonLogs().findIndex((l, i) => i >= from && match(l));
    if (at >= 0) return at;
    if (Date.now() > until) throw new Error(`no such log line after line ${from}`);
    await sleep(10);
  }
}
const msgIs = (m: string) => (l: Record<string, unknown>): boolean => l.msg === m;

writeUsers('a');
const d = await startDaemonFor(t, { env: { S3_IAM_FILE: file, S3_ACCESS_LOG: 'all' } });

t.test(`a reload of ${USERS} users: requests answered meanwhile, each seeing the old users or the new`, async (t) => {
  const first = key(0);
  const last = key(USERS - 1);
  t.equal(await listAs(d, first, 'secret-a-0'), 200, 'before: the first user signs');
  t.equal(await listAs(d, last, `secret-a-${USERS - 1}`), 200, 'before: the last user signs');
  writeUsers('b');
  // Probes: the first and the last user in turn, each with its old secret, one request at a time;
  // once the new file is in force both are refused. A reload that put users in force as it went
  // would have one refused and the other not, then the other refused.
  const seen: Array<[string, number]> = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      seen.push(['first', await listAs(d, first, 'secret-a-0')]);
      seen.push(['last', await listAs(d, last, `secret-a-${USERS - 1}`)]);
    }
  })();
  const from = d.jsonLogs().length;
  d.proc.kill('SIGHUP');
  const started = await logIndex(d, from, msgIs('reloading users'));
  const ended = await logIndex(d, started, msgIs('users reloaded'));
  probing = false;
  await probe;
  const logs = d.jsonLogs();
  t.equal(logs[ended]!.users, USERS, `${USERS} users reloaded`);
  // Answered between the reload's first and last turn. In one turn, there were none.
  const answered = logs.slice(started, ended).filter((l) => l.msg === 'request').length;
  t.ok(answered >= 3, `requests answered while the reload was under way (${answered})`);

  const states = seen.map(([, status]) => (status === 200 ? 'old' : status === 403 ? 'new' : `HTTP ${status}`));
  t.notOk(states.some((s) => s !== 'old' && s !== 'new'), 'every probe answered 200 (old users) or 403 (new users)');
  const firstNew = states.indexOf('new');
  t.ok(firstNew >= 0, 'the new users came into force');
  t.ok(states.slice(firstNew).every((s) => s === 'new'), `never the old users after the new (${states.length} probes, the new from probe ${firstNew + 1} on)`);
  t.equal(await listAs(d, first, 'secret-b-0'), 200, 'after: the first user signs with its new secret');
  t.equal(await listAs(d, last, `secret-b-${USERS - 1}`), 200, 'after: the last user signs with its new secret');
});

t.test('a file refused at its last user: the previous users stay in force, during the reload and after', async (t) => {
  writeUsers('c', [{ accessKey: 'user-bad', secretKey: 'secret-bad-1', policies: ['no-such-policy'] }]);
  const seen: number[] = [];
  let probing = true;
  const probe = (async () => {
    while (probing) seen.push(await listAs(d, key(USERS - 1), `secret-b-${USERS - 1}`));
  })();
  const from = d.jsonLogs().length;
  d.proc.kill('SIGHUP');
  const started = await logIndex(d, from, msgIs('reloading users'));
  const failed = await logIndex(d, started, (l) => String(l.msg).startsWith('users reload failed'));
  probing = false;
  await probe;
  t.match(String((d.jsonLogs()[failed]!.err as { message?: string } | undefined)?.message), /users\[30000\].*no policy named "no-such-policy"/, 'refused, naming the user');
  t.ok(seen.length > 0 && seen.every((s) => s === 200), `the previous users answered throughout (${seen.length} probes)`);
  t.equal(await listAs(d, key(0), 'secret-b-0'), 200, 'after: the previous secrets still sign');
  t.equal(await listAs(d, key(0), 'secret-c-0'), 403, 'the refused file\u2019s do not');
});

t.test('a SIGHUP during a reload: the file is read again when it ends, and the last one is in force', async (t) => {
  writeUsers('d');
  const from = d.jsonLogs().length;
  d.proc.kill('SIGHUP');
  const started = await logIndex(d, from, msgIs('reloading users'));
  // The next file, written while the first is read: a few users only.
  writeFile({ users: [{ accessKey: 'user-e', secretKey: 'secret-e-1', policies: ['readonly'] }] });
  d.proc.kill('SIGHUP');
  d.proc.kill('SIGHUP');
  // Once the small file is in force, what came before it in the log.
  const secondEnd = await logIndex(d, started, (l) => l.msg === 'users reloaded' && l.users === 1);
  const logs = d.jsonLogs().slice(started, secondEnd + 1);
  const lines = logs.map((l) => String(l.msg)).filter((m) => m.startsWith('users reload') || m === 'reloading users');
  t.same(lines, ['reloading users', 'users reload under way: the file is read again when it ends', 'users reloaded', 'reloading users', 'users reloaded'], 'the second SIGHUP came while the first reload was under way; one reload more for both, begun after the first ended');
  t.same(logs.filter((l) => l.msg === 'users reloaded').map((l) => l.users), [USERS, 1], 'the first read the big file, the second the file as it was at the last SIGHUP');
  t.equal(await listAs(d, 'user-e', 'secret-e-1'), 200, 'the last file is in force');
  t.equal(await listAs(d, key(0), 'secret-d-0'), 403, 'not the one before it');
});

// auth/users.ts loadUsersInTurns, the reload's read of S3_IAM_FILE: checked in steps, one to a turn
// of the event loop, at most 250 users (or groups) and 25 policies a turn. A reload went in one
// turn before: 50,000 users held every other request back ~0.3 s of CPU (0.4-1.5 s on a loaded
// 2-core VM). Counted here by what each turn went through, not timed; that requests are answered
// between the turns, against the daemon: integration s3-users-reload.test.ts.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { IamFileError, loadUsers, loadUsersInTurns, newUsersFileWork, type UsersFileWork } from '../../../../daemon/auth/users.js';

const ROOT = 'rootuser';
const dir = mkdtempSync(join(tmpdir(), 's3d-users-turns-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const USERS = 20_000;
const POLICIES = 300;
const GROUPS = 1_000;
function bigFile(lastUser: Record<string, unknown> = {}): string {
  const policies: Record<string, unknown> = {};
  for (let p = 0; p < POLICIES; p++) {
    policies[`p${p}`] = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::b${p}/home/*`] },
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::b${p}`], Condition: { StringLike: { 's3:prefix': [`home/${p}/*`] } } },
      ],
    };
  }
  const groups: Record<string, unknown> = {};
  for (let g = 0; g < GROUPS; g++) groups[`g${g}`] = { policies: [`p${g % POLICIES}`, `p${(g + 1) % POLICIES}`] };
  const users: Array<Record<string, unknown>> = [];
  for (let i = 0; i < USERS; i++) users.push({ accessKey: `user-${i}`, secretKey: `secret-${i}-xxxxxxxx`, policies: ['readonly'], groups: [`g${i % GROUPS}`], tags: { team: `t${i % 9}` } });
  Object.assign(users[USERS - 1]!, lastUser);
  const file = join(dir, `iam-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ policies, groups, users }, null, 1), { mode: 0o600 });
  return file;
}

/**
 * What `work` went through in each turn of the event loop until `run` settled (as helpers/turns.ts
 * countByTurn, for each kind); `run` is given the number of the turn under way.
 */
async function workByTurn<T>(work: UsersFileWork, run: (turn: () => number) => Promise<T>): Promise<{ turns: UsersFileWork[]; result: T | Error }> {
  const turns: UsersFileWork[] = [];
  let at = { ...work };
  let done = false;
  const answer = run(() => turns.length).then(
    (v) => v,
    (e: unknown) => e as Error,
  ).finally(() => (done = true));
  const take = (): void => {
    turns.push({ policies: work.policies - at.policies, groups: work.groups - at.groups, users: work.users - at.users });
    at = { ...work };
  };
  while (!done) {
    take();
    await nextTurn();
  }
  take();
  return { turns, result: await answer };
}

const most = (turns: UsersFileWork[], kind: keyof UsersFileWork): number => turns.reduce((m, w) => Math.max(m, w[kind]), 0);

t.test(`${USERS} users, ${POLICIES} policies, ${GROUPS} groups: at most 250 users, 250 groups and 25 policies a turn`, async (t) => {
  const file = bigFile();
  const work = newUsersFileWork();
  let readInTurn = -1;
  const { turns, result } = await workByTurn(work, (turn) => loadUsersInTurns(file, ROOT, { work, onRead: () => (readInTurn = turn()) }));
  if (result instanceof Error) throw result;
  t.equal(result.users.size, USERS, `${USERS} users loaded`);
  t.same(work, { policies: POLICIES, groups: GROUPS, users: USERS }, 'every policy, group and user gone through');
  t.ok(most(turns, 'users') <= 250, `at most 250 users a turn (most: ${most(turns, 'users')})`);
  t.ok(most(turns, 'groups') <= 250, `at most 250 groups a turn (most: ${most(turns, 'groups')})`);
  t.ok(most(turns, 'policies') <= 25, `at most 25 policies a turn (most: ${most(turns, 'policies')})`);
  // The JSON text (~3 MB, ~500,000 tokens) is scanned and parsed in turns of its own (20,000
  // tokens, 256 KiB a turn) between its read and the first policy checked.
  const parsing = turns.findIndex((w) => w.policies > 0) - readInTurn;
  t.ok(readInTurn >= 0 && parsing >= 20, `the text scanned and parsed over ${parsing} turns first`);

  // The same directory as the start-up's read in one go.
  const once = loadUsers(file, ROOT).users;
  for (const k of ['user-0', 'user-12345', `user-${USERS - 1}`]) {
    t.same(result.users.get(k), once.get(k), `${k} as loadUsers reads it`);
  }
  t.equal(result.users.get('user-nobody'), undefined, 'no other user');
});

t.test('a file refused at its last user: the error start-up gives, after the turns', async (t) => {
  const file = bigFile({ policies: ['no-such-policy'] });
  const work = newUsersFileWork();
  const { turns, result } = await workByTurn(work, () => loadUsersInTurns(file, ROOT, { work }));
  t.ok(result instanceof IamFileError, 'refused');
  let atStart = '';
  try {
    loadUsers(file, ROOT);
  } catch (err) {
    atStart = (err as Error).message;
  }
  t.match(atStart, /users\[19999\].*no policy named "no-such-policy"/);
  t.equal((result as Error).message, atStart, 'with the message start-up gives');
  t.ok(most(turns, 'users') <= 250, 'in turns of at most 250 users');
});

t.test('the files start-up refuses are refused the same in turns', async (t) => {
  const cases: Array<[string, string]> = [
    ['not JSON', '{"users": [ {"accessKey": "x", }'],
    ['a repeated name', '{"users": [], "users": []}'],
    ['a repeated name inside a user', '{"users": [{"accessKey": "abc", "accessKey": "abd", "secretKey": "12345678", "policies": ["readonly"]}]}'],
    ['an unknown field', '{"users": [], "roles": {}}'],
    ['a list', '[]'],
    ['a repeated name in a file that is not JSON', '{"users": [], "users": [}'],
  ];
  for (const [what, text] of cases) {
    const file = join(dir, 'small.json');
    writeFileSync(file, text, { mode: 0o600 });
    let atStart = '';
    try {
      loadUsers(file, ROOT);
    } catch (err) {
      atStart = (err as Error).message;
    }
    const inTurns = await loadUsersInTurns(file, ROOT).then(
      () => 'accepted',
      (err: unknown) => (err as Error).message,
    );
    t.ok(atStart !== '', `${what}: refused at start-up`);
    t.equal(inTurns, atStart, `${what}: ${atStart}`);
  }
  const missing = await loadUsersInTurns(join(dir, 'missing.json'), ROOT).then(
    () => 'accepted',
    (err: unknown) => (err as Error).message,
  );
  t.match(missing, /missing\.json: cannot be read \(ENOENT\)/, 'a missing file');
});

t.test('stopped (the daemon stops): the load ends at its next turn', async (t) => {
  const file = bigFile();
  const work = newUsersFileWork();
  let asked = 0;
  const err = await loadUsersInTurns(file, ROOT, { work, stopped: () => ++asked > 3 }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  t.equal(err?.name, 'AbortError', 'rejects with an AbortError');
  t.equal(asked, 4, 'after the turn it was asked in');
  t.equal(work.users, 0, 'no user gone through');
});

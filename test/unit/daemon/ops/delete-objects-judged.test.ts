// A user's DeleteObjects judges each key against the user's policies and the bucket's: 1,000 keys
// under policies of 20 statements with conditions and wildcards held the event loop ~25-50 ms in
// one stretch (every other request waiting). They are judged 100 to a turn of the event loop now,
// with the same answers; the root user's keys, judged by no policy, in one go. Over a real
// MetaStore, through the handler: the turns counted are those before the handler asks the store to
// delete (its commit turns the loop as it waits), the body small enough not to go to the parsing thread.
import t, { type Test } from 'tap';
import { handleDeleteObjects } from '../../../../daemon/ops/delete-objects.js';
import { parseIdentityPolicy } from '../../../../daemon/auth/bucket-policy.js';
import type { User } from '../../../../daemon/auth/users.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext } from '../../../../daemon/ops/types.js';
import { RECORD_VERSION } from '../../../../daemon/meta/records.js';
import { openStore } from '../../../helpers/meta-versions.js';
import { turnsDuring } from '../../../helpers/wait.js';

const ROOT = 'root';
const KEYS = 1000;

// 20 statements, each with conditions and wildcards: keys under dir<i>/ may go, dir0/ may not.
const statements = Array.from({ length: 20 }, (_, i) => ({
  Effect: i === 0 ? 'Deny' : 'Allow',
  Action: ['s3:DeleteObject*', 's3:Get*'],
  Resource: [`arn:aws:s3:::b/dir${i}/*`, `arn:aws:s3:::b/*/x${i}*`],
  Condition: { StringLike: { 'aws:UserAgent': ['*agent*', 'boto*'] }, IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '127.0.0.0/8'] } },
}));
const user: User = { accessKey: 'app', secretKey: 'secret', policyNames: ['p'], policies: [parseIdentityPolicy({ Version: '2012-10-17', Statement: statements }, true)] };

const keyOf = (i: number): string => `dir${i % 20}/k${i}`;
const document = (): Buffer => Buffer.from(`<Delete><Quiet>true</Quiet>${Array.from({ length: KEYS }, (_, i) => `<Object><Key>${keyOf(i)}</Key></Object>`).join('')}</Delete>`);

function ctx(accessKey: string): RequestContext {
  const body = document();
  return {
    bucket: 'b',
    query: new URLSearchParams('delete'),
    headers: { 'user-agent': 'my-agent/1.0' },
    remoteAddress: '127.0.0.1',
    accessKey,
    secure: false,
    body: { readAll: () => Promise.resolve(body) },
  } as unknown as RequestContext;
}

/** The turns of the event loop counted so far (turnsDuring's), and when the handler asked for the deletes. */
let turnsSoFar = (): number => 0;
let turnsBeforeCommit: number | undefined;

async function setup(t: Test): Promise<OpsEnv> {
  const store = openStore(t);
  // The real store, which notes when the handler first asked it to delete: where a commit of the
  // keys ends (deleteCommitEnd looks at their records, 100 to a turn), or the commit itself.
  const m = new Proxy(store, {
    get(target, name) {
      const v = Reflect.get(target, name, target) as unknown;
      if (name === 'deleteObjects' || name === 'deleteCommitEnd') turnsBeforeCommit ??= turnsSoFar();
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  await m.createBucket('b');
  await Promise.all(Array.from({ length: KEYS }, (_, i) => m.putObject('b', keyOf(i), { v: RECORD_VERSION, size: 0, etag: 'e', mtime: 1, headers: {}, userMeta: {}, stored: 0, data: { inline: new Uint8Array(0) } })));
  return { meta: m, config: { rootUser: ROOT, tls: null, region: 'us-east-1' }, users: () => new Map([[user.accessKey, user]]) } as unknown as OpsEnv;
}

/** Runs `f`, counting the turns of the event loop meanwhile (turnsSoFar). */
function counted<T>(f: () => Promise<T>): Promise<{ result: T }> {
  turnsBeforeCommit = undefined;
  return turnsDuring((soFar) => {
    turnsSoFar = soFar;
    return f();
  });
}

t.test("a user's 1,000 keys: judged while the event loop turns; the same answers", async (t) => {
  const env = await setup(t);
  const { result } = await counted(() => handleDeleteObjects(env, ctx(user.accessKey)));
  t.ok(turnsBeforeCommit! >= 9, `the event loop turned ${turnsBeforeCommit} times while the keys were judged`);
  const body = String(result.body);
  t.equal(body.match(/<Error>/g)?.length, KEYS / 20, 'the keys under dir0/ refused');
  t.match(body, /<Error><Key>dir0\/k0<\/Key><Code>AccessDenied<\/Code>/);
  for (let i = 0; i < KEYS; i++) {
    if ((env.meta.getObject('b', keyOf(i)) !== undefined) !== (i % 20 === 0)) t.fail(`key ${keyOf(i)}`);
  }
});

t.test("the root user's keys: judged by no policy, in one go", async (t) => {
  const env = await setup(t);
  await counted(() => handleDeleteObjects(env, ctx(ROOT)));
  t.equal(turnsBeforeCommit, 0, 'no turn before the commit');
  t.equal(env.meta.getObject('b', keyOf(0)), undefined, 'every key deleted');
});

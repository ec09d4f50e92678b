// A PutBucketLifecycleConfiguration of 1,000 rules validates them RULES_PER_TURN (100) to a turn
// of the event loop: all 1,000 were validated in one turn, ~10-40 ms on a loaded 2-core VM, every
// other request waiting (the document itself is parsed on the parsing thread). Counted here on a
// real store, through the handler, by the rules validated in each turn; the rules stored, and the
// first rule refused, are those of a validation in one go.
import t from 'tap';
import { handlePutBucketLifecycle, lifecycleCounters, parseLifecycle } from '../../../../daemon/ops/lifecycle.js';
import type { OpsEnv } from '../../../../daemon/ops/env.js';
import type { RequestContext } from '../../../../daemon/ops/types.js';
import { S3Error } from '../../../../daemon/errors.js';
import { openStore } from '../../../helpers/meta-versions.js';
import { countByTurn } from '../../../helpers/turns.js';

const rule = (i: number, id = `rule-${i}`): string =>
  `<Rule><ID>${id}</ID><Filter><And><Prefix>p/${i}/</Prefix><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value>v2</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`;
const doc = (rules: string[]): Buffer => Buffer.from(`<LifecycleConfiguration>${rules.join('')}</LifecycleConfiguration>`);
const ctx = (body: Buffer): RequestContext => ({ bucket: 'b', query: new URLSearchParams('lifecycle'), headers: {}, accessKey: 'root', secure: false, body: { readAll: () => Promise.resolve(body) } }) as unknown as RequestContext;

t.test('1,000 rules: at most 100 validated a turn; stored as a validation in one go gives them', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const body = doc(Array.from({ length: 1000 }, (_, i) => rule(i)));
  const env = { meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv;
  const { turns, result } = await countByTurn(() => lifecycleCounters.rulesParsed, () => handlePutBucketLifecycle(env, ctx(body)));
  t.equal(result.status, 200);
  t.equal(turns.reduce((a, b) => a + b), 1000, 'every rule validated once');
  const most = turns.reduce((a, b) => Math.max(a, b), 0);
  t.ok(most <= 100, `at most 100 rules validated a turn (most: ${most})`);
  t.strictSame(m.getBucket('b')?.lifecycle, parseLifecycle(body), 'the rules stored');
});

t.test('a rule refused late, or an ID named twice: the same error as in one go; nothing stored', async (t) => {
  const m = openStore(t);
  await m.createBucket('b');
  const env = { meta: m, config: { rootUser: 'root', region: 'us-east-1' } } as unknown as OpsEnv;
  const bad = Array.from({ length: 1000 }, (_, i) => rule(i));
  bad[950] = rule(950).replace('<Days>30</Days>', '<Days>0</Days>');
  const twice = Array.from({ length: 1000 }, (_, i) => rule(i, i === 999 ? 'rule-3' : undefined));
  for (const [what, rules] of [['Days 0 in rule 951', bad], ['rule 1000 naming rule 4\u2019s ID', twice]] as const) {
    const oneGo = ((): S3Error => {
      try {
        parseLifecycle(doc(rules));
      } catch (err) {
        return err as S3Error;
      }
      throw new Error('taken');
    })();
    const err = await handlePutBucketLifecycle(env, ctx(doc(rules))).then(() => undefined, (e: unknown) => e as S3Error);
    t.equal(err?.code, oneGo.code, `${what}: ${oneGo.code}`);
    t.equal(err?.message, oneGo.message, `${what}: in the same words`);
  }
  t.equal(m.getBucket('b')?.lifecycle, undefined, 'no configuration stored');
});

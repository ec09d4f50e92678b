// auth/json-keys.ts outlineJson and parseJsonInSteps: a JSON text parsed in steps (each value two
// levels down on its own, then the text around them) gives what JSON.parse(text) gives, the same
// value with its members in the same order and __proto__ an own member, or throws the same error;
// for hand-picked texts and seeded random edits of them, taken in steps as small as they go.

import t from 'tap';
import { inOneGo, outlineJson, parseJsonInSteps, repeatedJsonKey } from '../../../../daemon/auth/json-keys.js';
import { prng } from '../../../helpers/daemon.js';

/** JSON.parse's answer, or the steps': a value as JSON.stringify writes it (order included), its prototypes, or the error. */
function answer(parse: () => unknown): string {
  try {
    const v = parse();
    return `value ${JSON.stringify(v)} ${shapes(v)}`;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

/** Own keys and prototypes down the tree: JSON.stringify would not tell a __proto__ member from a prototype. */
function shapes(v: unknown): string {
  if (typeof v !== 'object' || v === null) return '';
  const kind = Array.isArray(v) ? 'A' : Object.getPrototypeOf(v) === Object.prototype ? 'O' : 'X';
  return `${kind}(${Reflect.ownKeys(v)
    .map((k) => `${String(k)}:${shapes((v as Record<string, unknown>)[k as string])}`)
    .join(',')})`;
}

function stepped(text: string, tokens: number, chars: number): unknown {
  const outline = inOneGo(outlineJson(text, tokens));
  return inOneGo(parseJsonInSteps(text, outline, chars));
}

const CASES = [
  '{"policies": {"a": {"Statement": [1, "x"]}, "b": [], "c": 5}, "users": [{"accessKey": "k"}, [1, [2]], "s", -1.5e3, true, null]}',
  '{"policies": {"__proto__": {"x": 1}, "2": "two", "1": "one", "b": {}}, "users": []}',
  '{"users": [{"__proto__": []}], "__proto__": {"a": 1}}',
  '[[1, 2, {"a": [3]}], [], {"k": "v"}, 7]',
  '{"a": "]},{\\"[", "b": {"c": "\\u005d\\"", "d": "}"}}',
  '"just a string"',
  '42',
  '{}',
  '[]',
  ' \n{ "a" : { "b" : [ 1 , 2 ] } , "c" : [ { } , [ ] ] } \n',
  '\ufeff{"a": {"b": 1}}',
  '{"a": {"b": 1}} x',
  '{"a": {"b": 1,}}',
  '{"a": {"b": [1,]}}',
  '{"a": {"b": /* c */ 1}}',
  '{"a": {"b": 1 // c\n}}',
  '{"a": {"b": NaN}}',
  '{"a": {"b": undefined}}',
  "{'a': {'b': 1}}",
  '{"a": {"b": 01}}',
  '{"a": {"b": "tab\there"}}',
  '{"a": {"b": [1, 2}}',
  '{"a": {"b": {"c": 1]}}',
  '{"a": {"b": 1}',
  '{"a": {"b": 1}}}',
  '{"a": [1 2]}',
  '{"a": {"b" 1}}',
  '{"a": {"b": 1, "b": 2}}',
  '{"a": 1, "a": {"b": 2}}',
  '{"a": ["unterminated}}',
  '',
  '{"a": {"b": "\\x"}}',
  '{"a": [-]}',
  '{"a": [1e]}',
];

t.test('the steps give what JSON.parse gives, or throw what it throws', async (t) => {
  for (const text of CASES) {
    const whole = answer(() => JSON.parse(text));
    const sizes = [[1, 1], [2, 3], [Infinity, Infinity]] as const;
    t.same(sizes.map(([tokens, chars]) => answer(() => stepped(text, tokens, chars))), sizes.map(() => whole), `${JSON.stringify(text)}: ${whole.slice(0, 60)}`);
  }
});

t.test('seeded random edits of JSON texts: the steps agree with JSON.parse', async (t) => {
  const seeded = prng(0x5eed_7135);
  const rnd = (): number => seeded.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const pieces = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '1', '-', 'e', 'null', '"__proto__"', '"a"', '/*', '*/', '\n', '\u2028', 'tru'];
  const valid = CASES.filter((c) => {
    try {
      JSON.parse(c);
      return true;
    } catch {
      return false;
    }
  });
  let disagreements = 0;
  let parsed = 0;
  for (let n = 0; n < 3000; n++) {
    let text = pick(valid);
    for (let edits = 1 + Math.floor(rnd() * 3); edits > 0; edits--) {
      const at = Math.floor(rnd() * (text.length + 1));
      const cut = rnd() < 0.5 ? Math.floor(rnd() * 3) : 0;
      text = text.slice(0, at) + (rnd() < 0.8 ? pick(pieces) : '') + text.slice(at + cut);
    }
    const whole = answer(() => JSON.parse(text));
    if (whole.startsWith('value')) parsed++;
    const tokens = 1 + Math.floor(rnd() * 4);
    const got = answer(() => stepped(text, tokens, 1 + Math.floor(rnd() * 8)));
    if (got !== whole && disagreements++ < 5) t.fail(`${JSON.stringify(text)}: ${got}, JSON.parse: ${whole}`);
  }
  t.equal(disagreements, 0, '3,000 texts, none where the steps and JSON.parse disagree');
  t.ok(parsed > 300, `some of them JSON (${parsed})`);
});

t.test('outlineJson: a step is at most so many tokens; the repeated name it finds is repeatedJsonKey\u2019s', async (t) => {
  const text = JSON.stringify({ users: Array.from({ length: 1000 }, (_, i) => ({ accessKey: `u${i}`, policies: ['a', 'b'] })) });
  const stepsOf = (tokensPerStep: number): number => {
    const steps = outlineJson(text, tokensPerStep);
    let n = 0;
    for (let s = steps.next(); s.done !== true; s = steps.next()) n++;
    return n;
  };
  // Steps of one token: a step before each (14 a user: {"accessKey":"u1","policies":["a","b"]} and a comma).
  const tokens = stepsOf(1);
  t.ok(tokens > 14_000 && tokens < 14_010, `${tokens} tokens`);
  t.equal(stepsOf(100), Math.floor(tokens / 100), 'steps of 100 tokens');
  const repeated = '{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}';
  t.same(inOneGo(outlineJson(repeated, 1)).repeated, { key: 'Effect', path: 'Statement[0]' });
  t.same(repeatedJsonKey(repeated), { key: 'Effect', path: 'Statement[0]' });
});

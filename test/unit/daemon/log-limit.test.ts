// log-limit.ts on its own, on stepped clocks: a line at most once per interval with the count of
// occurrences it stands for, a line logged later (the count taken then), a line told from a
// timer so no occurrence goes untold, hit(tell)'s held-back count told when the interval is up or at
// flush(), reset() when the condition ended, and the keyed form's
// bound on the keys it remembers. The default clock is the monotonic one: a wall clock stepped
// either way changes nothing. The summarizing form: a burst in full per kind and interval, the rest
// told in one line when the interval ends or at flush(), kinds apart.
import t from 'tap';
import { KeyedLogLimit, KeyedLogSummary, LogLimit } from '../../../daemon/log-limit.js';
import { monotonicClock, wallClock } from '../../helpers/stepped-clock.js';

const HOUR = 3_600_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('the first occurrence is logged, then at most one per interval, each line with its count', async (t) => {
  const clock = monotonicClock(t);
  const l = new LogLimit(60_000);
  t.ok(l.hit(), 'the first');
  t.equal(l.take(), 1, 'it stands for itself');
  t.notOk(l.hit(), 'one at once after it: held back');
  // The stepped clock runs on in real time too: a margin for a slow machine.
  clock.advance(59_000);
  t.notOk(l.hit(), 'one inside the interval: held back');
  clock.advance(1_000);
  t.ok(l.hit(), 'the interval is up');
  t.equal(l.take(), 3, 'the line counts the two held back and itself');
  t.equal(l.take(), 0, 'taken once');
  clock.advance(30_000);
  t.notOk(l.hit(), 'the interval runs from the last line logged');
});

t.test('a line logged later takes its count then: occurrences meanwhile are in it, not the next', async (t) => {
  monotonicClock(t);
  const l = new LogLimit(60_000);
  t.ok(l.hit());
  t.notOk(l.hit(), 'a second while the first line waits for its figures: held back');
  t.equal(l.take(), 2, 'the line, written now, tells both');
});

t.test('an injected clock is the one read', async (t) => {
  let now = 0;
  const l = new LogLimit(1_000, () => now);
  t.ok(l.hit());
  t.notOk(l.hit());
  now = 999;
  t.notOk(l.due());
  now = 1_000;
  t.ok(l.due());
  t.ok(l.hit());
});

t.test('the wall clock stepped back or forward changes nothing', async (t) => {
  const wall = wallClock(t);
  const clock = monotonicClock(t);
  const l = new LogLimit(60_000);
  t.ok(l.hit());
  wall.step(HOUR);
  t.notOk(l.hit(), 'a wall clock an hour ahead lets no line through early');
  wall.step(-2 * HOUR);
  clock.advance(60_000);
  t.ok(l.hit(), 'one an hour behind keeps none back once the interval is up');
});

t.test('reset(): the condition ended, the next occurrence is logged at once, counted afresh', async (t) => {
  monotonicClock(t);
  const l = new LogLimit(60_000);
  t.ok(l.hit());
  t.notOk(l.hit());
  l.reset();
  t.ok(l.hit(), 'logged at once');
  t.equal(l.take(), 1, 'what was held back before the reset is not told');
});

t.test('later(): told after the current turn, then once the interval is up, none untold', async (t) => {
  const clock = monotonicClock(t);
  const l = new LogLimit(60_000);
  const told: number[] = [];
  for (let i = 0; i < 3; i++) l.later((n) => told.push(n));
  t.same(told, [], 'not within the turn');
  await sleep(20);
  t.same(told, [3], 'the burst in one line');
  clock.advance(59_000);
  l.later((n) => told.push(n));
  l.later((n) => told.push(n));
  await sleep(10);
  t.same(told, [3], 'held until the interval is up');
  t.notOk(l.due(), 'no line may be logged meanwhile');
  for (let i = 0; i < 100 && told.length < 2; i++) await sleep(50);
  t.same(told, [3, 2], 'then the two in one line');
  t.notOk(l.due(), 'the interval starts again at that line');
  l.later((n) => told.push(n));
  l.flush();
  t.same(told, [3, 2, 1], 'one held at shutdown: told by flush()');
  await sleep(20);
  t.same(told, [3, 2, 1], 'and not again by its timer');
});

t.test('hit(tell): what was held back is told when the interval is up, with no further occurrence, or at flush()', async (t) => {
  const l = new LogLimit(300);
  const told: Array<[string, number]> = [];
  const tell = (who: string) => (n: number) => told.push([who, n]);
  t.ok(l.hit(tell('first')), 'the first: logged by the caller');
  t.equal(l.take(), 1);
  t.notOk(l.hit(tell('second')));
  t.notOk(l.hit(tell('third')));
  await sleep(100);
  t.same(told, [], 'nothing told inside the interval');
  for (let i = 0; i < 100 && told.length === 0; i++) await sleep(10);
  t.same(told, [['third', 2]], 'told when the interval ended, by the latest held back');
  t.notOk(l.due(), 'that line starts the interval again');
  t.notOk(l.hit(tell('fourth')));
  l.flush();
  t.same(told, [['third', 2], ['fourth', 1]], 'flush (shutdown) tells it now');
  await sleep(400);
  t.equal(told.length, 2, 'and its timer tells nothing twice');
  l.flush();
  t.equal(told.length, 2, 'a flush with nothing held back writes nothing');
});

t.test('hit(tell): a count the caller took itself is not told again; a line logged at once cancels the timer', async (t) => {
  let now = 0;
  const l = new LogLimit(1_000, () => now);
  const told: number[] = [];
  t.ok(l.hit((n) => told.push(n)));
  t.notOk(l.hit((n) => told.push(n)), 'held back while the first line waits for its figures');
  t.equal(l.take(), 2, 'the first line, written later, takes both');
  l.flush();
  t.same(told, [], 'nothing left to tell');
  t.notOk(l.hit((n) => told.push(n)));
  now = 1_000;
  t.ok(l.hit((n) => told.push(n)), 'the interval up before its timer ran: logged at once');
  t.equal(l.take(), 2);
  l.flush();
  t.same(told, [], 'the timer it replaced tells nothing');
});

t.test('keyed: flush() tells every key held back; keys forgotten at the bound are told first', async (t) => {
  const told: string[] = [];
  const k = new KeyedLogLimit(60_000, { maxKeys: 2 });
  for (const key of ['a', 'b']) {
    t.ok(k.hit(key, (n) => told.push(`${key}:${n}`)));
    k.take(key);
    t.notOk(k.hit(key, (n) => told.push(`${key}:${n}`)));
  }
  t.ok(k.hit('c'), 'a third key at the bound');
  t.same(told.sort(), ['a:1', 'b:1'], 'the forgotten keys told their counts');
  t.notOk(k.hit('c', (n) => told.push(`c:${n}`)));
  k.flush();
  t.same(told, ['a:1', 'b:1', 'c:2'], 'flush tells c: its first (never taken) and the one held back');
});

t.test('keyed: each key its own interval and count', async (t) => {
  const clock = monotonicClock(t);
  const k = new KeyedLogLimit(10_000, { maxKeys: 100 });
  t.ok(k.hit('a'));
  t.ok(k.hit('b'), 'another key is not held back by the first');
  t.notOk(k.hit('a'));
  t.notOk(k.hit('a'));
  t.equal(k.take('b'), 1);
  clock.advance(10_000);
  t.ok(k.hit('a'));
  t.equal(k.take('a'), 4, 'a\'s line tells its three and itself');
  t.equal(k.take('never'), 0, 'a key never seen');
  t.equal(k.size, 2);
});

t.test('keyed: keys are bounded; at the bound all but the key logging are forgotten', async (t) => {
  const clock = monotonicClock(t);
  const k = new KeyedLogLimit(10_000, { maxKeys: 3 });
  for (const key of ['a', 'b', 'c']) t.ok(k.hit(key));
  t.equal(k.size, 3);
  t.notOk(k.hit('a'), 'a held back');
  t.ok(k.hit('d'), 'a new key at the bound is logged');
  t.equal(k.size, 1, 'the others forgotten');
  t.ok(k.hit('a'), 'a forgotten key logs once more, early');
  t.notOk(k.hit('d'), 'd remembered');
  for (let i = 0; i < 10_000; i++) k.hit(`client-key-${i}`);
  t.ok(k.size <= 3, `${k.size} keys after 10000 distinct ones`);
  // A key due again with the map full counts as logging: the others are forgotten (as
  // http/error-answer.ts did), the key keeps what it had held back.
  const j = new KeyedLogLimit(10_000, { maxKeys: 2 });
  t.ok(j.hit('x'));
  t.notOk(j.hit('x'));
  t.ok(j.hit('y'));
  clock.advance(10_000);
  t.ok(j.hit('x'));
  t.equal(j.size, 1);
  t.equal(j.take('x'), 3);
});

t.test('KeyedLogSummary: a burst in full, the rest counted and told once the interval is up', async (t) => {
  let now = 0;
  const told: Array<[string, number, number]> = [];
  const s = new KeyedLogSummary<string>(1_000, { burst: 2, maxKeys: 10, now: () => now, summarize: (c, n, ms) => told.push([c, n, ms]) });
  t.ok(s.hit('EIO read GetObject', 'eio'), 'the first: in full');
  t.ok(s.hit('EIO read GetObject', 'eio'), 'the second: in full');
  for (let i = 0; i < 100; i++) if (s.hit('EIO read GetObject', 'eio')) t.fail('a third in full');
  t.ok(s.hit('ENOENT open GetObject', 'enoent'), 'another kind is not merged: its first in full');
  t.same(told, [], 'nothing told inside the interval');
  now = 1_000;
  t.ok(s.hit('EIO read GetObject', 'eio'), 'the interval up (its timer not run yet): the next in full');
  t.same(told, [['eio', 100, 1_000]], 'after the summary of the 100 held back, told first');
  t.ok(s.hit('ENOENT open GetObject', 'enoent'), 'the other kind, its interval up: in full');
  t.equal(told.length, 1, 'a kind with nothing held back writes no summary');
});

t.test('KeyedLogSummary: the summary is written by a timer at the interval’s end, and flush() tells the rest', async (t) => {
  const told: Array<[string, number]> = [];
  // The hits read a clock that stands still, so a turn stalled past the interval on a loaded box
  // (CI, 2026-12-07: the second hit began a new interval) cannot end it early; the timer is real.
  const s = new KeyedLogSummary<string>(100, { burst: 1, maxKeys: 10, now: () => 0, summarize: (c, n) => told.push([c, n]) });
  t.ok(s.hit('a', 'a'));
  t.notOk(s.hit('a', 'a'));
  t.notOk(s.hit('a', 'a'));
  await sleep(250);
  t.same(told, [['a', 2]], 'told when the interval ended, with no further occurrence');
  t.ok(s.hit('a', 'a'), 'the next: in full again');
  t.notOk(s.hit('a', 'a'));
  t.ok(s.hit('b', 'b'));
  t.notOk(s.hit('b', 'b'));
  t.notOk(s.hit('b', 'b'));
  s.flush();
  t.same(told, [['a', 2], ['a', 1], ['b', 2]], 'flush (shutdown) tells every pending count');
  t.equal(s.size, 0, 'and forgets the kinds');
  await sleep(150);
  t.equal(told.length, 3, 'no timer tells them twice');
});

t.test('KeyedLogSummary: at most maxKeys kinds, pending counts told before they are forgotten', async (t) => {
  let now = 0;
  const told: string[] = [];
  const s = new KeyedLogSummary<string>(60_000, { burst: 1, maxKeys: 3, now: () => now, summarize: (c, n) => told.push(`${c}:${n}`) });
  for (const k of ['a', 'b', 'c']) {
    s.hit(k, k);
    s.hit(k, k);
  }
  t.equal(s.size, 3);
  now = 1;
  t.ok(s.hit('d', 'd'), 'a fourth kind: in full');
  t.same(told.sort(), ['a:1', 'b:1', 'c:1'], 'the others’ counts told, not lost');
  t.equal(s.size, 1, 'the bound kept');
  s.flush();
});

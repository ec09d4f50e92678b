// daemon/schedule.ts every(): an interval longer than a Node timer holds is waited out in steps,
// not cut to 1 ms (prod-long-intervals.test.ts has the daemon's side: 30-day intervals).

import t from 'tap';
import { every } from '../../../daemon/schedule.js';
import { pollUntil, sleep } from '../../helpers/wait.js';

t.test('an interval longer than one step fires once per interval, after all its steps', async (t) => {
  const fired: number[] = [];
  const start = Date.now();
  // Steps of 40 ms, interval 100 ms: 40 + 40 + 20 ms per run (timers may fire late, never early).
  const timer = every(100, () => fired.push(Date.now() - start), 40);
  await pollUntil(() => fired.length, (n) => n >= 2, 5000, 10);
  timer.clear();
  t.ok(fired[0]! >= 99, `the first after the whole interval, not after one step (${fired[0]} ms)`);
  t.ok(fired[1]! - fired[0]! >= 99, `the second a whole interval later (${fired[1]! - fired[0]!} ms)`);
  const n = fired.length;
  await sleep(250);
  t.equal(fired.length, n, 'none after clear()');
});

t.test('clear() from inside the callback ends a long interval', async (t) => {
  let n = 0;
  const timer = every(30, () => {
    n++;
    timer.clear();
  }, 10);
  await sleep(150);
  t.equal(n, 1);
});

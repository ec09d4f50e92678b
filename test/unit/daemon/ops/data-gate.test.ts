// DataGate: at most `limit` requests hold a place; the rest wait in order, give up with 503
// SlowDown after waitMs or when their request is aborted; a lease (one request) enters once
// however many of its streams enter, so a copy never waits for itself.
import t from 'tap';
import { DataGate } from '../../../../daemon/ops/data-gate.js';
import { isS3Error } from '../../../../daemon/errors.js';

const settled = async (p: Promise<unknown>): Promise<string> => {
  const r = await Promise.race([p.then(() => 'granted', (e: unknown) => (isS3Error(e) ? e.code : 'aborted')), new Promise((r) => setTimeout(() => r('pending'), 30))]);
  return r as string;
};

t.test('places up to the limit, then waiting in order; leaving hands the place on', async (t) => {
  const gate = new DataGate(2, 10_000);
  const [a, b, c, d] = [gate.lease(), gate.lease(), gate.lease(), gate.lease()];
  await a.enter();
  await b.enter();
  t.equal(gate.inUse, 2);
  const cIn = c.enter();
  const dIn = d.enter();
  t.equal(await settled(cIn), 'pending', 'the third waits');
  t.equal(gate.waiting, 2);
  a.leave();
  t.equal(await settled(cIn), 'granted', 'the first waiter gets the freed place');
  t.equal(await settled(dIn), 'pending', 'the next one still waits');
  t.equal(gate.inUse, 2, 'handed on, not freed');
  b.leave();
  t.equal(await settled(dIn), 'granted');
  c.leave();
  d.leave();
  t.equal(gate.inUse, 0, 'all places free again');
  d.leave();
  t.equal(gate.inUse, 0, 'leaving twice frees nothing more');
});

t.test('a lease enters once for all of its streams (a copy reads and writes on one place)', async (t) => {
  const gate = new DataGate(1, 10_000);
  const copy = gate.lease();
  await copy.enter();
  t.equal(await settled(copy.enter()), 'granted', 'the second stream of the same request does not wait');
  t.equal(gate.inUse, 1);
  const other = gate.lease();
  const otherIn = other.enter();
  copy.leave();
  t.equal(await settled(otherIn), 'pending', 'the place is held until the request\u2019s last stream leaves');
  copy.leave();
  t.equal(await settled(otherIn), 'granted');
  other.leave();
});

t.test('waiting too long is 503 SlowDown and counted; an aborted request stops waiting', async (t) => {
  const gate = new DataGate(1, 50);
  const holder = gate.lease();
  await holder.enter();
  const late = gate.lease();
  await t.rejects(late.enter(), { code: 'SlowDown', status: 503 }, 'SlowDown after waitMs');
  t.equal(gate.refused, 1);
  t.equal(gate.waiting, 0, 'the refused request no longer waits');
  const ac = new AbortController();
  const gone = gate.lease().enter(ac.signal);
  ac.abort(new Error('client went away'));
  await t.rejects(gone, /client went away/, 'an abort ends the wait');
  t.equal(gate.waiting, 0);
  holder.leave();
  t.equal(gate.inUse, 0, 'nobody was handed a place that is not there');
  const again = gate.lease();
  await again.enter();
  t.equal(gate.inUse, 1, 'the place is usable again');
  again.leave();
});

t.test('limit 0: no limit', async (t) => {
  const gate = new DataGate(0, 10);
  const leases = Array.from({ length: 100 }, () => gate.lease());
  await Promise.all(leases.map((l) => l.enter()));
  t.equal(gate.waiting, 0);
  for (const l of leases) l.leave();
});

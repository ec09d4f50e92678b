// DataGate: at most `limit` requests hold a place; the rest wait in order, give up with 503
// SlowDown after waitMs or when their request is aborted; a lease (one request) enters once
// however many of its streams enter, so a copy never waits for itself. A parked read gives its
// place back, takes one again ahead of the waiters and restarts where it stopped.
import t from 'tap';
import { DataGate, PARKED_PER_PLACE, parkable } from '../../../../daemon/ops/data-gate.js';
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
  // s3d_data_requests_in_flight: the requests moving data now, limit or not (it read 0).
  t.equal(gate.inUse, 100, 'each request in flight is counted');
  for (const l of leases) l.leave();
  t.equal(gate.inUse, 0, 'and 0 once they are done');
  leases[0]!.leave();
  t.equal(gate.inUse, 0, 'leaving twice frees nothing more');
});

/** A read of `total` bytes in chunks of `size` from `offset`, recording where each (re)start began and whether it was stopped. */
function source(total: number, size: number, log: string[]): (offset: number, slow: boolean) => AsyncGenerator<Buffer> {
  return async function* (offset, slow) {
    log.push(`read from ${offset}${slow ? ' slow' : ''}`);
    try {
      for (let p = offset; p < total; p += size) yield Buffer.alloc(Math.min(size, total - p), p / size);
    } finally {
      log.push('stopped');
    }
  };
}

t.test('a parked read gives its place back, resumes ahead of the waiters where it stopped, cleans up once', async (t) => {
  const gate = new DataGate(1, 10_000);
  const lease = gate.lease();
  await lease.enter();
  const log: string[] = [];
  let cleanups = 0;
  const chunks = parkable(lease, source(10, 4, log), async () => {
    cleanups++;
    lease.leave();
  });
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  t.same(first.value, Buffer.alloc(4, 0));
  let copied = false;
  t.ok(chunks.park(() => (copied = true)), 'parked');
  t.ok(copied, 'the caller copied its chunk first');
  t.notOk(chunks.park(() => t.fail('not twice')), 'a parked read does not park again');
  t.equal(gate.parked, 1);
  await new Promise((r) => setTimeout(r, 10));
  t.equal(gate.inUse, 0, 'its place is free');
  // Another request takes the place; a third waits for one.
  const other = gate.lease();
  await other.enter();
  const third = gate.lease();
  const thirdIn = third.enter();
  const resumed = it.next();
  t.equal(await settled(resumed), 'pending', 'resuming waits for a place');
  t.equal(gate.waiting, 2);
  other.leave();
  t.same((await resumed).value, Buffer.alloc(4, 1), 'the read goes on where it stopped');
  t.equal(await settled(thirdIn), 'pending', 'it got the place ahead of the request that was waiting before it');
  t.same(log, ['read from 0', 'stopped', 'read from 4 slow']);
  t.equal(gate.parked, 0);
  t.same((await it.next()).value, Buffer.alloc(2, 2));
  t.ok((await it.next()).done);
  await it.return!();
  t.equal(cleanups, 1, 'cleanup ran once');
  t.equal(await settled(thirdIn), 'granted', 'the place went on at the end');
  third.leave();
  t.equal(gate.inUse, 0);
});

t.test('parking is bounded, needs a limit, and a read ended while parked leaves no trace', async (t) => {
  const unlimited = new DataGate(0, 10).lease();
  await unlimited.enter();
  t.notOk(parkable(unlimited, source(8, 4, []), async () => {}).park(() => t.fail('no copy')), 'without a limit there is nothing to give back');
  const copy = new DataGate(1, 10).lease();
  await copy.enter();
  await copy.enter();
  t.notOk(copy.park(), 'a request running two streams (a copy) does not park');
  const gate = new DataGate(1, 10_000);
  const reads = [];
  for (let i = 0; i < PARKED_PER_PLACE + 1; i++) {
    const lease = gate.lease();
    await lease.enter();
    const chunks = parkable(lease, source(8, 4, []), async () => lease.leave());
    const it = chunks[Symbol.asyncIterator]();
    await it.next();
    reads.push({ parked: chunks.park(() => {}), it });
    await new Promise((r) => setTimeout(r, 5));
  }
  t.same(reads.map((r) => r.parked), [...Array(PARKED_PER_PLACE).fill(true), false], `at most ${PARKED_PER_PLACE} parked per place`);
  t.equal(gate.parked, PARKED_PER_PLACE);
  t.equal(gate.inUse, 1, 'the one not parked holds its place');
  for (const r of reads) await r.it.return!();
  t.equal(gate.parked, 0, 'reads ended while parked are no longer counted');
  t.equal(gate.inUse, 0, 'and no place is held');
});

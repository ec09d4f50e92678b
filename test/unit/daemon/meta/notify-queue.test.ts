// meta/notify-queue.ts through MetaStore over a real LMDB: events are written inside the mutation's
// own transaction (none when it aborts), come out per target in commit order, survive a reopen
// until acknowledged, and the oldest waiting one is dropped beyond a target's limit; commits a full
// disk refuses leave the counts as they were (on a tmpfs, when it can be mounted).
import t from 'tap';
import { mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '../../../../daemon/meta/store.js';
import { RECORD_VERSION, type ObjectRecord } from '../../../../daemon/meta/records.js';
import { mountTmpfs, tmpfsUnavailable } from '../../../helpers/tmpfs.js';

const obj = (etag = 'e'): ObjectRecord => ({ v: RECORD_VERSION, size: 1, etag, mtime: 1, headers: {}, userMeta: {}, data: { inline: new Uint8Array(1) }, stored: 1 });

function drain(meta: MetaStore, target: string): string[] {
  const out: string[] = [];
  for (let e = meta.notifications.next(target); e !== undefined; e = meta.notifications.next(target)) {
    out.push(e.body);
    meta.notifications.ack(e.key);
  }
  return out;
}

t.test('events commit with their change, in order per target, and survive a reopen until acknowledged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-notify-queue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let meta = new MetaStore(dir);
  const q = meta.notifications;
  t.equal(q.open('A', 100), 0);
  t.equal(q.open('B', 100), 0);
  await meta.createBucket('bkt');
  await meta.putObject('bkt', 'k1', obj(), undefined, () => q.push('A', 'put k1'));
  await meta.putObject('bkt', 'k2', obj(), undefined, () => {
    q.push('A', 'put k2');
    q.push('B', 'put k2');
  });
  await meta.putObject('bkt', 'k3', obj(), () => {
    throw new Error('precondition');
  }, () => q.push('A', 'never')).catch(() => undefined);
  await meta.deleteObject('bkt', 'missing', () => q.push('A', 'delete missing'));
  await meta.deleteObjects('bkt', [{ key: 'k1' }, { key: 'k2' }], () => q.push('A', 'delete k1,k2'));
  t.equal(q.length('A'), 4);
  t.strictSame(q.held(), new Map([['A', 4], ['B', 1]]));

  const first = q.next('A')!;
  t.equal(first.body, 'put k1');
  q.ack(first.key);
  t.equal(q.next('A')!.body, 'put k2', 'the next one is handed out, not yet acknowledged');
  await q.flush();
  await meta.close();

  meta = new MetaStore(dir);
  t.equal(meta.notifications.open('A', 100), 3, 'the acknowledged event is gone, the unacknowledged one is back');
  meta.notifications.open('B', 100);
  t.strictSame(drain(meta, 'A'), ['put k2', 'delete missing', 'delete k1,k2']);
  t.strictSame(drain(meta, 'B'), ['put k2']);
  await meta.putObject('bkt', 'k4', obj(), undefined, () => meta.notifications.push('A', 'put k4'));
  t.strictSame(drain(meta, 'A'), ['put k4'], 'sequence numbers continue after a reopen');
  await meta.notifications.flush();
  t.strictSame(meta.notifications.held(), new Map());
  await meta.close();
});

t.test('lifecycle deletions notify only what was deleted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-notify-queue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const meta = new MetaStore(dir);
  meta.notifications.open('A', 100);
  await meta.createBucket('bkt');
  await meta.putObject('bkt', 'a', obj('1'));
  await meta.putObject('bkt', 'b', obj('2'));
  let seen: boolean[] | undefined;
  const keys = ['a', 'b'];
  const n = await meta.deleteObjectsIfUnchanged('bkt', [{ key: 'a', etag: '1', mtime: 1 }, { key: 'b', etag: 'changed', mtime: 1 }], (results) => {
    seen = results.map((r) => r !== undefined);
    results.forEach((r, i) => {
      if (r !== undefined) meta.notifications.push('A', `expired ${keys[i]}`);
    });
  });
  t.equal(n, 1);
  t.strictSame(seen, [true, false], 'the hook learns which keys were deleted, in order');
  t.strictSame(drain(meta, 'A'), ['expired a']);
  await meta.close();
});

t.test('beyond the limit the oldest waiting event is dropped, never the one in flight', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-notify-queue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const meta = new MetaStore(dir);
  const q = meta.notifications;
  q.open('A', 2);
  const drops: string[] = [];
  q.onDrop = (target) => drops.push(target);
  await meta.createBucket('bkt');
  for (const i of [1, 2]) await meta.putObject('bkt', 'k', obj(), undefined, () => q.push('A', `e${i}`));
  const inFlight = q.next('A')!;
  t.equal(inFlight.body, 'e1');
  for (const i of [3, 4, 5]) await meta.putObject('bkt', 'k', obj(), undefined, () => q.push('A', `e${i}`));
  t.equal(q.length('A'), 2);
  t.strictSame(drops, ['A', 'A']);
  t.strictSame(q.totals().get('A'), { queued: 5, dropped: 2 });
  q.ack(inFlight.key);
  t.strictSame(drain(meta, 'A'), ['e4', 'e5']);
  await meta.close();
});

t.test('closing the store writes pending acknowledgements first (no write after close)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-notify-queue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let meta = new MetaStore(dir);
  meta.notifications.open('A', 100);
  await meta.createBucket('bkt');
  await meta.putObject('bkt', 'k', obj(), undefined, () => meta.notifications.push('A', 'e1'));
  const e = meta.notifications.next('A')!;
  meta.notifications.ack(e.key);
  // The acknowledgement waits for its batch timer; close must not leave it to fire afterwards.
  await meta.close();
  await new Promise((resolve) => setTimeout(resolve, 300));
  meta = new MetaStore(dir);
  meta.notifications.open('A', 100);
  t.equal(meta.notifications.next('A'), undefined, 'the acknowledged event was removed before the close');
  await meta.close();
});

t.test('commits a full disk refuses leave the counts as they were: later events are not dropped as over the limit', { skip: tmpfsUnavailable() }, async (t) => {
  const m = mountTmpfs(8 * 1024 * 1024);
  if (typeof m === 'string') throw new Error(m);
  let meta: MetaStore | undefined = new MetaStore(join(m.dir, 'meta'));
  t.teardown(async () => {
    await meta?.close().catch(() => undefined);
    m.unmount();
  });
  const q = meta.notifications;
  q.open('A', 2);
  await meta.createBucket('bkt');
  const ballast = join(m.dir, 'ballast');
  try {
    const st = statfsSync(m.dir);
    writeFileSync(ballast, Buffer.alloc(st.bavail * st.bsize));
  } catch {
    // ENOSPC at the end: the filesystem is full, which is the point.
  }
  const big = (i: number): ObjectRecord => ({ ...obj(), size: 64 * 1024, data: { inline: new Uint8Array(64 * 1024).fill(i) }, stored: 64 * 1024 });
  let refused = 0;
  for (let i = 0; i < 4; i++) {
    await meta.putObject('bkt', `full-${i}`, big(i), undefined, () => q.push('A', `lost ${i}`)).then(
      () => t.fail(`full-${i} committed on a full disk`),
      () => refused++,
    );
  }
  t.equal(refused, 4, 'every commit was refused');
  t.equal(q.length('A'), 0, 'no event of a commit that failed counts as waiting');
  t.strictSame(q.totals().get('A'), { queued: 0, dropped: 0 });
  unlinkSync(ballast);
  for (const i of [1, 2]) await meta.putObject('bkt', `ok-${i}`, obj(), undefined, () => q.push('A', `e${i}`));
  t.strictSame(drain(meta, 'A'), ['e1', 'e2'], 'the events after the failures are delivered, none dropped');
  await meta.close();
  meta = undefined;
});

// EventListeners (notify/listen.ts): who hears what, keep-alives, the per-listener bound, and the
// end of a stream (abort, shutdown), with real timers.
import t from 'tap';
import { EventListeners, MAX_QUEUED } from '../../../../daemon/notify/listen.js';

const ev = (name: string, key: string) => ({ name, key, record: { eventName: name, key } });

async function take(it: AsyncIterator<Buffer>): Promise<string> {
  const r = await it.next();
  return r.done ? '<end>' : r.value.toString();
}

t.test('filters: bucket, prefix/suffix, event wildcards; watching() counts per bucket', async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  t.equal(hub.watching('b'), false, 'nobody listens yet');
  const it = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: 'p/', suffix: '.x' }, ac.signal)![Symbol.asyncIterator]();
  t.equal(await take(it), ' ', 'a keep-alive space at once');
  t.equal(hub.watching('b'), true);
  t.equal(hub.watching('c'), false);
  t.equal(hub.wants('b', 's3:ObjectCreated:Put', 'p/a.x'), true);
  t.equal(hub.wants('b', 's3:ObjectCreated:Put', 'p/a.y'), false, 'suffix');
  t.equal(hub.wants('b', 's3:ObjectCreated:Put', 'q/a.x'), false, 'prefix');
  t.equal(hub.wants('b', 's3:ObjectRemoved:Delete', 'p/a.x'), false, 'event name');
  t.equal(hub.wants('c', 's3:ObjectCreated:Put', 'p/a.x'), false, 'other bucket');
  hub.publish('b', [ev('s3:ObjectCreated:Put', 'p/1.x'), ev('s3:ObjectRemoved:Delete', 'p/2.x'), ev('s3:ObjectCreated:Copy', 'p/3.x')]);
  hub.publish('c', [ev('s3:ObjectCreated:Put', 'p/4.x')]);
  const lines = (await take(it)).split('\n').filter((l) => l !== '');
  t.same(lines.map((l) => (JSON.parse(l) as { Records: Array<{ key: string }> }).Records[0]!.key), ['p/1.x', 'p/3.x'], 'queued events come in one chunk, filtered');
  const all = hub.listen({ bucket: undefined, events: ['s3:ObjectRemoved:*'], prefix: '', suffix: '' }, ac.signal)![Symbol.asyncIterator]();
  await take(all);
  t.equal(hub.watching('zzz'), true, 'a listener of every bucket watches any bucket');
  hub.publish('zzz', [ev('s3:ObjectRemoved:Delete', 'k')]);
  t.match(await take(all), /"key":"k"/);
  ac.abort();
  t.equal(await take(it), '<end>', 'aborted: the stream ends');
  t.equal(await take(all), '<end>');
  t.equal(hub.size, 0, 'both forgotten');
  t.equal(hub.watching('b'), false);
});

t.test('keep-alives: a space every 500 ms, or {"Records":null} every ping seconds', async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const sp = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal)![Symbol.asyncIterator]();
  const pg = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '', pingSeconds: 1 }, ac.signal)![Symbol.asyncIterator]();
  await take(sp);
  t.equal(await take(pg), '{"Records":null}\n', 'with ping the first idle line is the empty record list');
  const started = Date.now();
  t.equal(await take(sp), ' ');
  const spaced = Date.now() - started;
  t.ok(spaced >= 400 && spaced < 1500, `next space after ~500 ms (${spaced})`);
  t.equal(await take(pg), '{"Records":null}\n');
  t.ok(Date.now() - started >= 900, 'next ping after ~1 s');
});

t.test(`a listener that does not read keeps ${MAX_QUEUED} events; the rest are dropped and counted`, async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const slow = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal)![Symbol.asyncIterator]();
  const fast = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal)![Symbol.asyncIterator]();
  await take(slow);
  await take(fast);
  let fastLines = 0;
  for (let i = 0; i < MAX_QUEUED + 10; i++) {
    hub.publish('b', [ev('s3:ObjectCreated:Put', `k${i}`)]);
    if (i % 100 === 99) fastLines += (await take(fast)).split('\n').filter((l) => l !== '').length;
  }
  fastLines += (await take(fast)).split('\n').filter((l) => l !== '').length;
  t.equal(fastLines, MAX_QUEUED + 10, 'the reading listener got every event');
  t.equal(hub.droppedTotal, 10, 'ten dropped for the slow one');
  const slowLines = (await take(slow)).split('\n').filter((l) => l !== '');
  t.equal(slowLines.length, MAX_QUEUED, 'it still gets the first ones');
  t.match(slowLines[0], /"key":"k0"/);
});

t.test('close() (shutdown): queued events go out, then the streams end; no new listener', async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  const it = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal)![Symbol.asyncIterator]();
  await take(it);
  hub.publish('b', [ev('s3:ObjectCreated:Put', 'last')]);
  hub.close();
  t.match(await take(it), /"key":"last"/, 'the queued event first');
  t.equal(await take(it), '<end>', 'then the end');
  t.equal(hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal), undefined, 'closed: no new listener');
});

t.test('keep-alives keep their pace after the wall clock stepped back an hour', async (t) => {
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  t.teardown(() => {
    Date.now = realNow;
  });
  const hub = new EventListeners();
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const sp = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal)![Symbol.asyncIterator]();
  t.equal(await take(sp), ' ');
  t.equal(await take(sp), ' ', 'a keep-alive after ~500 ms');
  offset = -3_600_000;
  const late = new Promise<string>((r) => setTimeout(() => r('<none within 1.5 s>'), 1_500).unref());
  t.equal(await Promise.race([take(sp), late]), ' ', 'the next one ~500 ms later, not an hour');
});

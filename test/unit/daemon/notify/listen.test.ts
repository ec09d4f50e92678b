// EventListeners (notify/listen.ts): who hears what, keep-alives, the per-listener bound, and the
// end of a stream (abort, shutdown), with real timers.
import t from 'tap';
import { EventListeners, listenShares, type ListenHolder, MAX_CHUNK_BYTES, MAX_QUEUED, MAX_QUEUED_BYTES } from '../../../../daemon/notify/listen.js';

const ROOT: ListenHolder = { kind: 'root' };
const ev = (name: string, key: string) => ({ name, key, record: { eventName: name, key } });

async function take(it: AsyncIterator<Buffer>): Promise<string> {
  const r = await it.next();
  return r.done ? '<end>' : r.value.toString();
}

t.test('filters: bucket, prefix/suffix, event wildcards; watching() counts per bucket', async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  t.equal(hub.watching('b'), false, 'nobody listens yet');
  const it = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: 'p/', suffix: '.x' }, ac.signal, ROOT)![Symbol.asyncIterator]();
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
  const all = hub.listen({ bucket: undefined, events: ['s3:ObjectRemoved:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
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
  const sp = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  const pg = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '', pingSeconds: 1 }, ac.signal, ROOT)![Symbol.asyncIterator]();
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
  const slow = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  const fast = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
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
  const slowLines: string[] = [];
  while (slowLines.length < MAX_QUEUED) slowLines.push(...(await take(slow)).split('\n').filter((l) => l !== ''));
  t.equal(slowLines.length, MAX_QUEUED, 'it still gets the first ones');
  t.match(slowLines[0], /"key":"k0"/);
});

t.test(`long lines: a listener keeps at most ${MAX_QUEUED_BYTES} bytes waiting, and gets them ${MAX_CHUNK_BYTES} bytes at a time`, async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const slow = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  await take(slow);
  // Keys of 1,000 bytes make lines of ~1.1 KB: the byte bound comes long before 4,000 lines.
  const long = 'k'.repeat(1000);
  const lineBytes = Buffer.byteLength(JSON.stringify({ Records: [ev('s3:ObjectCreated:Put', `${long}0000`).record] }) + '\n');
  const sent = 2000;
  for (let i = 0; i < sent; i++) hub.publish('b', [ev('s3:ObjectCreated:Put', `${long}${String(i).padStart(4, '0')}`)]);
  const kept = Math.floor(MAX_QUEUED_BYTES / lineBytes);
  t.equal(hub.droppedTotal, sent - kept, `${kept} lines of ${lineBytes} bytes kept, the rest dropped`);
  const chunks: Buffer[] = [];
  let got = 0;
  while (got < kept) {
    const r = await slow.next();
    if (r.done) break;
    if (r.value.toString() === ' ') continue;
    chunks.push(r.value);
    got += r.value.toString().split('\n').filter((l) => l !== '').length;
  }
  t.equal(got, kept, 'every kept line arrives, in order');
  t.ok(chunks.length > 1 && chunks.every((c) => c.length <= MAX_CHUNK_BYTES), `in ${chunks.length} chunks of at most ${MAX_CHUNK_BYTES} bytes (largest ${Math.max(...chunks.map((c) => c.length))})`);
  const first = JSON.parse(Buffer.concat(chunks).toString().split('\n')[0]!) as { Records: Array<{ key: string }> };
  t.equal(first.Records[0]!.key, `${long}0000`, 'the oldest first');
  // Read: room again, nothing more dropped.
  hub.publish('b', [ev('s3:ObjectCreated:Put', 'after')]);
  t.equal(hub.droppedTotal, sent - kept, 'once read, events are kept again');
  t.match(await take(slow), /"key":"after"/);
});

t.test('max: refusal() past the limit and counts; a closed stream frees its place', async (t) => {
  const hub = new EventListeners(2);
  const one = new AbortController();
  const two = new AbortController();
  t.teardown(() => two.abort());
  const f = { bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' };
  t.equal(hub.refusal(ROOT), undefined);
  const a = hub.listen(f, one.signal, ROOT)![Symbol.asyncIterator]();
  await take(a);
  t.equal(hub.refusal(ROOT), undefined);
  const b = hub.listen({ ...f, bucket: undefined }, two.signal, ROOT)![Symbol.asyncIterator]();
  await take(b);
  t.match(hub.refusal(ROOT), /^2 listening streams are open.*S3_LISTEN_MAX/, 'two open: full');
  t.equal(hub.refusedTotal, 1, 'the refusal is counted');
  one.abort();
  t.equal(await take(a), '<end>');
  t.equal(hub.refusal(ROOT), undefined, 'one closed: room again');
  t.equal(new EventListeners(0).refusal({ kind: 'anonymous', client: '127.0.0.1' }), undefined, '0: no limit');
});

t.test('shares: half of max per user, a tenth for unsigned requests, a tenth kept for root, a tenth for first streams; every way out gives the place back', async (t) => {
  t.same(listenShares(100), { perPrincipal: 50, anonymous: 10, rootReserve: 10, firstStreams: 10, anonymousFirstStreams: 5 }, 'the default 100');
  t.same(listenShares(1), { perPrincipal: 1, anonymous: 1, rootReserve: 0, firstStreams: 0, anonymousFirstStreams: 0 }, "a limit of 1 is anyone's");
  t.same(listenShares(2), { perPrincipal: 1, anonymous: 1, rootReserve: 1, firstStreams: 0, anonymousFirstStreams: 0 });
  t.same(listenShares(3), { perPrincipal: 1, anonymous: 1, rootReserve: 1, firstStreams: 1, anonymousFirstStreams: 0 });
  const hub = new EventListeners(10);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const f = { bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' };
  const alice: ListenHolder = { kind: 'user', principal: 'alice' };
  const bob: ListenHolder = { kind: 'user', principal: 'bob' };
  const carol: ListenHolder = { kind: 'user', principal: 'carol' };
  const anon: ListenHolder = { kind: 'anonymous', client: '192.0.2.1' };
  const name = (h: ListenHolder): string => (h.kind === 'root' ? 'root' : h.kind === 'user' ? h.principal : h.client);
  const open = (h: ListenHolder): AsyncIterator<Buffer> => {
    t.equal(hub.refusal(h), undefined, `${name(h)} may open one`);
    return hub.listen(f, ac.signal, h)![Symbol.asyncIterator]();
  };
  const mine = Array.from({ length: 5 }, () => open(alice));
  t.match(hub.refusal(alice), /This user has 5 listening streams open.*half of S3_LISTEN_MAX=10/, 'a sixth of one user: refused');
  open(anon);
  t.match(hub.refusal(anon), /1 listening streams of unsigned requests are open.*a tenth of S3_LISTEN_MAX=10/, 'a second unsigned: refused');
  const bobs = [open(bob), open(bob)];
  // Two users and one anonymous client took every place but root's and the last, which is kept
  // for the first stream of someone who has none: bob's third would have left carol nothing.
  t.match(hub.refusal(bob), /8 listening streams are open, 2 of them this user's; the last 1 places below the root user's 1 of S3_LISTEN_MAX=10 are kept for the first stream of others/, "bob's third: refused");
  open(carol);
  t.match(hub.refusal({ kind: 'user', principal: 'dave' }), /9 listening streams are open; the other 1 of S3_LISTEN_MAX=10 are kept for the root user/, 'the place kept for root: refused to users');
  open(ROOT);
  t.match(hub.refusal(ROOT), /^10 listening streams are open/, 'root too, past max');
  t.equal(hub.refusedTotal, 5, 'every refusal counted');
  // Given back: one ended (next() says done), one returned before it was read (the writer's finally).
  await mine[0]!.next();
  await mine[0]!.return!();
  await bobs[0]!.return!();
  t.equal(hub.size, 8);
  t.equal(hub.refusal(alice), undefined, "alice's place is hers again");
  t.equal(hub.refusal(bob), undefined);
  await bobs[0]!.return!();
  await mine[0]!.return!();
  t.equal(hub.size, 8, 'a second return gives back nothing more');
});

t.test('unsigned requests: shared by client network, each network\'s later streams leave half of their tenth to others', async (t) => {
  const hub = new EventListeners(100);
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const f = { bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' };
  const from = (client: string): ListenHolder => ({ kind: 'anonymous', client });
  const open = (h: ListenHolder, what: string): void => {
    t.equal(hub.refusal(h), undefined, what);
    hub.listen(f, ac.signal, h);
  };
  for (let i = 0; i < 5; i++) open(from('192.0.2.1'), `192.0.2.1's stream ${i + 1}`);
  // Before, one address took all ten unsigned places.
  t.match(hub.refusal(from('192.0.2.1')), /^5 listening streams of unsigned requests are open, 5 of them from this client's network; the other 5 of the 10 kept for unsigned requests \(a tenth of S3_LISTEN_MAX=100\) are for the first stream of other clients; sign the request, or retry once one has closed\./, "192.0.2.1's sixth: refused");
  t.equal(hub.refusal(from('2001:db8:1:2::/64')), undefined, 'another network: its first');
  for (let i = 2; i <= 6; i++) open(from(`192.0.2.${i}`), `192.0.2.${i}'s first`);
  t.match(hub.refusal(from('192.0.2.7')), /10 listening streams of unsigned requests are open, the most this server keeps for them/, 'the tenth is full');
  t.equal(hub.refusedTotal, 2);
  // Users are not held back by unsigned streams beyond the tenth.
  t.equal(hub.refusal({ kind: 'user', principal: 'alice' }), undefined, 'a user still opens');
});

t.test('events go only to the listeners of their bucket and those of every bucket', async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const f = { events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' };
  const a = hub.listen({ ...f, bucket: 'a' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  const a2 = hub.listen({ ...f, bucket: 'a' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  const b = hub.listen({ ...f, bucket: 'b' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  const every = hub.listen({ ...f, bucket: undefined }, ac.signal, ROOT)![Symbol.asyncIterator]();
  for (const it of [a, a2, b, every]) await take(it);
  hub.publish('a', [ev('s3:ObjectCreated:Put', 'in-a')]);
  hub.publish('b', [ev('s3:ObjectCreated:Put', 'in-b')]);
  t.match(await take(a), /^[^\n]*"key":"in-a"[^\n]*\n$/, 'a: its own event only');
  t.match(await take(a2), /"key":"in-a"/, 'both listeners of a');
  t.match(await take(b), /^[^\n]*"key":"in-b"[^\n]*\n$/, 'b: its own event only');
  const all = await take(every);
  t.match(all, /"key":"in-a"[\s\S]*"key":"in-b"/, 'every bucket: both');
  ac.abort();
  for (const it of [a, a2, b, every]) await take(it);
  t.equal(hub.watching('a'), false, 'forgotten');
  t.equal(hub.watching('b'), false);
});

t.test('close() (shutdown): queued events go out, then the streams end; no new listener', async (t) => {
  const hub = new EventListeners();
  const ac = new AbortController();
  const it = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  await take(it);
  hub.publish('b', [ev('s3:ObjectCreated:Put', 'last')]);
  hub.close();
  t.match(await take(it), /"key":"last"/, 'the queued event first');
  t.equal(await take(it), '<end>', 'then the end');
  t.equal(hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT), undefined, 'closed: no new listener');
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
  const sp = hub.listen({ bucket: 'b', events: ['s3:ObjectCreated:*'], prefix: '', suffix: '' }, ac.signal, ROOT)![Symbol.asyncIterator]();
  t.equal(await take(sp), ' ');
  t.equal(await take(sp), ' ', 'a keep-alive after ~500 ms');
  offset = -3_600_000;
  const late = new Promise<string>((r) => setTimeout(() => r('<none within 1.5 s>'), 1_500).unref());
  t.equal(await Promise.race([take(sp), late]), ' ', 'the next one ~500 ms later, not an hour');
});

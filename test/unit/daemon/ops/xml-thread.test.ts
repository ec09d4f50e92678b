// The parsing thread (daemon/ops/xml-thread.ts): documents over OFF_LOOP_MIN_BYTES parsed there
// answer as parseXml does inline, and the thread never keeps the process alive by itself.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isS3Error } from '../../../../daemon/errors.js';
import { parseXml } from '../../../../daemon/ops/xml.js';
import { OFF_LOOP_MIN_BYTES, parseXmlOffLoop } from '../../../../daemon/ops/xml-thread.js';

const objects = (n: number): string => '<Object><Key> k&#1;&lt;</Key><VersionId>v</VersionId></Object>'.repeat(n);
const large = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${objects(1_500)}</Delete>`);

t.test('a large document: the same document as parsed inline, or the same MalformedXML', async (t) => {
  t.ok(large.length > OFF_LOOP_MIN_BYTES);
  t.same(await parseXmlOffLoop(large, { trim: false }), parseXml(large, { trim: false }));
  t.same(await parseXmlOffLoop(large), parseXml(large));
  const broken = Buffer.from(`<Delete>${objects(1_000)}</Delet>`);
  const inline = (() => {
    try {
      parseXml(broken);
    } catch (err) {
      return err;
    }
  })();
  const err = await parseXmlOffLoop(broken).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(isS3Error(err) && isS3Error(inline));
  t.match(err, { code: 'MalformedXML', status: 400, message: (inline as Error).message });
});

t.test('a limit on an element (`most`): counted before anything else, inline or on the thread', async (t) => {
  const most = { element: 'Object', max: 1_500, message: 'Too many Objects.' };
  t.same(await parseXmlOffLoop(large, { most }), parseXml(large), 'at the limit: parsed');
  const tooMany = { ...most, max: 1_499 };
  // Broken too, and not UTF-8: the count comes first, as it did before the parse.
  const bad = Buffer.concat([large, Buffer.from([0xff]), Buffer.from('</Delet>')]);
  for (const [what, parse] of [
    ['on the thread', () => parseXmlOffLoop(bad, { most: tooMany })],
    ['inline', async () => parseXml(bad, { most: tooMany })],
  ] as const) {
    const err = await parse().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(err, { code: 'MalformedXML', status: 400, message: 'Too many Objects.' }, what);
  }
});

t.test('a process that parsed a large document on the thread exits on its own', async (t) => {
  const module = new URL('../../../../daemon/ops/xml-thread.js', import.meta.url).href;
  const code = `const { parseXmlOffLoop } = await import(${JSON.stringify(module)});
const doc = await parseXmlOffLoop(Buffer.from('<Delete>' + '<Object><Key>k</Key></Object>'.repeat(3000) + '</Delete>'));
process.stdout.write(String(doc.Delete.Object.length));`;
  const dir = mkdtempSync(join(tmpdir(), 's3d-xml-thread-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'child.mjs');
  writeFileSync(script, code);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, 10_000);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  t.equal(out, '3000', 'the document parsed');
  t.notOk(timedOut, 'exited without being killed (the idle thread kept it alive 10 s)');
  t.equal(status, 0);
});

t.test('a process run with --input-type=module -e parses on the thread too (the thread takes none of its node flags)', async (t) => {
  const module = new URL('../../../../daemon/ops/xml-thread.js', import.meta.url).href;
  const code = `const { parseXmlOffLoop } = await import(${JSON.stringify(module)});
const doc = await parseXmlOffLoop(Buffer.from('<Delete>' + '<Object><Key>k</Key></Object>'.repeat(3000) + '</Delete>'));
process.stdout.write(String(doc.Delete.Object.length));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  t.equal(out, '3000', `the document parsed (${err.trim().split('\n')[0] ?? ''})`);
  t.equal(status, 0);
});

/** Runs `code` (an ES module importing xml-thread.js as `module`) in a child: its stdout, stderr, exit status and signal. */
async function child(t: Test, code: string): Promise<{ out: string; err: string; status: number | null; signal: NodeJS.Signals | null }> {
  const module = new URL('../../../../daemon/ops/xml-thread.js', import.meta.url).href;
  const p = spawn(process.execPath, ['--input-type=module', '-e', `const module = ${JSON.stringify(module)};\n${code}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => (out += c.toString()));
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // Only against a hang: the child ends by itself in well under a second.
  const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
  t.teardown(() => clearTimeout(timer));
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => p.on('exit', (c, s) => resolve([c, s])));
  return { out, err, status, signal };
}

t.test('closeParsingThread: the documents the thread holds are answered, then it ends by itself; later ones are parsed inline', async (t) => {
  const r = await child(t, `const { closeParsingThread, parseXmlOffLoop } = await import(module);
const doc = (n) => Buffer.from('<Delete>' + '<Object><Key>k</Key></Object>'.repeat(n) + '</Delete>');
// Posted, not awaited: the thread may still be loading its module when it is asked to close.
const parses = [2500, 3000, 3500].map((n) => parseXmlOffLoop(doc(n)));
const end = await closeParsingThread();
const counts = (await Promise.all(parses)).map((d) => d.Delete.Object.length);
const after = (await parseXmlOffLoop(doc(4000))).Delete.Object.length;
console.log(JSON.stringify({ end, counts, after, again: await closeParsingThread() }));`);
  t.equal(r.signal, null, `not killed by a signal (${r.err.trim().split('\n')[0] ?? ''})`);
  t.equal(r.status, 0, 'exit 0');
  t.same(JSON.parse(r.out), { end: 'closed', counts: [2500, 3000, 3500], after: 4000, again: 'closed' }, 'each answered; the thread ended by itself; inline after; a second close the same');
});

t.test('closeParsingThread with no thread started: nothing to end', async (t) => {
  const r = await child(t, `const { closeParsingThread, parseXmlOffLoop } = await import(module);
const small = await parseXmlOffLoop(Buffer.from('<Delete><Object><Key>k</Key></Object></Delete>'));
console.log(JSON.stringify({ parsed: small.Delete !== undefined, end: await closeParsingThread() }));`);
  t.equal(r.status, 0);
  t.same(JSON.parse(r.out), { parsed: true, end: 'none' }, 'a small document parsed inline started no thread');
});

t.test('closeParsingThread past its wait: the documents held fail with an error saying so, the thread is terminated', async (t) => {
  // A thread that has loaded (it answered once), then busy with documents that take longer than
  // the 1 ms given: terminated inside a parse, never inside its module's load.
  const r = await child(t, `const { closeParsingThread, parseXmlOffLoop } = await import(module);
const doc = (n) => Buffer.from('<Delete>' + '<Object><Key>k</Key></Object>'.repeat(n) + '</Delete>');
await parseXmlOffLoop(doc(3000));
// 1,000 keys of character references, ~7.5 MB: some 100s of ms each.
const slow = Buffer.from('<Delete>' + ('<Object><Key>' + '&#65;'.repeat(1500) + '</Key></Object>').repeat(1000) + '</Delete>');
const held = Array.from({ length: 4 }, () => parseXmlOffLoop(slow).then(() => 'parsed', (e) => e.message));
const end = await closeParsingThread(1);
console.log(JSON.stringify({ end, held: await Promise.all(held) }));`);
  t.equal(r.signal, null, `not killed by a signal (${r.err.trim().split('\n')[0] ?? ''})`);
  t.equal(r.status, 0, 'exit 0');
  const { end, held } = JSON.parse(r.out) as { end: string; held: string[] };
  t.equal(end, 'terminated');
  t.ok(held.length === 4 && held.every((h) => h === 'XML parsing thread terminated at shutdown: it had not answered within 1 ms'), `each held document failed, saying why (${held.join(', ')})`);
});

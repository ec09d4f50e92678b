// The parsing thread (daemon/ops/xml-thread.ts): documents over OFF_LOOP_MIN_BYTES parsed there
// answer as parseXml does inline, and the thread never keeps the process alive by itself.

import t from 'tap';
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

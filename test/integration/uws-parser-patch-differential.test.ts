// The parser patch (daemon/http/uws.ts) against the binary it was made from, byte by byte: both
// serve an echo of the header names and the x-v value they parsed, in child processes, and get the
// same requests: a header name holding each byte value in its first position, in a later one, and
// right after an 8-byte word of letters (the parser's fast path takes that word, the byte loop the
// rest), and an x-v value with each byte value at both ends. Where the original answers, the
// patched copy answers with the very same names; it answers besides exactly where the name holds
// one of the bytes 0x21-0xff the original refused but `:` and `;<=>?` (every token character,
// `"(),/@[\]{}` and the bytes above 0x7f, which the server refuses or respells, and DEL), each
// handed over as the patch says, byte for byte (`_` and DEL as DEL, `@[\]^` lower-cased by the
// parser's `| 0x20` to `` `{|}~ ``, bytes above 0x7f with 0x20 set too); values differ only where a
// byte above 0x7f is at an end, which the original dropped; and a request head arriving in two
// reads may grow to 16 KiB, not 4. Nothing else changes.
import t from 'tap';
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { PARSER_PATCHES, chooseBinding, nativeBindingPath } from '../../daemon/http/uws.js';
import { sendInTwoPieces, tcpExchange } from '../helpers/tcp.js';
import { connect } from 'node:net';

const original = nativeBindingPath();
const chosen = chooseBinding(original);

/** Starts an echo server on `binary` in a child; resolves with its port. */
function echoServer(t: Test, binary: string): Promise<number> {
  const script = `
const uws = require(${JSON.stringify(binary)});
uws.App().any('/*', (res, req) => {
  const names = [];
  req.forEach((k) => names.push(Buffer.from(k, 'latin1').toString('hex')));
  // Names reach JavaScript decoded as UTF-8 (bytes above 0x7f lost to U+FFFD): the probe, a name's
  // bytes in hex, is looked up as bytes, so what the parser stored is compared byte for byte.
  const probe = req.getQuery('probe');
  const found = probe ? req.getHeader(Buffer.from(probe, 'hex')) : '';
  res.end(names.join(',') + '|' + JSON.stringify(req.getHeader('x-v')) + '|' + JSON.stringify(found));
}).listen('127.0.0.1', 0, (s) => { process.stdout.write(String(uws.us_socket_local_port(s)) + '\\n'); });
`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill();
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`echo server on ${binary} exited (${code})`)));
  });
}

/**
 * The header names the server echoed (hex of each, as latin1), the x-v value, and the value of the
 * header whose name is the bytes `probe`, or undefined when it did not answer.
 */
async function exchange(port: number, headers: Buffer, probe?: Buffer): Promise<{ names: string[]; value: string; probed: string } | undefined> {
  const request = Buffer.concat([Buffer.from(`GET /${probe ? `?probe=${probe.toString('hex')}` : ''} HTTP/1.1\r\nhost: x\r\n`), headers, Buffer.from('\r\n')]);
  const r = await tcpExchange(port, request, { idleMs: 700, timeoutMs: 3000, untilResponse: true });
  const text = r.data.toString('utf8');
  if (!text.startsWith('HTTP/1.1 200')) return undefined;
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const bar = body.indexOf('|');
  const bar2 = body.lastIndexOf('|');
  return { names: body.slice(0, bar).split(','), value: JSON.parse(body.slice(bar + 1, bar2)) as string, probed: JSON.parse(body.slice(bar2 + 1)) as string };
}

/** The names echoed for a header `name: v`, and whether a header named `probe` (bytes) was found with that value. */
async function ask(port: number, name: Buffer, probe: Buffer): Promise<{ names: string[]; found: boolean } | undefined> {
  const r = await exchange(port, Buffer.concat([name, Buffer.from(': v\r\n')]), probe);
  return r && { names: r.names, found: r.probed === 'v' };
}

const ORIGINAL_NAME = (b: number): boolean => /[A-Za-z0-9-]/.test(String.fromCharCode(b));
/** What the patched copy takes beyond the original: 0x21-0xff but `:` (which ends a name) and `;<=>?`. */
const PATCH_EXTRA = (b: number): boolean => !ORIGINAL_NAME(b) && b >= 0x21 && !/[:;<=>?]/.test(String.fromCharCode(b));
/** A name byte as the patched copy hands it over: `A-Z@[\]^` with 0x20 set, `_` (0x5f) as DEL (0x7f), DEL as itself, bytes above 0x7f with 0x20 set. */
const HANDED_OVER = (c: number): number => ((c >= 0x40 && c <= 0x5f) || c >= 0x80 ? c | 0x20 : c);

t.test('the patched parser differs from the original exactly on the bytes 0x21-0xff it adds in header names', { skip: chosen.parserPatched ? false : `no patched binary here (${chosen.unpatchedReason})` }, async (t) => {
  t.ok(PARSER_PATCHES[original.slice(original.lastIndexOf('/') + 1)], 'a patch is listed for the installed binary');
  const [before, after] = await Promise.all([echoServer(t, original), echoServer(t, chosen.file)]);
  const mismatches: string[] = [];
  const cases: Array<[number, Buffer]> = [];
  for (let b = 0; b < 256; b++) {
    if (b === 0x0d || b === 0x0a || b === 0x3a) continue; // CR, LF, ':' end a name by definition
    cases.push([b, Buffer.from([b, 0x78, 0x61])]); // first byte
    cases.push([b, Buffer.from([0x78, 0x2d, b, 0x62])]); // a later byte
    cases.push([b, Buffer.from([...Buffer.from('abcdefgh'), b, 0x62])]); // after the fast path's word
  }
  // In batches: a request that gets no answer waits out its idle time.
  for (let i = 0; i < cases.length; i += 64) {
    await Promise.all(cases.slice(i, i + 64).map(async ([b, name]) => {
      const want = Buffer.from(Buffer.from(name).map(HANDED_OVER));
      const [o, p] = await Promise.all([ask(before, name, want), ask(after, name, want)]);
      const label = `byte 0x${b.toString(16).padStart(2, '0')} in ${name.toString('hex')}`;
      const expectOriginal = ORIGINAL_NAME(b);
      const expectPatched = expectOriginal || PATCH_EXTRA(b);
      if ((o !== undefined) !== expectOriginal) mismatches.push(`${label}: original ${o === undefined ? 'silent' : 'answered'}`);
      if ((p !== undefined) !== expectPatched) mismatches.push(`${label}: patched ${p === undefined ? 'silent' : 'answered'}`);
      if (o !== undefined && p !== undefined && o.names.join() !== p.names.join()) mismatches.push(`${label}: names differ (${o.names.join()} / ${p.names.join()})`);
      if (p !== undefined) {
        if (!p.found) mismatches.push(`${label}: patched copy has no header named ${want.toString('hex')} (echoed ${p.names.join()})`);
        if (b < 0x80 && !p.names.includes(want.toString('hex'))) mismatches.push(`${label}: patched echoed ${p.names.join()}, not ${want.toString('hex')}`);
      }
      if (o !== undefined && !o.found) mismatches.push(`${label}: original has no header named ${want.toString('hex')}`);
    }));
  }
  t.strictSame(mismatches, [], `${cases.length} names, each to both parsers`);
});

t.test('the patched parser keeps bytes above 0x7f at the ends of a header value, and trims as before otherwise', { skip: chosen.parserPatched ? false : `no patched binary here (${chosen.unpatchedReason})` }, async (t) => {
  const [before, after] = await Promise.all([echoServer(t, original), echoServer(t, chosen.file)]);
  const mismatches: string[] = [];
  const bytes = [...Array(256).keys()].filter((b) => b !== 0x0d && b !== 0x0a);
  for (let i = 0; i < bytes.length; i += 64) {
    await Promise.all(bytes.slice(i, i + 64).map(async (b) => {
      const value = Buffer.from([b, 0x78, b]);
      const [o, p] = await Promise.all([exchange(before, Buffer.concat([Buffer.from('x-v: '), value, Buffer.from('\r\n')])), exchange(after, Buffer.concat([Buffer.from('x-v: '), value, Buffer.from('\r\n')]))]);
      const label = `value ${value.toString('hex')}`;
      if ((o === undefined) !== (p === undefined)) mismatches.push(`${label}: original ${o === undefined ? 'silent' : 'answered'}, patched ${p === undefined ? 'silent' : 'answered'}`);
      if (o === undefined || p === undefined) return;
      if (b >= 0x80) {
        if (o.value !== 'x') mismatches.push(`${label}: the original kept ${JSON.stringify(o.value)} (it is expected to drop the ends)`);
        if (p.value === 'x' || p.value.length < 3 || p.value[1] !== 'x') mismatches.push(`${label}: the patched copy gave ${JSON.stringify(p.value)}`);
      } else if (o.value !== p.value) {
        mismatches.push(`${label}: ${JSON.stringify(o.value)} / ${JSON.stringify(p.value)}`);
      }
    }));
  }
  t.strictSame(mismatches, [], `${bytes.length} values, each to both parsers`);
});

/** `head` sent in two writes (cut after `cut` bytes): the status line, or 'no answer'. */
async function splitExchange(port: number, head: Buffer, cut: number): Promise<string> {
  const data = await sendInTwoPieces(connect(port, '127.0.0.1'), 'connect', head, cut, 3000);
  return data.startsWith('HTTP/1.1 ') ? data.slice(0, data.indexOf('\r\n')) : 'no answer';
}

t.test('a request head that arrives in two reads may grow to 16 KiB with the patch (4 KiB before)', { skip: chosen.parserPatched ? false : `no patched binary here (${chosen.unpatchedReason})` }, async (t) => {
  const [before, after] = await Promise.all([echoServer(t, original), echoServer(t, chosen.file)]);
  const head = (size: number): Buffer => {
    const start = 'GET / HTTP/1.1\r\nhost: x\r\nx-v: ';
    return Buffer.from(`${start}${'v'.repeat(size - start.length - 4)}\r\n\r\n`);
  };
  const cases: Array<[size: number, cut: number, original: string, patched: string]> = [
    [3000, 100, 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK'],
    [6000, 100, 'no answer', 'HTTP/1.1 200 OK'],
    [6000, 5000, 'no answer', 'HTTP/1.1 200 OK'],
    [12_000, 3000, 'no answer', 'HTTP/1.1 200 OK'],
    [20_000, 100, 'no answer', 'no answer'],
  ];
  for (const [size, cut, o, p] of cases) {
    t.strictSame(await Promise.all([splitExchange(before, head(size), cut), splitExchange(after, head(size), cut)]), [o, p], `${size} bytes cut after ${cut}: original ${o}, patched ${p}`);
  }
  // In one write the bound never applied, to either.
  const whole = await Promise.all([exchange(before, Buffer.from(`x-v: ${'v'.repeat(12_000)}\r\n`)), exchange(after, Buffer.from(`x-v: ${'v'.repeat(12_000)}\r\n`))]);
  t.ok(whole.every((r) => r?.value.length === 12_000), 'a 12 KB head in one write: both answer');
});

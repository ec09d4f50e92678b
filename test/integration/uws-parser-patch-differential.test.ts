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
// reads may grow to 16 KiB, not 4. And a chunked body: valid ones, cut into reads at every byte
// (or one byte a read), decode alike; a chunk whose data is not followed by CRLF, which the
// original takes (dropping the two bytes unread), closes the connection without an answer,
// wherever the reads cut it, and so does the last chunk without its CRLF (a trailer field among
// them), the request after it never answered. Nothing else changes.
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
  return serve(t, script, `echo server on ${binary}`);
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

/** Starts a server on `binary` in a child that answers a request with its path and its body (`/a="…"`); resolves with its port. `/next` closes the connection after its answer. */
function bodyServer(t: Test, binary: string): Promise<number> {
  const script = `
const uws = require(${JSON.stringify(binary)});
uws.App().any('/*', (res, req) => {
  const url = req.getUrl();
  const parts = [];
  res.onAborted(() => {});
  res.onData((ab, last) => {
    parts.push(Buffer.from(ab.slice(0)));
    if (last) res.end(url + '=' + JSON.stringify(Buffer.concat(parts).toString('latin1')), url === '/next');
  });
}).listen('127.0.0.1', 0, (s) => { process.stdout.write(String(uws.us_socket_local_port(s)) + '\\n'); });
`;
  return serve(t, script, `body server on ${binary}`);
}

/** Runs `script` (a uWS server that prints its port) in a child Node, ended at the test's teardown; resolves its port. */
function serve(t: Test, script: string, what: string): Promise<number> {
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill();
  });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code})`)));
  });
}

/**
 * `pieces` written one after another, each after a pause (so that each is a read of its own on
 * an idle machine; pieces read together decode the same, so a loaded machine only tests less):
 * the bodies answered (`/a="…"`, in order) and whether the server closed the connection, by the
 * time it closed or `idleMs` passed without data.
 */
function sendPieces(port: number, pieces: Buffer[], idleMs: number): Promise<{ answers: string[]; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    let data = '';
    let idle: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      sock.destroy();
      // Bodies are quoted JSON strings without CRLF: every answer ends its message.
      resolve({ answers: [...data.matchAll(/\r\n\r\n(\/[a-z]+="(?:[^"\\]|\\.)*")/g)].map((m) => m[1]!), closed });
    };
    const arm = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(false), idleMs);
    };
    sock.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      arm();
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', async () => {
      for (const [i, piece] of pieces.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 15));
        if (!done) sock.write(piece);
      }
      arm();
    });
  });
}

const CHUNKED_HEAD = 'POST /a HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n';
const NEXT = 'GET /next HTTP/1.1\r\nhost: x\r\n\r\n';
/** `body` as one chunk per piece, then the last chunk. */
const chunked = (...pieces: string[]): string => pieces.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
/** An aws-chunked body (the SDKs' streaming uploads: its own chunk lines, signatures, a trailer), itself sent in HTTP chunks. */
const AWS_CHUNKED = '5;chunk-signature=' + 'a'.repeat(64) + '\r\nhello\r\n0;chunk-signature=' + 'b'.repeat(64) + '\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n';

t.test('valid chunked bodies decode as before with the CRLF check, however the reads cut them', { skip: chosen.parserPatched ? false : `no patched binary here (${chosen.unpatchedReason})` }, async (t) => {
  const [before, after] = await Promise.all([bodyServer(t, original), bodyServer(t, chosen.file)]);
  const shapes: Array<[string, string, string]> = [
    ['one chunk', chunked('hello'), 'hello'],
    ['no data', '0\r\n\r\n', ''],
    ['several chunks, hex sizes in both cases', chunked('a', '0123456789', 'ABCDEFGHIJK', 'x'.repeat(0x1f)).replace('\r\nb\r\n', '\r\nB\r\n'), 'a0123456789ABCDEFGHIJK' + 'x'.repeat(0x1f)],
    ['data that is itself CRLFs', chunked('\r\n\r\n', '\r', '\n', '\r\n'), '\r\n\r\n\r\n\r\n'],
    ['an aws-chunked body inside', chunked(AWS_CHUNKED.slice(0, 40), AWS_CHUNKED.slice(40)), AWS_CHUNKED],
  ];
  t.ok(shapes[2]![1].includes('\r\nB\r\n'), 'an upper-case size is among them');
  const mismatches: string[] = [];
  let exchanges = 0;
  for (const [what, body, decoded] of shapes) {
    const request = Buffer.from(CHUNKED_HEAD + body + NEXT, 'latin1');
    const want = [`/a=${JSON.stringify(decoded)}`, '/next=""'];
    // Cut in two at every byte from the head's last one to the next request's first.
    const cases: Buffer[][] = [];
    for (let cut = CHUNKED_HEAD.length - 1; cut <= CHUNKED_HEAD.length + body.length + 1; cut++) cases.push([request.subarray(0, cut), request.subarray(cut)]);
    // And one byte a read, the body's.
    cases.push([request.subarray(0, CHUNKED_HEAD.length), ...[...request.subarray(CHUNKED_HEAD.length, CHUNKED_HEAD.length + body.length)].map((b) => Buffer.from([b])), request.subarray(CHUNKED_HEAD.length + body.length)]);
    for (let i = 0; i < cases.length; i += 64) {
      await Promise.all(cases.slice(i, i + 64).map(async (pieces) => {
        const label = `${what}, in ${pieces.length} pieces (${pieces.map((p) => p.length).join('+')})`;
        const [o, p] = await Promise.all([sendPieces(before, pieces, 3000), sendPieces(after, pieces, 3000)]);
        exchanges += 2;
        if (o.answers.join() !== want.join()) mismatches.push(`${label}: original answered ${o.answers.join(' ')}`);
        if (p.answers.join() !== want.join()) mismatches.push(`${label}: patched answered ${p.answers.join(' ')}`);
      }));
    }
  }
  t.strictSame(mismatches, [], `${exchanges} exchanges: both decode every body, then answer the request after it`);
});

t.test('a chunk whose data, or the last chunk, is not followed by CRLF: the original takes it, the patched copy closes the connection', { skip: chosen.parserPatched ? false : `no patched binary here (${chosen.unpatchedReason})` }, async (t) => {
  const [before, after] = await Promise.all([bodyServer(t, original), bodyServer(t, chosen.file)]);
  const cases: Array<[string, string, string[]]> = [
    // What the original made of it: the bytes for the CRLF are dropped unread.
    ['XX for the CRLF', '5\r\nhelloXX5\r\nworld\r\n0\r\n\r\n', ['/a="helloworld"', '/next=""']],
    // The body ends early, and what follows is read as the next request.
    ['XX before the CRLF', '5\r\nhelloXX\r\n0\r\n\r\n', ['/a="hello"']],
    ['a chunk one byte longer than its size', '4\r\nhello\r\n0\r\n\r\n', ['/a="hell"']],
    ['CR alone', '5\r\nhello\r5\r\nworld\r\n0\r\n\r\n', ['/a="hello"']],
    ['LF alone', '5\r\nhello\n5\r\nworld\r\n0\r\n\r\n', ['/a="hello"']],
    ['LF CR', '5\r\nhello\n\r0\r\n\r\n', ['/a="hello"', '/next=""']],
    ['the last of several', '1\r\na\r\n3\r\nbcdXY0\r\n\r\n', ['/a="abcd"', '/next=""']],
    // After the last chunk (its end is handed over before: the body may have been answered).
    ['X: for the CRLF after the last chunk', '5\r\nhello\r\n0\r\nX:', ['/a="hello"', '/next=""']],
    ['a trailer field', '5\r\nhello\r\n0\r\nx-t: v\r\n\r\n', ['/a="hello"']],
  ];
  const mismatches: string[] = [];
  let exchanges = 0;
  // All at once: where the original takes what follows for a request head it waits for the rest.
  await Promise.all(cases.map(async ([what, body, originally]) => {
    const afterLast = what.endsWith('after the last chunk') || what === 'a trailer field';
    const request = Buffer.from(CHUNKED_HEAD + body + NEXT, 'latin1');
    const splits: Buffer[][] = [[request]];
    // Cut in two at every byte of the body: the bad bytes in the first read, the second, or across.
    for (let cut = CHUNKED_HEAD.length + 1; cut < CHUNKED_HEAD.length + body.length; cut++) splits.push([request.subarray(0, cut), request.subarray(cut)]);
    await Promise.all(splits.map(async (pieces) => {
      const label = `${what}, in ${pieces.length} pieces (${pieces.map((p) => p.length).join('+')})`;
      const [o, p] = await Promise.all([sendPieces(before, pieces, 2000), sendPieces(after, pieces, 3000)]);
      exchanges += 2;
      if (o.answers.join() !== originally.join()) mismatches.push(`${label}: original answered ${o.answers.join(' ') || 'nothing'}, not ${originally.join(' ')}`);
      // After the last chunk, the body's end was handed over as its size line was read: where the
      // bytes after it come in a later read, the body's answer may go out before the close.
      const may = afterLast && pieces.length > 1 ? [originally[0]!] : [];
      if (p.answers.some((a) => !may.includes(a)) || !p.closed) mismatches.push(`${label}: patched ${p.closed ? 'closed' : 'kept'} the connection, answered ${p.answers.join(' ') || 'nothing'}`);
    }));
  }));
  t.strictSame(mismatches, [], `${exchanges} exchanges: the original takes each body, the patched copy closes without an answer`);
});

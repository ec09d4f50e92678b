// A request that repeats a header framing or routing it (Content-Length, Transfer-Encoding, Host)
// closes its connection at once, and nothing sent after it on that connection runs. Found by a
// wire-level probe: uWebSockets.js frames a body by the first of two Content-Length headers and
// parses the bytes after it as the next request, while a proxy in front that reads the other one
// forwards them as body. s3d answered 400 with Connection: close, but uWS still ran the requests
// already in its buffer: a signed DELETE hidden in the "body" deleted its object.
import t from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { signedHeaders } from '../helpers/http.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { tcpExchange } from '../helpers/tcp.js';
import { waitForLog } from '../helpers/wait.js';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { PARSER_PATCHES } from '../../daemon/http/uws.js';

/** Whether the daemon loads the parser-patched uWS copy here (daemon/http/uws.ts, linux-x64). */
const PATCHED = PARSER_PATCHES[`uws_${process.platform}_${process.arch}_${process.versions.modules}.node`] !== undefined;

t.test('repeated framing headers: the connection closes, and the request hidden behind them never runs', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'smuggle');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'victim', Body: 'still here' }));

  /** A request's head as raw text, its headers signed (host first), then `extra` header lines. */
  const head = (method: string, path: string, extra: string[] = [], headers: Record<string, string> = {}): string =>
    `${method} ${path} HTTP/1.1\r\n${Object.entries(signedHeaders(d.port, { method, path, headers }))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}${extra.map((l) => `${l}\r\n`).join('')}\r\n`;
  const hidden = head('DELETE', `/${bucket}/victim`);

  const cases: Array<[string, string]> = [
    ['Content-Length twice (5, then the whole rest)', head('PUT', `/${bucket}/outer`, [`content-length: 5`, `content-length: ${5 + hidden.length}`]) + 'hello' + hidden],
    ['Content-Length twice, one of them as a list', head('PUT', `/${bucket}/outer`, ['content-length: 5', `content-length: 5, ${5 + hidden.length}`]) + 'hello' + hidden],
    ['Content-Length as a list', head('PUT', `/${bucket}/outer`, ['content-length: 5, 5']) + 'hello' + hidden],
    // uWS hands such a request over before it drops the connection: it must not run.
    ['a DELETE with Content-Length as a list', head('DELETE', `/${bucket}/victim`, ['content-length: 0, 0'])],
    ['Content-Length as a list of two values', head('PUT', `/${bucket}/outer`, [`content-length: 5, ${5 + hidden.length}`]) + 'hello' + hidden],
    ['Content-Length twice (the same value) and Host twice', head('PUT', `/${bucket}/outer`, ['content-length: 5', 'content-length: 5', 'host: other.example']) + 'hello' + hidden],
    ['Transfer-Encoding twice', head('PUT', `/${bucket}/outer`, ['transfer-encoding: chunked', 'transfer-encoding: chunked']) + '5\r\nhello\r\n0\r\n\r\n' + hidden],
    ['Host twice', head('GET', `/${bucket}/victim`, [`host: other.example`]) + hidden],
    // uWS takes an empty Content-Length as 0 and what follows as the next request (other values
    // that are no number, `-1`, `abc`, `+3`, its parser refuses by closing the connection).
    ['an empty Content-Length', head('PUT', `/${bucket}/outer`, ['content-length: ']) + hidden],
    ['an empty Content-Length before a body', head('PUT', `/${bucket}/outer`, ['content-length:']) + 'hello' + hidden],
    // uWS decodes every Transfer-Encoding as chunked; a proxy that takes `identity` (or an unknown
    // coding) for no body forwards the chunks, the hidden request among them, as the next request.
    ...['identity', 'gzip', 'xchunked', 'gzip, chunked', 'chunked, chunked'].map((te): [string, string] => [`Transfer-Encoding: ${te}`, head('PUT', `/${bucket}/outer`, [`transfer-encoding: ${te}`]) + `${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`]),
  ];
  for (const [what, bytes] of cases) {
    const r = await tcpExchange(d.port, bytes, { idleMs: 1500 });
    t.ok(r.closed, `${what}: the connection is closed`);
    t.notMatch(r.data.toString('latin1'), /HTTP\/1\.1 20/, `${what}: nothing was answered as done`);
    t.equal((await getBytes(s3, { Bucket: bucket, Key: 'victim' })).toString(), 'still here', `${what}: the hidden DELETE did not run`);
  }
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'outer' }))), 'NoSuchKey/404', 'no outer object was stored either');
  // Waited for: the daemon's log reaches this process through a pipe, after the connection closed.
  const said = await waitForLog(d.logs, (l) => typeof l.msg === 'string' && l.msg.includes('possible request smuggling')).then(() => true, () => false);
  t.ok(said, 'the log says why the connections were closed');

  // The same pipelined pair without the repeated header: both run, in order (the test would pass
  // vacuously if the hidden request could never run at all).
  const plain = head('GET', `/${bucket}/victim`) + hidden;
  const r = await tcpExchange(d.port, plain, { idleMs: 1500 });
  t.match(r.data.toString('latin1'), /HTTP\/1\.1 200[\s\S]*still here[\s\S]*HTTP\/1\.1 204/, 'a plain pipelined GET and DELETE both run');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'victim' }))), 'NoSuchKey/404', 'and the DELETE took effect');
});

// uWS counted the CRLF after a chunk's data in the chunk's size and dropped those two bytes
// unread: `5\r\nhelloXX5\r\n…` was stored as `hello…` and `5\r\nhelloXX\r\n0\r\n\r\n` ended
// the body after `hello` and ran what came after as the next request, where a proxy that reads
// chunk sizes strictly forwards one request ("funky chunks"); so were the two bytes after the
// last, zero-size chunk. The patched parser copy (daemon/http/uws.ts) closes the connection
// instead, as it does on a bad chunk size.
t.test('a chunk whose data is not followed by CRLF closes the connection: nothing is stored, and no request behind it runs', { skip: PATCHED ? false : 'no parser patch on this platform (docs/operations.md, Known limitations)' }, async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'chunkcrlf');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'victim', Body: 'still here' }));
  const head = (method: string, path: string, headers: Record<string, string> = {}): string =>
    `${method} ${path} HTTP/1.1\r\n${Object.entries(signedHeaders(d.port, { method, path, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers }, payloadHash: 'UNSIGNED-PAYLOAD' }))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;
  const put = (key: string): string => head('PUT', `/${bucket}/${key}`, { 'transfer-encoding': 'chunked' });
  const hidden = head('DELETE', `/${bucket}/victim`);
  const cases: Array<[string, string]> = [
    ['XX for the CRLF', '5\r\nhelloXX5\r\nworld\r\n0\r\n\r\n'],
    ['XX before the CRLF, a DELETE after the body', `5\r\nhelloXX\r\n0\r\n\r\n${hidden}`],
    ['CR alone', '5\r\nhello\r5\r\nworld\r\n0\r\n\r\n'],
    ['LF alone', '5\r\nhello\n5\r\nworld\r\n0\r\n\r\n'],
  ];
  for (const [i, [what, body]] of cases.entries()) {
    const r = await tcpExchange(d.port, put(`bad-${i}`) + body, { idleMs: 1500 });
    t.ok(r.closed, `${what}: the connection is closed`);
    t.notMatch(r.data.toString('latin1'), /HTTP\/1\.1 20/, `${what}: nothing was answered as done`);
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: `bad-${i}` }))), 'NoSuchKey/404', `${what}: nothing stored`);
    t.equal((await getBytes(s3, { Bucket: bucket, Key: 'victim' })).toString(), 'still here', `${what}: no DELETE ran`);
  }
  // The same body with its CRLFs: stored.
  const r = await tcpExchange(d.port, put('good') + '5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n', { untilResponse: true });
  t.match(r.data.toString('latin1'), /^HTTP\/1\.1 200/, 'with its CRLFs: answered 200');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'good' })).toString(), 'helloworld', 'the body stored');
  // The CRLF after the last chunk (Bun's TE.TE case, oven-sh/bun#29733): `X:` in its place made
  // the request after it run, where a proxy reads `X:DELETE …` as a trailer field of this one. A
  // GET is answered at once, so the DELETE ran.
  const get = head('GET', `/${bucket}/good`, { 'transfer-encoding': 'chunked' });
  const smuggled = await tcpExchange(d.port, `${get}0\r\nX:${hidden}`, { idleMs: 1500 });
  t.ok(smuggled.closed, 'X: for the CRLF after the last chunk: the connection is closed');
  t.notMatch(smuggled.data.toString('latin1'), /HTTP\/1\.1 204/, 'X: for the CRLF after the last chunk: the DELETE was not answered');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'victim' })).toString(), 'still here', 'X: for the CRLF after the last chunk: the DELETE did not run');
  // With the CRLF, the GET and the DELETE after it both run.
  const both = await tcpExchange(d.port, `${get}0\r\n\r\n${hidden}`, { idleMs: 1500 });
  t.match(both.data.toString('latin1'), /^HTTP\/1\.1 200[\s\S]*helloworld[\s\S]*HTTP\/1\.1 204/, 'with the CRLF: the GET and the DELETE after it are answered');
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'victim' }))), 'NoSuchKey/404', 'and the DELETE took effect');
});

t.test('Content-Length repeated with one value is that value (RFC 9110 8.6; rclone presigned uploads send it twice)', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'samelength');
  // (One header holding `5, 5` is refused: see the cases above.)
  for (const [key, extra] of [['twice', ['content-length: 5', 'content-length: 5']]] as const) {
    const path = `/${bucket}/${key}`;
    const signed = signedHeaders(d.port, { method: 'PUT', path, payloadHash: 'UNSIGNED-PAYLOAD' });
    const request = `PUT ${path} HTTP/1.1\r\n${Object.entries(signed)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}${extra.map((l) => `${l}\r\n`).join('')}\r\nhello`;
    const r = await tcpExchange(d.port, request, { idleMs: 1000 });
    t.match(r.data.toString('latin1'), /^HTTP\/1\.1 200/, `${key}: answered 200`);
    t.equal((await getBytes(s3, { Bucket: bucket, Key: key })).toString(), 'hello', `${key}: the body stored`);
  }
});

t.test('a path with bytes that are not UTF-8 is refused, not read as U+FFFD (one key, one signature for many requests)', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'rawbytes');
  for (const [what, bytes] of [
    ['a raw surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['0xFF', [0xff]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
  ] as const) {
    const request = Buffer.concat([Buffer.from(`PUT /${bucket}/raw`), Buffer.from(bytes), Buffer.from(` HTTP/1.1\r\nhost: 127.0.0.1:${d.port}\r\ncontent-length: 1\r\n\r\nx`)]);
    const r = await tcpExchange(d.port, request, { untilResponse: true });
    t.match(r.data.toString('latin1'), /^HTTP\/1\.1 400 [\s\S]*<Code>InvalidURI<\/Code>[\s\S]*not valid UTF-8/, `${what}: 400 InvalidURI (as S3 answers a path it cannot parse)`);
  }
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'raw\uFFFD' }))), 'NoSuchKey/404', 'nothing was stored');
  // U+FFFD itself is a key's character when sent percent-encoded, as every SDK sends it.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'replacement \uFFFD char', Body: 'ok' }));
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'replacement \uFFFD char' })).toString(), 'ok', 'a key with U+FFFD, percent-encoded, round-trips');
});

// The uWebSockets.js build refuses header names with any token character but letters, digits and
// '-' without an answer (docs/operations.md, Known limitations). s3d loads a copy whose parser
// also takes every other token character, `"(),/@[\]{}` and bytes above 0x7f, where a patch for the
// binary is known (daemon/http/uws.ts, linux-x64); the server refuses the names HTTP does not
// allow. Elsewhere the
// limit is pinned, so that a build which lifts it shows up.
t.test(PATCHED ? "header names with every token character are served; other bytes are refused (400), but ;<=>?, space and control bytes which still get no answer" : "a header name with '_' or '.' gets no answer; letters, digits and '-' do", async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'hdrname');
  const put = (key: string, headers: Record<string, string>, body = 'x'): string => {
    const path = `/${bucket}/${encodeURIComponent(key)}`;
    return `PUT ${path} HTTP/1.1\r\n${Object.entries(signedHeaders(d.port, { method: 'PUT', path, headers: { ...headers, 'content-length': String(body.length) } }))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n${body}`;
  };
  const unanswered = PATCHED ? ['x-amz-meta-semi;colon', 'x-amz-meta-a=b', 'x-amz-meta-a b', 'x-amz-meta-a\tb'] : ['x-amz-meta-original_name', 'x-amz-meta-file.name'];
  for (const name of unanswered) {
    const r = await tcpExchange(d.port, put(name, { [name]: '1' }), { idleMs: 2000, timeoutMs: 3000 });
    t.equal(r.data.length, 0, `${name}: no answer`);
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: name }))), 'NoSuchKey/404', `${name}: nothing stored`);
  }
  const ok = await tcpExchange(d.port, put('x-amz-meta-original-name', { 'x-amz-meta-original-name': '1' }), { untilResponse: true });
  t.match(ok.data.toString('latin1'), /^HTTP\/1\.1 200/, "x-amz-meta-original-name (only '-'): stored");
  if (!PATCHED) return;
  // Signed (SigV4 names every header it signs in SignedHeaders): the names the server reads must be
  // the names the client signed.
  const served = await tcpExchange(d.port, put('names', { 'x-amz-meta-original_name': 'a.txt', 'x-amz-meta-file.name': 'b', 'x-amz-meta-_lead.and_trail_': 'c' }), { untilResponse: true });
  t.match(served.data.toString('latin1'), /^HTTP\/1\.1 200/, "signed names with '_' and '.': stored");
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'names' }));
  t.strictSame(head.Metadata, { 'original_name': 'a.txt', 'file.name': 'b', '_lead.and_trail_': 'c' }, 'the metadata names come back as sent');
  // `Content_Length` and `Transfer_Encoding` are names of their own, never framing headers: the
  // body is framed by Content-Length alone (answered at once, not after 5 bytes or a chunk).
  const framed = await tcpExchange(d.port, put('framed', { 'content_length': '5', 'transfer_encoding': 'chunked' }, 'x'), { untilResponse: true, timeoutMs: 4000 });
  t.match(framed.data.toString('latin1'), /^HTTP\/1\.1 200/, 'Content_Length and Transfer_Encoding frame nothing');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'framed' })).toString(), 'x', 'one byte stored, as Content-Length said');
  const slash = await tcpExchange(d.port, put('slash', { 'x-amz-meta-a/b': '1' }), { untilResponse: true });
  t.match(slash.data.toString('latin1'), /^HTTP\/1\.1 400 [\s\S]*<Code>InvalidArgument<\/Code>[\s\S]*x-amz-meta-a\/b[\s\S]*not a valid HTTP field name/, "a name with '/': 400 InvalidArgument");
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'slash' }))), 'NoSuchKey/404', "a name with '/': nothing stored");
  // The other bytes the parser takes and HTTP does not allow in a name: an answer at once, not the
  // 10-second silence they got before. `[` and `]` arrive as `{` and `}` (the parser's `| 0x20`).
  // A signed name holding `\` or `@` (no token characters either) arrives as `|` or `` ` ``: the
  // signature names it as sent, and the server refuses it under that name.
  const message = (r: { data: Buffer }): string =>
    (/<Message>([^<]*)<\/Message>/.exec(r.data.toString('latin1'))?.[1] ?? '').replace(/&(quot|apos|lt|gt|amp);/g, (_, e: string) => ({ quot: '"', apos: "'", lt: '<', gt: '>', amp: '&' })[e]!);
  const refusedNames: Array<[sent: string, named: string]> = [
    ['x-amz-meta-a(b', 'x-amz-meta-a(b'], ['x-amz-meta-a"b', 'x-amz-meta-a"b'], ['x-amz-meta-a)b,', 'x-amz-meta-a)b,'], ['x-amz-meta-{b}', 'x-amz-meta-{b}'],
    ['x-amz-meta-a[b]', 'x-amz-meta-a{b}'], ['x-amz-meta-back\\slash', 'x-amz-meta-back\\slash'], ['x-amz-meta-at@sign', 'x-amz-meta-at@sign'],
  ];
  for (const [i, [sent, named]] of refusedNames.entries()) {
    const started = Date.now();
    const r = await tcpExchange(d.port, put(`refused-${i}`, { [sent]: '1' }), { untilResponse: true, timeoutMs: 4000 });
    const ms = Date.now() - started;
    t.match(r.data.toString('latin1'), /^HTTP\/1\.1 400 [\s\S]*<Code>InvalidArgument<\/Code>/, `${sent}: 400 InvalidArgument`);
    t.equal(message(r), `The header name ${JSON.stringify(named)} is not a valid HTTP field name.`, `${sent}: the error names ${named}`);
    t.ok(ms < 2000, `${sent}: answered in ${ms} ms (well under the 10-second idle timeout)`);
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: `refused-${i}` }))), 'NoSuchKey/404', `${sent}: nothing stored`);
  }
  // A name holding bytes above 0x7f (UTF-8 here, as curl sends `-H 'x-amz-meta-café: 1'`) reaches
  // the server mangled by the parser's `| 0x20`: refused at once (it got no answer for 10 s), the
  // name told only as far as it is ASCII.
  for (const [i, [sent, told]] of ([['x-amz-meta-café', ' (the name begins "x-amz-meta-caf")'], ['x-amz-meta-\u00e9t\u00e9', ' (the name begins "x-amz-meta-")'], ['\u00e9x', '']] as const).entries()) {
    const started = Date.now();
    const r = await tcpExchange(d.port, put(`utf8-${i}`, { [sent]: '1' }), { untilResponse: true, timeoutMs: 4000 });
    const ms = Date.now() - started;
    t.match(r.data.toString('latin1'), /^HTTP\/1\.1 400 [\s\S]*<Code>InvalidArgument<\/Code>/, `${sent}: 400 InvalidArgument`);
    t.equal(message(r), `A header name holds a byte outside printable ASCII${told}: a header name, a user metadata name among them, must be ASCII.`, `${sent}: the message`);
    t.ok(ms < 2000, `${sent}: answered in ${ms} ms (well under the 10-second idle timeout)`);
    t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: `utf8-${i}` }))), 'NoSuchKey/404', `${sent}: nothing stored`);
  }
  // A refused name's body that is a complete signed request stays body: it does not run as a
  // second request.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'victim', Body: 'still here' }));
  const victimPath = `/${bucket}/victim`;
  const hidden = `DELETE ${victimPath} HTTP/1.1\r\n${Object.entries(signedHeaders(d.port, { method: 'DELETE', path: victimPath })).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  for (const name of ['x-amz-meta-café', 'x-amz-meta-a/b']) {
    const r = await tcpExchange(d.port, put('outer', { [name]: '1' }, hidden), { idleMs: 1500, timeoutMs: 4000 });
    const text = r.data.toString('latin1');
    t.match(text, /^HTTP\/1\.1 400 /, `${name} before a body holding a DELETE: 400`);
    t.equal(text.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, `${name}: one answer, not two`);
    t.equal((await getBytes(s3, { Bucket: bucket, Key: 'victim' })).toString(), 'still here', `${name}: the DELETE in its body did not run`);
  }
  t.equal(await s3Code(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'outer' }))), 'NoSuchKey/404', 'no outer object was stored');
  // Signed names with every other token character, `^` among them (it arrives as `~` and is
  // respelled as signed), sent by hand: stored, and given back as sent.
  const tokens = { 'x-amz-meta-caret^name': 'a', 'x-amz-meta-tilde~name': 'b', 'x-amz-meta-bang!name': 'c', 'x-amz-meta-bar|name': 'd', 'x-amz-meta-tick`name': 'e', "x-amz-meta-#$%&'*+": 'f' };
  const stored = await tcpExchange(d.port, put('tokens', tokens), { untilResponse: true, timeoutMs: 4000 });
  t.match(stored.data.toString('latin1'), /^HTTP\/1\.1 200/, 'signed names with token characters: stored');
  t.strictSame((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'tokens' }))).Metadata, { 'caret^name': 'a', 'tilde~name': 'b', 'bang!name': 'c', 'bar|name': 'd', 'tick`name': 'e', "#$%&'*+": 'f' }, 'the names come back as signed');
});

t.test('the closing is logged as a warning (S3_LOG_LEVEL=warn keeps it), one line per client address per 10 s', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'smugglelog');
  // It was logged at info, which S3_LOG_LEVEL=warn (what an operator picks to see only trouble) drops.
  const repeatedHost = (): string => `GET /${bucket}/x HTTP/1.1\r\n${Object.entries(signedHeaders(d.port, { method: 'GET', path: `/${bucket}/x` }))
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}host: other.example\r\n\r\n`;
  const tries = 5;
  for (let i = 0; i < tries; i++) t.ok((await tcpExchange(d.port, repeatedHost(), { idleMs: 300 })).closed, `try ${i + 1}: the connection is closed`);
  const lines = d.jsonLogs().filter((l) => typeof l.msg === 'string' && l.msg.includes('possible request smuggling'));
  // A client repeats the header at will: each one a line let it fill the log.
  t.equal(lines.length, 1, `${tries} closings from one address within 10 s: one line`);
  t.equal(lines[0]?.level, 40, 'at warn');
  t.equal(lines[0]?.remoteAddress, '127.0.0.1', 'naming the client');
  t.equal(lines[0]?.closed, 1, 'the first closing is told at once');
});

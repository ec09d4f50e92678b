// Hostile input (issue 8 §4): malformed requests each get a clear S3 error (the code is asserted),
// never a crash and never a 5xx for a client fault; uploads that fail leave no temp file and no
// object; a flipped ciphertext byte never yields an unauthenticated plaintext byte. Then a bounded,
// seeded fuzzer (loopback only) mixes methods, paths, queries, headers and bodies, signed so they
// reach the handlers, or unsigned and garbled; afterwards the daemon still serves correctly and its
// RSS stayed flat.

import t, { type Test } from 'tap';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { chunkStringToSign, deriveSigningKey, signatureHex } from '../../daemon/auth/sigv4.js';
import { REGION, SECRET_KEY, bucketName, prng, rssKiB, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths, expectNoTempFiles, flipByte } from '../helpers/files.js';
import { md5Base64, sha256Hex } from '../helpers/hash.js';
import { errorCode, send, signedHeaders, type RawResponse } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';
import { ssecCopy, ssecHeaders } from '../helpers/sse.js';
import { parseHttpResponse, tcpConversation, tcpExchange } from '../helpers/tcp.js';
import { sleep } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let d: TestDaemon;
let bucket: string;
const objBody = testBytes(200_000, 5);

t.before(async () => {
  d = await startDaemon();
  bucket = await createBucket(d.s3(), 'hostile');
  await d.s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'obj', Body: objBody, ServerSideEncryption: 'AES256' }));
});
t.teardown(async () => {
  await d.stop('SIGKILL');
  d.cleanup();
});

function alive(t: Test): void {
  t.equal(d.proc.exitCode, null, 'daemon still running');
}

/** A client-fault answer: the status, an XML error body with this code. */
function expectError(t: Test, r: RawResponse, status: number, code: string | readonly string[], what: string): void {
  const codes = typeof code === 'string' ? [code] : code;
  t.equal(r.status, status, `${what}: HTTP ${status}`);
  t.ok(codes.includes(errorCode(r.body) ?? ''), `${what}: code ${errorCode(r.body)} (want ${codes.join(' or ')})`);
}

function waitNoTemp(t: Test, what: string): Promise<void> {
  return expectNoTempFiles(t, d.dataDir, what);
}

async function absent(t: Test, key: string, what: string): Promise<void> {
  const r = await send(d.port, { method: 'HEAD', path: `/${bucket}/${key}` });
  t.equal(r.status, 404, `${what}: object absent`);
}

/** Raw request bytes: request line, headers (in order, duplicates allowed), body. */
function rawRequest(method: string, target: string, headers: Array<[string, string]>, body: Buffer | string = ''): Buffer {
  const head = `${method} ${target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
}

function signedList(method: string, path: string, extra: Record<string, string> = {}, query = ''): Array<[string, string]> {
  return Object.entries(signedHeaders(d.port, { method, path, query, headers: extra }));
}

t.test('bad XML bodies → MalformedXML (and friends)', async (t) => {
  const del = (body: string): Promise<RawResponse> =>
    send(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete=', body, headers: { 'content-md5': md5Base64(body), 'content-type': 'application/xml' } });
  const bad: Array<[string, string]> = [
    ['not XML at all', 'hello world'],
    ['unclosed element', '<Delete><Object><Key>a</Key></Object>'],
    ['mismatched tags', '<Delete><Object><Key>a</Object></Key></Delete>'],
    ['empty Delete', '<Delete></Delete>'],
    ['wrong root', '<Foo><Object><Key>a</Key></Object></Foo>'],
    ['Object without Key', '<Delete><Object><Nope>a</Nope></Object></Delete>'],
    ['binary garbage', testBytes(3000, 9).toString('latin1')],
  ];
  const laughs = await del(
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">]><Delete><Object><Key>&lol7;</Key></Object></Delete>',
  );
  t.ok([200, 400].includes(laughs.status), `DeleteObjects, entity expansion ("billion laughs"): ${laughs.status} ${errorCode(laughs.body) ?? ''}`);
  t.ok(laughs.body.length < 10 * KiB, `entities were not expanded (${laughs.body.length}-byte answer)`);
  const xxe = await del('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&xxe;</Key></Object></Delete>');
  expectError(t, xxe, 400, 'MalformedXML', 'DeleteObjects, external entity (XXE)');
  t.notMatch(xxe.body.toString(), /root:/, 'no file content leaks');
  const bad2: Array<[string, string]> = [
    ['deep nesting', '<Delete>' + '<a>'.repeat(20000) + '</a>'.repeat(20000) + '</Delete>'],
    ['1001 objects', `<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`],
  ];
  for (const [what, body] of [...bad, ...bad2]) {
    const r = await del(body);
    t.ok(r.status === 400, `DeleteObjects, ${what}: 400 (got ${r.status} ${errorCode(r.body)})`);
    t.ok(['MalformedXML', 'InvalidArgument', 'InvalidRequest'].includes(errorCode(r.body) ?? ''), `DeleteObjects, ${what}: ${errorCode(r.body)}`);
  }
  expectError(t, await del('<Delete><Object><Key>a</Key></Object>'), 400, 'MalformedXML', 'DeleteObjects, truncated');
  const noMd5 = await send(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete=', body: '<Delete><Object><Key>a</Key></Object></Delete>' });
  t.ok(noMd5.status === 400 || noMd5.status === 200, `DeleteObjects without Content-MD5: ${noMd5.status} ${errorCode(noMd5.body) ?? ''}`);
  const big = `<Delete>${'<Object><Key>' + 'k'.repeat(900) + '</Key></Object>'.repeat(1)}${' '.repeat(8 * MiB)}</Delete>`;
  const rbig = await del(big);
  t.equal(rbig.status, 400, `DeleteObjects with a body past 8 MiB: 400 ${errorCode(rbig.body)}`);
  t.ok(errorCode(rbig.body), 'with a code');

  // CompleteMultipartUpload and PutBucketEncryption.
  const up = await d.s3().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mpx' }));
  const q = `uploadId=${encodeURIComponent(up.UploadId!)}`;
  const complete = (body: string): Promise<RawResponse> => send(d.port, { method: 'POST', path: `/${bucket}/mpx`, query: q, body });
  expectError(t, await complete('<CompleteMultipartUpload><Part>'), 400, 'MalformedXML', 'Complete, malformed');
  expectError(t, await complete('<CompleteMultipartUpload></CompleteMultipartUpload>'), 400, 'MalformedXML', 'Complete, no parts');
  expectError(t, await complete('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'), 400, 'InvalidPart', 'Complete, part never uploaded');
  expectError(
    t,
    await complete('<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>"x"</ETag></Part><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'),
    400,
    ['InvalidPartOrder', 'InvalidPart'],
    'Complete, parts out of order',
  );
  expectError(t, await complete('<CompleteMultipartUpload><Part><PartNumber>abc</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>'), 400, ['MalformedXML', 'InvalidArgument', 'InvalidPart'], 'Complete, part number not a number');
  const enc = (body: string): Promise<RawResponse> => send(d.port, { method: 'PUT', path: `/${bucket}`, query: 'encryption=', body, headers: { 'content-md5': md5Base64(body) } });
  expectError(t, await enc('<ServerSideEncryptionConfiguration><Rule>'), 400, 'MalformedXML', 'PutBucketEncryption, malformed');
  const badAlg = await enc('<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>ROT13</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>');
  t.equal(badAlg.status, 400, `PutBucketEncryption, unknown algorithm: 400 ${errorCode(badAlg.body)}`);
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucketName()}`, body: '<CreateBucketConfiguration><LocationConstraint>' }), 400, 'MalformedXML', 'CreateBucket, malformed');
  alive(t);
});

t.test('oversized and duplicated headers', async (t) => {
  const meta = await send(d.port, { method: 'PUT', path: `/${bucket}/meta`, body: 'x', headers: { 'x-amz-meta-big': 'v'.repeat(3 * KiB) } });
  expectError(t, meta, 400, 'MetadataTooLarge', '3 KiB of user metadata');
  await absent(t, 'meta', 'MetadataTooLarge');

  // Beyond the HTTP parser's limits: refused without a crash (431/400 or the connection closed).
  for (const [what, headers] of [
    ['one 64 KiB header', [['host', 'x'], ['x-amz-meta-a', 'v'.repeat(64 * KiB)]]],
    ['1000 headers', [['host', 'x'], ...Array.from({ length: 1000 }, (_, i) => [`x-h${i}`, 'v'])]],
    ['a 20 KiB request target', [['host', 'x']]],
  ] as Array<[string, Array<[string, string]>]>) {
    const target = what.includes('target') ? `/${bucket}/${'a'.repeat(20 * KiB)}` : `/${bucket}/obj`;
    // Past ~50 headers this uWS build answers nothing and closes at its 10 s timeout (a known
    // limitation, docs/operations.md); with 1000 the head (~10 KB) now fits the parser copy's
    // 16 KiB for a head arriving in pieces, so it meets that limit rather than the old 4 KiB one.
    const r = await tcpExchange(d.port, rawRequest('GET', target, headers), what === '1000 headers' ? { idleMs: 12_000, timeoutMs: 15_000 } : { idleMs: 1500 });
    const res = parseHttpResponse(r.data);
    t.ok(res === undefined ? r.closed : res.status >= 400 && res.status < 500, `${what}: ${res ? `HTTP ${res.status} ${errorCode(res.body) ?? ''}` : 'connection closed'}`);
  }

  // Duplicates, as a proxy or attacker might send them.
  const sig = signedList('GET', `/${bucket}/obj`);
  const auth = sig.find(([k]) => k === 'authorization')!;
  const dupAuth = parseHttpResponse((await tcpExchange(d.port, rawRequest('GET', `/${bucket}/obj`, [...sig, auth]))).data);
  t.ok(dupAuth && [400, 403].includes(dupAuth.status), `two Authorization headers: ${dupAuth?.status} ${errorCode(dupAuth?.body ?? '')}`);
  t.ok(['AuthorizationHeaderMalformed', 'SignatureDoesNotMatch', 'InvalidArgument', 'InvalidRequest', 'AccessDenied'].includes(errorCode(dupAuth!.body) ?? ''), 'with an auth error code');
  const dupDate = parseHttpResponse((await tcpExchange(d.port, rawRequest('GET', `/${bucket}/obj`, [...sig, ['x-amz-date', '20200101T000000Z']]))).data);
  t.ok(dupDate && [400, 403].includes(dupDate.status) && errorCode(dupDate.body), `two x-amz-date headers: ${dupDate?.status} ${errorCode(dupDate?.body ?? '')}`);
  // Two Hosts could route the request to two places: the connection is closed (http-request-smuggling.test.ts).
  const dupHostX = await tcpExchange(d.port, rawRequest('GET', `/${bucket}/obj`, [...sig, ['host', 'evil.example']]));
  const dupHost = parseHttpResponse(dupHostX.data);
  t.ok(dupHost === undefined ? dupHostX.closed : [400, 403].includes(dupHost.status), `two Host headers: ${dupHost ? `${dupHost.status} ${errorCode(dupHost.body) ?? ''}` : 'connection closed'}`);

  // Two different Content-Lengths: request smuggling; must not store anything.
  const body = 'abcdefghij';
  const put = signedList('PUT', `/${bucket}/smuggle`, { 'content-length': '10' });
  const dupLen = await tcpExchange(d.port, rawRequest('PUT', `/${bucket}/smuggle`, [...put, ['content-length', '5']], body));
  const dl = parseHttpResponse(dupLen.data);
  t.ok(dl === undefined ? dupLen.closed : [400, 403].includes(dl.status) && errorCode(dl.body), `two different Content-Length headers: ${dl ? `${dl.status} ${errorCode(dl.body) ?? ''}` : 'connection closed'}`);
  await absent(t, 'smuggle', 'two Content-Lengths');
  // Content-Length and Transfer-Encoding together.
  const te = await tcpExchange(d.port, rawRequest('PUT', `/${bucket}/smuggle`, [...put, ['transfer-encoding', 'chunked']], 'a\r\nabcdefghij\r\n0\r\n\r\n'));
  const ter = parseHttpResponse(te.data);
  t.ok(ter === undefined ? te.closed : ter.status >= 400 && ter.status < 500, `Content-Length with Transfer-Encoding: ${ter ? ter.status : 'closed'}`);
  await absent(t, 'smuggle', 'CL + TE');
  alive(t);
});

/** aws-chunked body with per-chunk signatures; Content-Length (signed) is the final body's length. */
function chunkedSigned(path: string, chunks: Buffer[], opts: { decoded?: number; corruptSig?: number; rawOverride?: (parts: Buffer[]) => Buffer } = {}): { headers: Record<string, string>; body: Buffer } {
  const decoded = opts.decoded ?? chunks.reduce((n, c) => n + c.length, 0);
  const all = [...chunks, Buffer.alloc(0)];
  const frame = (sigs: string[]): Buffer[] => all.flatMap((c, i) => [Buffer.from(`${c.length.toString(16)};chunk-signature=${sigs[i]}\r\n`), c, Buffer.from('\r\n')]);
  const assemble = (parts: Buffer[]): Buffer => (opts.rawOverride ? opts.rawOverride(parts) : Buffer.concat(parts));
  // Signatures are fixed-size hex: the final length is known before signing.
  const length = assemble(frame(all.map(() => '0'.repeat(64)))).length;
  const headers = signedHeaders(d.port, {
    method: 'PUT',
    path,
    payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(decoded), 'content-length': String(length) },
  });
  const amzDate = headers['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const key = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
  let prev = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
  const sigs = all.map((c, i) => {
    let sig = signatureHex(key, chunkStringToSign(amzDate, scope, prev, sha256Hex(c)));
    prev = sig;
    if (opts.corruptSig === i) sig = sig.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
    return sig;
  });
  return { headers, body: assemble(frame(sigs)) };
}

async function putChunked(path: string, built: { headers: Record<string, string>; body: Buffer }): Promise<RawResponse> {
  const headers = { ...built.headers };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: d.port, method: 'PUT', path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(built.body);
  });
}

t.test('aws-chunked framing and chunk signatures', async (t) => {
  const c1 = testBytes(70_000, 1);
  const c2 = testBytes(5_000, 2);
  const ok = await putChunked(`/${bucket}/chunked`, chunkedSigned(`/${bucket}/chunked`, [c1, c2]));
  t.equal(ok.status, 200, 'a well-formed signed aws-chunked PUT is stored (control)');

  const cases: Array<[string, { headers: Record<string, string>; body: Buffer }, string | string[]]> = [
    ['second chunk signature wrong', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { corruptSig: 1 }), 'SignatureDoesNotMatch'],
    ['final chunk signature wrong', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { corruptSig: 2 }), 'SignatureDoesNotMatch'],
    ['decoded length says more', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { decoded: 80_000 }), 'IncompleteBody'],
    ['decoded length says less', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { decoded: 1000 }), 'IncompleteBody'],
    [
      'chunk size not hex',
      chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { rawOverride: (p) => Buffer.concat([Buffer.from(p[0]!.toString().replace(/^[0-9a-f]+/, 'zzzzz')), ...p.slice(1)]) }),
      ['IncompleteBody', 'InvalidRequest'],
    ],
    ['missing CRLF after a chunk', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { rawOverride: (p) => Buffer.concat([p[0]!, p[1]!, Buffer.from('XY'), ...p.slice(3)]) }), ['IncompleteBody', 'InvalidRequest']],
    ['no final chunk', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { rawOverride: (p) => Buffer.concat(p.slice(0, 6)) }), ['IncompleteBody', 'InvalidRequest']],
    ['chunk longer than its size line', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { rawOverride: (p) => Buffer.concat([p[0]!, p[1]!, Buffer.from('extra'), ...p.slice(2)]) }), ['IncompleteBody', 'InvalidRequest', 'SignatureDoesNotMatch']],
    ['data after the final chunk', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { rawOverride: (p) => Buffer.concat([...p, Buffer.from('trailing junk')]) }), ['InvalidRequest', 'IncompleteBody']],
    ['size line without chunk-signature', chunkedSigned(`/${bucket}/ch-bad`, [c1, c2], { rawOverride: (p) => Buffer.concat([Buffer.from(`${c1.length.toString(16)}\r\n`), ...p.slice(1)]) }), ['IncompleteBody', 'SignatureDoesNotMatch', 'InvalidRequest']],
  ];
  for (const [what, built, code] of cases) {
    const r = await putChunked(`/${bucket}/ch-bad`, built);
    expectError(t, r, 400 + (errorCode(r.body) === 'SignatureDoesNotMatch' ? 3 : 0), code, what);
    t.notOk(r.status >= 500, `${what}: not a 5xx`);
  }
  await absent(t, 'ch-bad', 'bad aws-chunked bodies');
  await waitNoTemp(t, 'bad aws-chunked bodies');
  alive(t);
});

t.test('bodies shorter or longer than declared, and digests that do not match', async (t) => {
  // Shorter, then the client half-closes: the server must notice, store nothing, keep no temp file.
  for (const [what, size] of [['inline-sized', 1000], ['file-sized', 3 * MiB]] as const) {
    const head = signedList('PUT', `/${bucket}/short`, { 'content-length': String(size) });
    const r = await tcpExchange(d.port, rawRequest('PUT', `/${bucket}/short`, head, testBytes(Math.floor(size / 2), 3)), { idleMs: 1500 });
    const res = parseHttpResponse(r.data);
    t.ok(res === undefined || (res.status >= 400 && res.status < 500), `${what} body shorter than Content-Length: ${res ? `${res.status} ${errorCode(res.body)}` : 'no response (client went away)'}`);
  }
  await sleep(300);
  await absent(t, 'short', 'short body');
  await waitNoTemp(t, 'short bodies');

  // Longer: the extra bytes are the next "request" on the connection (garbage → 400 or close).
  const longHead = signedList('PUT', `/${bucket}/long`, { 'content-length': '10' });
  const lr = await tcpExchange(d.port, rawRequest('PUT', `/${bucket}/long`, longHead, '0123456789EXTRA-BYTES-THAT-ARE-NOT-HTTP\r\n\r\n'), { idleMs: 1000 });
  const lres = parseHttpResponse(lr.data);
  t.equal(lres?.status, 200, 'the declared 10 bytes are stored');
  const got = await send(d.port, { method: 'GET', path: `/${bucket}/long` });
  t.equal(got.body.toString(), '0123456789', 'exactly the declared bytes, nothing of the excess');
  const rest = lr.data.subarray(lr.data.indexOf('\r\n\r\n') + 4 + Number(lres?.headers['content-length'] ?? 0));
  t.ok(rest.length === 0 || /^HTTP\/1\.1 4\d\d/.test(rest.toString('latin1')), `the excess is refused as a request (${rest.toString('latin1').split('\r\n')[0] || 'connection closed'})`);

  const body = testBytes(300_000, 4);
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucket}/digest`, body, headers: { 'content-md5': md5Base64('something else') } }), 400, 'BadDigest', 'Content-MD5 mismatch');
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucket}/digest`, body, headers: { 'content-md5': 'not-base64!' } }), 400, 'InvalidDigest', 'Content-MD5 not base64 of 16 bytes');
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucket}/digest`, body, payloadHash: sha256Hex('other') }), 400, 'XAmzContentSHA256Mismatch', 'x-amz-content-sha256 mismatch');
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucket}/digest`, body, headers: { 'x-amz-checksum-crc32': 'AAAAAA==' } }), 400, 'BadDigest', 'x-amz-checksum-crc32 mismatch');
  await absent(t, 'digest', 'digest mismatches');
  await waitNoTemp(t, 'digest mismatches');
  const noLen = await tcpExchange(d.port, rawRequest('PUT', `/${bucket}/nolen`, signedList('PUT', `/${bucket}/nolen`)), { idleMs: 800 });
  const nl = parseHttpResponse(noLen.data);
  t.ok(nl && (nl.status === 411 || nl.status === 200), `PUT without Content-Length: ${nl?.status} ${errorCode(nl?.body ?? '') ?? ''}`);
  alive(t);
});

t.test('absurd ranges and part numbers', async (t) => {
  const get = (range: string | undefined, query = ''): Promise<RawResponse> => send(d.port, { method: 'GET', path: `/${bucket}/obj`, query, headers: range === undefined ? {} : { range } });
  const size = objBody.length;
  expectError(t, await get(`bytes=${size}-`), 416, 'InvalidRange', 'start at the size');
  expectError(t, await get('bytes=99999999999999999999-'), 416, 'InvalidRange', 'start beyond 2^64');
  expectError(t, await get('bytes=-0'), 416, 'InvalidRange', 'empty suffix');
  const full = [['bytes=5-2', 'end before start'], ['bytes=abc', 'not a range'], ['bytes=0-1,5-6', 'multiple ranges'], ['bytes=--5', 'double dash'], ['items=0-5', 'other unit'], ['bytes=', 'empty']];
  for (const [range, what] of full) {
    const r = await get(range);
    t.equal(r.status, 200, `${what} (${range}): ignored, whole object`);
    t.ok(r.body.equals(objBody), `${what}: whole body`);
  }
  const clamp = await get('bytes=199990-99999999999999999999');
  t.equal(clamp.status, 206, 'end beyond the object is clamped');
  t.ok(clamp.body.equals(objBody.subarray(199_990)), 'clamped bytes');
  const suffix = await get('bytes=-99999999999');
  t.equal(suffix.status, 206, 'suffix longer than the object');
  t.ok(suffix.body.equals(objBody), 'whole body');
  for (const pn of ['0', '10001', 'abc', '-1', '1.5']) expectError(t, await get(undefined, `partNumber=${pn}`), 400, 'InvalidArgument', `partNumber=${pn}`);
  expectError(t, await get(undefined, 'partNumber=2'), 416, ['InvalidPartNumber', 'InvalidRange'], 'partNumber=2 of a single-part object');
  const one = await get(undefined, 'partNumber=1');
  t.equal(one.status, 206, 'partNumber=1 of a single-part object: 206, the whole object as its one part');
  t.equal(one.headers['content-range'], `bytes 0-${size - 1}/${size}`);
  t.equal(one.headers['x-amz-mp-parts-count'], undefined, 'no parts count: it is not a multipart object');
  t.ok(one.body.equals(objBody));
  alive(t);
});

t.test('invalid UTF-8 and over-long keys', async (t) => {
  for (const enc of ['%C3%28', '%FF', '%E2%82', '%ED%A0%80', '%', '%zz']) {
    const r = await send(d.port, { method: 'PUT', path: `/${bucket}/k${enc}`, body: 'x' });
    expectError(t, r, 400, 'InvalidURI', `key with ${enc}`);
  }
  const rawBytes = await tcpExchange(d.port, Buffer.concat([Buffer.from(`GET /${bucket}/k`), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nhost: x\r\n\r\n')]));
  const rb = parseHttpResponse(rawBytes.data);
  t.ok(rb === undefined ? rawBytes.closed : rb.status >= 400 && rb.status < 500, `raw non-UTF-8 bytes in the request line: ${rb ? `${rb.status} ${errorCode(rb.body)}` : 'closed'}`);
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/${'a'.repeat(1024)}`, body: 'x' })).status, 200, '1024-byte key is fine');
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucket}/${'a'.repeat(1025)}`, body: 'x' }), 400, 'KeyTooLongError', '1025-byte key');
  expectError(t, await send(d.port, { method: 'PUT', path: `/${bucket}/${encodeURIComponent('€'.repeat(342))}`, body: 'x' }), 400, 'KeyTooLongError', '342 × € = 1026 bytes');
  expectError(t, await send(d.port, { method: 'GET', path: `/${bucket}/${'b'.repeat(1025)}` }), 400, 'KeyTooLongError', 'GET with a 1025-byte key');
  const nul = await send(d.port, { method: 'PUT', path: `/${bucket}/nul%00key`, body: 'x' });
  t.ok(nul.status === 200 || (nul.status === 400 && errorCode(nul.body)), `key with NUL: ${nul.status} ${errorCode(nul.body) ?? ''}`);
  const bad = await send(d.port, { method: 'PUT', path: '/Bad_Bucket', body: '' });
  expectError(t, bad, 400, 'InvalidBucketName', 'invalid bucket name');
  alive(t);
});

t.test('SSE-C: wrong, missing and malformed customer keys (TLS)', async (t) => {
  const td = await startDaemon({ tls: true });
  t.teardown(async () => {
    await td.stop('SIGKILL');
    td.cleanup();
  });
  const s3 = td.s3();
  const b = await createBucket(s3, 'ssec');
  const keyA = Buffer.alloc(32, 0xa1);
  const keyB = Buffer.alloc(32, 0xb2);
  const ssec = (k: Buffer, md5?: string): Record<string, string> => ({ SSECustomerAlgorithm: 'AES256', SSECustomerKey: k.toString('base64'), SSECustomerKeyMD5: md5 ?? md5Base64(k) });
  const body = testBytes(150_000, 6);
  await s3.send(new PutObjectCommand({ Bucket: b, Key: 'c', Body: body, ...ssec(keyA) }));
  const fails = async (what: string, p: Promise<unknown>, status: number, code: string | string[]): Promise<void> => {
    try {
      await p;
      t.fail(`${what}: succeeded`);
    } catch (err) {
      const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
      const codes = typeof code === 'string' ? [code] : code;
      t.equal(e.$metadata?.httpStatusCode, status, `${what}: HTTP ${status}`);
      // HEAD answers carry no body, hence no code to check.
      if (!what.startsWith('HEAD')) t.ok(codes.includes(e.Code ?? e.name ?? ''), `${what}: ${e.Code ?? e.name}`);
    }
  };
  await fails('GET with the wrong key', s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', ...ssec(keyB) })), 403, 'AccessDenied');
  await fails('HEAD with the wrong key', s3.send(new HeadObjectCommand({ Bucket: b, Key: 'c', ...ssec(keyB) })), 403, ['AccessDenied', 'Forbidden']);
  await fails('GET without a key', s3.send(new GetObjectCommand({ Bucket: b, Key: 'c' })), 400, ['InvalidArgument', 'InvalidRequest']);
  await fails('GET with a 31-byte key', s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', ...ssec(Buffer.alloc(31, 1)) })), 400, 'InvalidArgument');
  // The SDK recomputes the key MD5 itself: send this one by hand.
  const mismatch = await new Promise<RawResponse>((resolve, reject) => {
    const headers = signedHeaders(td.port, {
      method: 'GET',
      path: `/${b}/c`,
      headers: { 'x-amz-server-side-encryption-customer-algorithm': 'AES256', 'x-amz-server-side-encryption-customer-key': keyA.toString('base64'), 'x-amz-server-side-encryption-customer-key-md5': md5Base64('x') },
    });
    const req = httpsRequest({ host: '127.0.0.1', port: td.port, path: `/${b}/c`, headers, ca: td.caCert, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
  expectError(t, mismatch, 400, 'InvalidArgument', 'GET with a key MD5 that does not match the key');
  await fails(
    'CopyObject with the wrong source key',
    s3.send(new CopyObjectCommand({ Bucket: b, Key: 'c2', CopySource: `${b}/c`, ...ssecCopy(keyB) })),
    403,
    'AccessDenied',
  );
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'm', ...ssec(keyA) }));
  await fails('UploadPart with another key than the upload', s3.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId: up.UploadId!, PartNumber: 1, Body: body, ...ssec(keyB) })), 400, ['InvalidRequest']);
  await fails('UploadPart without the key', s3.send(new UploadPartCommand({ Bucket: b, Key: 'm', UploadId: up.UploadId!, PartNumber: 1, Body: body })), 400, ['InvalidRequest', 'InvalidArgument']);
  const right = await s3.send(new GetObjectCommand({ Bucket: b, Key: 'c', ...ssec(keyA) }));
  t.ok(Buffer.from(await right.Body!.transformToByteArray()).equals(body), 'the right key still reads the object');
  t.equal(td.proc.exitCode, null, 'TLS daemon still running');

  // SSE-C over plain HTTP is refused before anything is read.
  const plain = await send(d.port, {
    method: 'PUT',
    path: `/${bucket}/ssec-http`,
    body: 'x',
    headers: ssecHeaders(keyA),
  });
  expectError(t, plain, 400, 'InvalidRequest', 'SSE-C over plain HTTP');
});

t.test('a flipped byte in stored ciphertext never yields unauthenticated plaintext', async (t) => {
  const PACKAGES = 48; // 3 MiB: the first ~1 MiB read batches go out before the damaged package
  const DAMAGED = 40;
  const P = 64 * KiB;
  const PKG = P + 32; // DARE package on disk: 16-byte header, 64 KiB, 16-byte tag
  const body = testBytes(PACKAGES * P, 8);
  const filesBefore = new Set(dataFilePaths(d.dataDir));
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/tamper`, body, headers: { 'x-amz-server-side-encryption': 'AES256' } })).status, 200);
  const created = dataFilePaths(d.dataDir).filter((f) => !filesBefore.has(f));
  t.equal(created.length, 1, 'one data file written');
  const file = created[0]!;
  t.equal(statSync(file).size, PACKAGES * PKG, `${PACKAGES} full packages on disk`);
  const flip = (offset: number): void => flipByte(file, offset);
  flip(DAMAGED * PKG + 16 + 1000); // inside the damaged package's ciphertext

  // Ranges that avoid the damaged package read correctly: only the packages needed are opened.
  const early = await send(d.port, { method: 'GET', path: `/${bucket}/tamper`, headers: { range: `bytes=0-${2 * P - 1}` } });
  t.equal(early.status, 206);
  t.ok(early.body.equals(body.subarray(0, 2 * P)), 'a range before the damage reads back intact');
  const late = await send(d.port, { method: 'GET', path: `/${bucket}/tamper`, headers: { range: `bytes=${(DAMAGED + 1) * P}-` } });
  t.ok(late.status === 206 && late.body.equals(body.subarray((DAMAGED + 1) * P)), 'a range after the damage reads back intact');

  // A range starting in the damaged package: the failure is known before any byte is sent. Either
  // the connection is cut with nothing sent, or (better for clients) an S3 error answers it.
  const direct = await tcpExchange(d.port, rawRequest('GET', `/${bucket}/tamper`, signedList('GET', `/${bucket}/tamper`, { range: `bytes=${DAMAGED * P}-${DAMAGED * P + 99}` })), { idleMs: 2000 });
  const dr = parseHttpResponse(direct.data);
  if (dr === undefined) {
    t.equal(direct.data.length, 0, 'a range inside the damaged package: connection cut, nothing sent');
  } else {
    t.ok(dr.status >= 500, `a range inside the damaged package: HTTP ${dr.status}`);
    t.ok(['XMinioObjectTampered', 'InternalError'].includes(errorCode(dr.body) ?? ''), `with an S3 error code (${errorCode(dr.body)})`);
  }
  t.notOk(direct.data.includes(body.subarray(DAMAGED * P, DAMAGED * P + 32)), 'no plaintext of the damaged package');

  // The whole object: headers go out with the first batch; the connection is cut before the damage.
  const whole = await tcpExchange(d.port, rawRequest('GET', `/${bucket}/tamper`, signedList('GET', `/${bucket}/tamper`)), { idleMs: 2000 });
  const headEnd = whole.data.indexOf('\r\n\r\n');
  const received = headEnd < 0 ? Buffer.alloc(0) : whole.data.subarray(headEnd + 4);
  t.match(whole.data.subarray(0, 12).toString(), /^HTTP\/1\.1 200/, 'the full GET started');
  t.ok(received.length <= DAMAGED * P, `only authentic packages before the damage were sent (${received.length} bytes)`);
  t.ok(received.equals(body.subarray(0, received.length)), 'every byte sent is authentic plaintext');
  t.ok(whole.closed && received.length < body.length, 'the connection was cut instead of completing the body');
  alive(t);
  flip(DAMAGED * PKG + 16 + 1000);
  const fixed = await send(d.port, { method: 'GET', path: `/${bucket}/tamper` });
  t.ok(fixed.body.equals(body), 'flipping the byte back restores the object (nothing was cached or rewritten)');
});


t.test('kept-alive connections survive 204, 304, HEAD (found and 404) and errors', async (t) => {
  const sig = (method: string, path: string, extra: Record<string, string> = {}): Array<[string, string]> => signedList(method, path, extra);
  const etag = (await send(d.port, { method: 'HEAD', path: `/${bucket}/obj` })).headers.etag as string;
  const steps = [
    { bytes: rawRequest('DELETE', `/${bucket}/nothing-here`, sig('DELETE', `/${bucket}/nothing-here`)) },
    { bytes: rawRequest('GET', `/${bucket}/obj`, sig('GET', `/${bucket}/obj`, { 'if-none-match': etag })) },
    { bytes: rawRequest('HEAD', `/${bucket}/obj`, sig('HEAD', `/${bucket}/obj`)), head: true },
    { bytes: rawRequest('HEAD', `/${bucket}/missing`, sig('HEAD', `/${bucket}/missing`)), head: true },
    { bytes: rawRequest('GET', `/${bucket}/missing`, sig('GET', `/${bucket}/missing`)) },
    { bytes: rawRequest('PUT', `/${bucket}/ka`, sig('PUT', `/${bucket}/ka`, { 'content-length': '2' }), 'ok') },
    { bytes: rawRequest('GET', `/${bucket}/ka`, sig('GET', `/${bucket}/ka`)) },
  ];
  const r = await tcpConversation(d.port, steps);
  t.same(
    r.responses.map((x) => x.status),
    [204, 304, 200, 404, 404, 200, 200],
    'seven requests on one connection, seven answers',
  );
  t.equal(r.responses[2]?.headers['content-length'], String(objBody.length), 'HEAD reports the object size');
  t.equal(r.responses[6]?.body.toString(), 'ok', 'the last body arrives');
  for (const x of r.responses) t.not(x.headers['content-length'], '9223372036854775808', 'no bogus Content-Length');
});

// ---------------------------------------------------------------------------------------------
// The fuzzer.

const FUZZ_SEED = 0xf022;
const FUZZ_REQUESTS = 3000;
const FUZZ_BUDGET_MS = 60_000;
const FUZZ_CONCURRENCY = 6;
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT']);

t.test('seeded fuzzer: no crash, no 5xx for client faults, flat memory', async (t) => {
  const rnd = prng(FUZZ_SEED);
  const keys = ['fz/a', 'fz/b', 'fz/c', 'ümlaut ключ', 'x'.repeat(1024), 'sp ace', 'dir/'];
  for (const k of keys.slice(0, 3)) await send(d.port, { method: 'PUT', path: `/${bucket}/${k}`, body: testBytes(rnd.int(300_000), 7), headers: rnd.bool() ? { 'x-amz-server-side-encryption': 'AES256' } : {} });
  const up = await send(d.port, { method: 'POST', path: `/${bucket}/fz/mp`, query: 'uploads=' });
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(up.body.toString())?.[1] ?? 'none';

  const methods = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'GET', 'PUT', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND'];
  const encodeKey = (k: string): string => k.split('/').map(encodeURIComponent).join('/');
  const randomText = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(rnd.bool(0.9) ? 32 + rnd.int(95) : rnd.int(0xd7ff))).join('');
  const paths = (): string =>
    rnd.pick([
      '/',
      `/${bucket}`,
      `/${bucket}/`,
      `/${bucket}/${encodeKey(rnd.pick(keys))}`,
      `/${bucket}/${encodeKey(rnd.pick(keys))}`,
      `/${bucket}/fz/mp`,
      `/${bucketName()}`,
      `/${bucketName()}/k`,
      `/${bucket}/${encodeURIComponent(randomText(1 + rnd.int(40)))}`,
      `/${bucket}/${'%' + rnd.int(256).toString(16).padStart(2, '0')}${'%' + rnd.int(256).toString(16).padStart(2, '0')}`,
      `/${bucket}/..%2F..%2Fetc%2Fpasswd`,
      `/${bucket}//double`,
      `/${'a'.repeat(1 + rnd.int(70))}`,
      '/minio/health/live',
      '/minio/health/ready',
      '/minio/v2/metrics/cluster',
      '/minio/admin/v3/kms/status',
      `/${bucket}/${'k'.repeat(1000 + rnd.int(40))}`,
    ]);
  const queries = (): string =>
    rnd.pick([
      '',
      '',
      'uploads=',
      `uploadId=${encodeURIComponent(uploadId)}`,
      `partNumber=${rnd.pick(['1', '0', '10001', '-5', 'x', '99999999999999'])}&uploadId=${encodeURIComponent(rnd.bool() ? uploadId : randomText(10))}`,
      'list-type=2',
      `list-type=2&max-keys=${rnd.pick(['-1', '0', '1', '100000', 'abc'])}`,
      `list-type=2&continuation-token=${encodeURIComponent(randomText(20))}`,
      `prefix=${encodeURIComponent(randomText(5))}&delimiter=${encodeURIComponent(randomText(2))}`,
      'delete=',
      'encryption=',
      'versioning=',
      'versions=',
      'location=',
      'acl=',
      'tagging=',
      `max-uploads=${rnd.int(3000) - 1000}`,
      `partNumber=${rnd.int(20)}`,
      `response-content-type=${encodeURIComponent(randomText(10))}`,
      `${encodeURIComponent(randomText(8))}=${encodeURIComponent(randomText(8))}`,
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=garbage&X-Amz-Signature=00',
    ]);
  const headerPool = (): Record<string, string> => {
    const h: Record<string, string> = {};
    const n = rnd.int(4);
    for (let i = 0; i < n; i++) {
      const [k, v] = rnd.pick<[string, () => string]>([
        ['range', () => rnd.pick(['bytes=0-10', `bytes=${rnd.int(1e6)}-`, `bytes=-${rnd.int(1e6)}`, 'bytes=abc', `bytes=${rnd.int(1e12)}-${rnd.int(10)}`])],
        ['content-md5', () => rnd.pick([md5Base64(randomText(5)), 'garbage', ''])],
        ['x-amz-server-side-encryption', () => rnd.pick(['AES256', 'aws:kms', 'rot13', ''])],
        ['x-amz-server-side-encryption-aws-kms-key-id', () => rnd.pick(['', 'nope', randomText(10)])],
        ['x-amz-server-side-encryption-context', () => rnd.pick(['e30=', 'garbage', Buffer.from('{"a":1}').toString('base64')])],
        ['x-amz-copy-source', () => rnd.pick([`${bucket}/obj`, `/${bucket}/fz/a`, 'nobucket/x', randomText(12), `${bucket}/obj?versionId=1`])],
        ['x-amz-copy-source-range', () => rnd.pick(['bytes=0-5', 'bytes=9-1', 'bytes=abc'])],
        ['x-amz-metadata-directive', () => rnd.pick(['COPY', 'REPLACE', 'NOPE'])],
        ['if-match', () => rnd.pick(['*', '"abc"', randomText(5)])],
        ['if-none-match', () => rnd.pick(['*', '"abc"'])],
        ['if-modified-since', () => rnd.pick(['Wed, 21 Oct 2015 07:28:00 GMT', 'garbage', new Date(Date.now() + 1e9).toUTCString()])],
        ['if-unmodified-since', () => rnd.pick(['Wed, 21 Oct 2015 07:28:00 GMT', 'nonsense'])],
        ['content-type', () => rnd.pick(['application/xml', 'text/plain', randomText(20)])],
        ['x-amz-meta-fuzz', () => randomText(rnd.int(3000))],
        ['x-amz-checksum-crc32', () => rnd.pick(['AAAAAA==', 'garbage'])],
        ['x-amz-checksum-algorithm', () => rnd.pick(['CRC32', 'SHA256', 'MD4'])],
        ['x-amz-tagging', () => 'a=b'],
        ['x-amz-storage-class', () => rnd.pick(['STANDARD', 'GLACIER', 'X'])],
        ['expect', () => '100-continue'],
        ['x-amz-server-side-encryption-customer-algorithm', () => 'AES256'],
      ]);
      h[k] = v().replace(/[\r\n]/g, '').replace(/[^\x20-\x7e]/g, '?');
    }
    return h;
  };
  const bodies = (): Buffer | undefined =>
    rnd.pick([
      undefined,
      undefined,
      Buffer.alloc(0),
      testBytes(rnd.int(2000), rnd.int(1000)),
      testBytes(rnd.int(300_000), rnd.int(1000)),
      rnd.bool(0.1) ? testBytes(MiB + rnd.int(MiB), 3) : Buffer.from('x'),
      Buffer.from(`<Delete><Object><Key>${randomText(5)}</Key></Object></Delete>`),
      Buffer.from(`<CompleteMultipartUpload><Part><PartNumber>${rnd.int(3)}</PartNumber><ETag>"${randomText(4)}"</ETag></Part></CompleteMultipartUpload>`),
      Buffer.from('<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>'),
      Buffer.from(`<${randomText(6).replace(/[<>&]/g, '')}>${randomText(30).replace(/[<>&]/g, '')}`),
    ]);

  const counts: Record<string, number> = {};
  const serverFaults: string[] = [];
  const hangups: string[] = [];
  let done = 0;
  let warmRss = 0;
  const started = Date.now();
  const one = async (i: number): Promise<void> => {
    const method = rnd.pick(methods);
    const path = paths();
    const query = queries();
    const headers = headerPool();
    let body = bodies();
    if (method === 'GET' || method === 'HEAD' || method === 'DELETE') body = rnd.bool(0.9) ? undefined : body;
    const mode = rnd.next();
    let status: number | string;
    let code: string | undefined;
    if (mode < 0.7) {
      // Signed: reaches routing, auth passes, handlers see it.
      if (body !== undefined) headers['content-length'] = String(body.length);
      const payloadHash = body !== undefined && rnd.bool(0.3) ? sha256Hex(body) : undefined;
      const r = await send(d.port, { method, path, query, headers, ...(body !== undefined ? { body } : {}), ...(payloadHash ? { payloadHash } : {}) }).catch((e: Error) => e);
      if (r instanceof Error) {
        status = `error:${r.message}`;
        // uWS closes the connection on methods outside HTTP's standard set: nothing reaches s3d.
        if (STANDARD_METHODS.has(method) && hangups.length < 15) hangups.push(`#${i} ${method} ${path.slice(0, 60)}?${query.slice(0, 60)} ${JSON.stringify(headers).slice(0, 300)} body=${body?.length}`);
      }
      else {
        status = r.status;
        code = errorCode(r.body);
        // Admin endpoints answer MinIO-style JSON errors.
        if (!code && path.startsWith('/minio/admin/')) code = /"Code"\s*:\s*"([^"]+)"/.exec(r.body.toString())?.[1];
        if (method !== 'HEAD' && r.status >= 400 && !code) serverFaults.push(`#${i} ${method} ${path}?${query}: ${r.status} without an error code`);
      }
    } else {
      // Unsigned or garbled: raw bytes, some mutated.
      const list: Array<[string, string]> = mode < 0.85 ? Object.entries({ host: `127.0.0.1:${d.port}`, ...headers }) : signedList(method, path, headers, query);
      if (body !== undefined) list.push(['content-length', String(body.length)]);
      let bytes = rawRequest(method, query ? `${path}?${query}` : path, list, body ?? '');
      if (mode >= 0.85) {
        bytes = Buffer.from(bytes);
        const flips = 1 + rnd.int(8);
        for (let f = 0; f < flips; f++) bytes[rnd.int(Math.min(bytes.length, 600))] = rnd.int(256);
        if (rnd.bool(0.2)) bytes = bytes.subarray(0, rnd.int(bytes.length));
      }
      const garbled = mode >= 0.85;
      const r = await tcpExchange(d.port, bytes, { idleMs: garbled ? 150 : 3000, timeoutMs: 5000, untilResponse: true, head: method === 'HEAD' });
      // Skip a "100 Continue" interim response.
      const text = r.data;
      const final = /^HTTP\/1\.1 100 [^\r]*\r\n\r\n/.exec(text.toString('latin1'));
      const res = parseHttpResponse(final ? text.subarray(final[0].length) : text);
      status = res ? res.status : r.closed ? 'closed' : 'no-response';
      code = res ? errorCode(res.body) : undefined;
      if (!garbled && !res && STANDARD_METHODS.has(method) && hangups.length < 15) hangups.push(`#${i} raw ${method} ${path.slice(0, 60)}?${query.slice(0, 60)}: ${status}`);
      if (!garbled && res && res.status >= 400 && method !== 'HEAD' && !code && !path.startsWith('/minio/admin/')) serverFaults.push(`#${i} raw ${method} ${path}?${query}: ${res.status} without an error code`);
    }
    counts[String(status)] = (counts[String(status)] ?? 0) + 1;
    if (typeof status === 'number' && status >= 500 && code !== 'NotImplemented' && !(method === 'HEAD' && status === 501)) serverFaults.push(`#${i} ${method} ${path}?${query} ${JSON.stringify(headers).slice(0, 200)}: ${status} ${code}`);
    done++;
    if (done === 500) warmRss = rssKiB(d.proc.pid!);
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: FUZZ_CONCURRENCY }, async () => {
      while (next < FUZZ_REQUESTS && Date.now() - started < FUZZ_BUDGET_MS && d.proc.exitCode === null) await one(next++);
    }),
  );
  const elapsed = Date.now() - started;
  t.comment(`fuzzer: ${done} requests in ${elapsed} ms; statuses ${JSON.stringify(counts)}`);
  // A floor that shows the fuzzer ran, not a speed test: a loaded CI machine sends fewer in the budget.
  t.ok(done >= Math.min(FUZZ_REQUESTS, 300), `${done} requests sent (at least 300)`);
  t.equal(d.proc.exitCode, null, 'the daemon survived');
  t.same(serverFaults.slice(0, 20), [], 'no 5xx (other than NotImplemented) and every error has an S3 code');
  t.same(hangups, [], 'no connection closed without an answer (standard methods)');
  const internal = d.jsonLogs().filter((l) => l.msg === 'internal error');
  t.equal(internal.length, 0, `no internal errors logged${internal.length ? `: ${JSON.stringify(internal[0]).slice(0, 500)}` : ''}`);

  // Still correct afterwards.
  const check = testBytes(2 * MiB + 7, 99);
  t.equal((await send(d.port, { method: 'PUT', path: `/${bucket}/after-fuzz`, body: check, headers: { 'x-amz-server-side-encryption': 'AES256' } })).status, 200);
  const back = await send(d.port, { method: 'GET', path: `/${bucket}/after-fuzz` });
  t.ok(back.body.equals(check), 'a PUT/GET round trip after the fuzzer is byte-identical');
  t.ok((await send(d.port, { method: 'GET', path: `/${bucket}/obj` })).body.equals(objBody), 'the original object is intact');
  await waitNoTemp(t, 'after the fuzzer');

  // Memory: after warm-up vs the end, generous bound (allocator and V8 heap settle in steps).
  await sleep(500);
  const endRss = rssKiB(d.proc.pid!);
  t.comment(`RSS after warm-up ${Math.round(warmRss / 1024)} MiB, at the end ${Math.round(endRss / 1024)} MiB`);
  t.ok(endRss < warmRss * 1.5 + 64 * 1024, `RSS stayed flat (${warmRss} → ${endRss} KiB)`);
});

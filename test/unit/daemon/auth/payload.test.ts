// Body verification: AWS's published aws-chunked examples, bodies from the real S3 client, every
// checksum algorithm, split at every byte of the framing, and every error the decoders answer.
import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { Sha1, Sha256 } from '@aws-sdk/checksums/sha';
import { type ChecksumAlgorithm as SdkChecksumAlgorithm, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Error } from '../../../../daemon/errors.js';
import { type AuthResult, type SigV4Request, authenticate, deriveSigningKey } from '../../../../daemon/auth/sigv4.js';
import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_HEADERS,
  type ChecksumAlgorithm,
  type PayloadDecoder,
  createPayloadDecoder,
} from '../../../../daemon/auth/payload.js';

const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EXAMPLE_TIME = new Date('2013-05-24T00:00:00Z');
const creds = { lookup: (id: string): string | undefined => (id === AKID ? SECRET : undefined) };
const CRLF = '\r\n';

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Feeds `body` split at `cuts` (or byte by byte), each piece in a fresh buffer that is wiped
 * right after push() returns (the decoder must not keep views of it), then finishes.
 */
async function decode(decoder: PayloadDecoder, body: Buffer, cuts: number[] | 'bytewise' = []): Promise<Buffer> {
  const out: Buffer[] = [];
  const onData = (data: Buffer): void => {
    out.push(Buffer.from(data));
  };
  const edges = cuts === 'bytewise' ? Array.from({ length: body.length + 1 }, (_, i) => i) : [0, ...cuts, body.length];
  for (let i = 1; i < edges.length; i++) {
    const piece = Buffer.from(body.subarray(edges[i - 1], edges[i]));
    decoder.push(piece, onData);
    piece.fill(0x58);
  }
  await decoder.finish();
  return Buffer.concat(out);
}

/** The S3Error code a (possibly async) step throws, or 'no error'. */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
  return 'no error';
}

async function digestOf(algorithm: ChecksumAlgorithm, data: Buffer): Promise<string> {
  // Expected values come from @aws-sdk/checksums, independently of the decoder's own hashing.
  const hasher = { CRC32: Crc32, CRC32C: Crc32c, CRC64NVME: Crc64Nvme, SHA1: Sha1, SHA256: Sha256 }[algorithm];
  const h = new hasher();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/** An AuthResult for requests signed at 2013-05-24 in us-east-1 with the example key. */
function authFor(payload: AuthResult['payload'], seedSignature = 'a'.repeat(64)): AuthResult {
  return {
    accessKeyId: AKID,
    payload,
    seedSignature,
    signingKey: deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'),
    scope: '20130524/us-east-1/s3/aws4_request',
    amzDate: '20130524T000000Z',
    presigned: false,
  };
}

/** Encodes signed aws-chunked data (written from the AWS documentation, not from the decoder). */
function encodeSigned(auth: AuthResult, chunks: Buffer[], trailers?: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  let previous = auth.seedSignature;
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', auth.amzDate, auth.scope, previous, sha256Hex(''), sha256Hex(chunk)].join('\n');
    previous = hmacHex(auth.signingKey, toSign);
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}${CRLF}`), chunk);
    if (chunk.length > 0) parts.push(Buffer.from(CRLF));
  }
  if (trailers !== undefined) {
    const canonical = trailers.map(([n, v]) => `${n}:${v}\n`).join('');
    const toSign = ['AWS4-HMAC-SHA256-TRAILER', auth.amzDate, auth.scope, previous, sha256Hex(canonical)].join('\n');
    for (const [n, v] of trailers) parts.push(Buffer.from(`${n}:${v}${CRLF}`));
    parts.push(Buffer.from(`x-amz-trailer-signature:${hmacHex(auth.signingKey, toSign)}${CRLF}`));
  }
  parts.push(Buffer.from(CRLF));
  return Buffer.concat(parts);
}

/** Encodes unsigned aws-chunked data with optional trailers, as the SDK for JavaScript does. */
function encodeUnsigned(chunks: Buffer[], trailers: Array<[string, string]> = [], final = true): Buffer {
  const parts: Buffer[] = [];
  for (const chunk of chunks) parts.push(Buffer.from(`${chunk.length.toString(16)}${CRLF}`), chunk, Buffer.from(CRLF));
  parts.push(Buffer.from(`0${CRLF}`));
  for (const [n, v] of trailers) parts.push(Buffer.from(`${n}:${v}${CRLF}`));
  if (final) parts.push(Buffer.from(CRLF));
  return Buffer.concat(parts);
}

/** Byte positions of body that are framing (not chunk data), where splits matter most. */
function framingPositions(body: Buffer): number[] {
  const positions: number[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf(CRLF, pos);
    const header = body.toString('latin1', pos, eol);
    for (let i = pos; i <= eol + 2; i++) positions.push(i);
    const size = parseInt(header, 16);
    pos = eol + 2;
    if (size === 0) break;
    positions.push(pos + 1, pos + size - 1);
    pos += size;
    positions.push(pos + 1);
    pos += 2;
  }
  for (let i = pos; i <= body.length; i++) positions.push(i);
  return [...new Set(positions)].filter((p) => p > 0 && p < body.length);
}

const payloadA = (n: number): Buffer => Buffer.alloc(n, 'a');

function randomData(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// AWS's published chunked-upload examples

const EXAMPLE_SIGNATURES = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const TRAILER_EXAMPLE_SIGNATURES = [
  'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
  '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
  '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
];
const TRAILER_EXAMPLE_TRAILER = 'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n';

function exampleRequest(trailer: boolean): SigV4Request {
  const headers: Record<string, string> = {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
  };
  if (trailer) {
    headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
    headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
      'SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,' +
      'Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e';
  } else {
    headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    headers['content-length'] = '66824';
    headers['authorization'] =
      `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,` +
      'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,' +
      'Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  }
  return { method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', rawQuery: '', headers };
}

function exampleBody(signatures: string[], trailer = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}${CRLF}`),
    payloadA(65536),
    Buffer.from(`${CRLF}400;chunk-signature=${signatures[1]}${CRLF}`),
    payloadA(1024),
    Buffer.from(`${CRLF}0;chunk-signature=${signatures[2]}${CRLF}${trailer}${CRLF}`),
  ]);
}

t.test('the published STREAMING-AWS4-HMAC-SHA256-PAYLOAD example decodes', async (t) => {
  const req = exampleRequest(false);
  const auth = authenticate(req, creds, { region: 'us-east-1', now: EXAMPLE_TIME });
  const body = exampleBody(EXAMPLE_SIGNATURES);
  t.equal(body.length, 66824, 'the documented Content-Length');
  t.same(encodeSigned(auth, [payloadA(65536), payloadA(1024)]), body, 'the test encoder reproduces the published chunk signatures');

  const whole = createPayloadDecoder(auth, req.headers);
  t.same(await decode(whole, body), payloadA(66560));
  t.equal(whole.decodedBytes, 66560);
  t.same(whole.checksums, {});
  t.same(await decode(createPayloadDecoder(auth, req.headers), body, 'bytewise'), payloadA(66560), 'byte by byte');

  let failures = 0;
  const positions = framingPositions(body);
  for (const cut of positions) {
    const got = await decode(createPayloadDecoder(auth, req.headers), body, [cut]);
    if (!got.equals(payloadA(66560))) failures++;
  }
  t.equal(failures, 0, `split at each of ${positions.length} framing positions`);

  // Each published signature, altered, is refused.
  for (let i = 0; i < 3; i++) {
    const sigs = [...EXAMPLE_SIGNATURES];
    sigs[i] = sigs[i]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    t.equal(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), exampleBody(sigs))), 'SignatureDoesNotMatch', `chunk ${i} signature`);
  }
  const flipped = Buffer.from(body);
  flipped[100] = 0x62;
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), flipped)), 'SignatureDoesNotMatch', 'a changed data byte');

  // Truncated anywhere: IncompleteBody.
  const truncations = [...positions, 40000, 66000];
  const codes = new Set<string>();
  for (const cut of truncations) codes.add(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), body.subarray(0, cut))));
  t.same([...codes], ['IncompleteBody'], 'every truncation');
});

t.test('the published STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER example decodes', async (t) => {
  const req = exampleRequest(true);
  const auth = authenticate(req, creds, { region: 'us-east-1', now: EXAMPLE_TIME });
  const body = exampleBody(TRAILER_EXAMPLE_SIGNATURES, TRAILER_EXAMPLE_TRAILER);
  t.equal(await digestOf('CRC32C', payloadA(66560)), 'sOO8/Q==', 'the published trailer checksum');
  t.same(encodeSigned(auth, [payloadA(65536), payloadA(1024)], [['x-amz-checksum-crc32c', 'sOO8/Q==']]), body, 'the test encoder reproduces it');

  const decoder = createPayloadDecoder(auth, req.headers);
  t.same(await decode(decoder, body), payloadA(66560));
  t.same(decoder.checksums, { CRC32C: 'sOO8/Q==' });

  let failures = 0;
  const positions = framingPositions(body);
  for (const cut of positions) {
    const d = createPayloadDecoder(auth, req.headers);
    const got = await decode(d, body, [cut]);
    if (!got.equals(payloadA(66560)) || d.checksums.CRC32C !== 'sOO8/Q==') failures++;
  }
  t.equal(failures, 0, `split at each of ${positions.length} framing positions`);
  t.same(await decode(createPayloadDecoder(auth, req.headers), body, 'bytewise'), payloadA(66560), 'byte by byte');

  const badTrailerSig = TRAILER_EXAMPLE_TRAILER.replace('d81f82fc', 'd81f82fd');
  t.equal(
    await codeOf(() => decode(createPayloadDecoder(auth, req.headers), exampleBody(TRAILER_EXAMPLE_SIGNATURES, badTrailerSig))),
    'SignatureDoesNotMatch',
    'trailer signature',
  );
  const otherChecksum = TRAILER_EXAMPLE_TRAILER.replace('sOO8/Q==', 'AAAAAA==');
  t.equal(
    await codeOf(() => decode(createPayloadDecoder(auth, req.headers), exampleBody(TRAILER_EXAMPLE_SIGNATURES, otherChecksum))),
    'SignatureDoesNotMatch',
    'a changed trailer breaks its signature',
  );
  // A wrong checksum with a valid trailer signature is BadDigest.
  const wrong = encodeSigned(auth, [payloadA(65536), payloadA(1024)], [['x-amz-checksum-crc32c', 'AAAAAA==']]);
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), wrong)), 'BadDigest');
  const noSignature = exampleBody(TRAILER_EXAMPLE_SIGNATURES, 'x-amz-checksum-crc32c:sOO8/Q==\r\n');
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), noSignature)), 'SignatureDoesNotMatch', 'missing trailer signature');

  // Cut right after the signature line (no final blank line) is a whole trailer to S3 (Swift's
  // AWS-checked tests), its signature checked; every other cut is incomplete.
  const codes = new Set<string>();
  for (const cut of positions) if (cut !== body.length - 2) codes.add(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), body.subarray(0, cut))));
  t.same([...codes], ['IncompleteBody'], 'every other truncation');
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), body.subarray(0, body.length - 2))), 'no error', 'ending right after the signature line: taken');
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, req.headers), exampleBody(TRAILER_EXAMPLE_SIGNATURES, badTrailerSig).subarray(0, body.length - 2))), 'SignatureDoesNotMatch', '… with its signature still checked');
});

// ---------------------------------------------------------------------------------------------
// Signed chunks and trailers built here

t.test('signed chunks: sizes, splits and every checksum algorithm in a signed trailer', async (t) => {
  const auth = authFor({ kind: 'streaming-signed', trailer: false });
  const data = randomData(300, 1);
  for (const sizes of [[300], [1, 299], [100, 100, 100], [7, 8, 9, 276]]) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (const s of sizes) chunks.push(data.subarray(at, (at += s)));
    const body = encodeSigned(auth, chunks);
    const headers = { 'x-amz-decoded-content-length': '300' };
    let failures = 0;
    for (let cut = 1; cut < body.length; cut++) {
      if (!(await decode(createPayloadDecoder(auth, headers), body, [cut])).equals(data)) failures++;
    }
    t.equal(failures, 0, `chunks ${sizes.join('+')}: every split position`);
    t.same(await decode(createPayloadDecoder(auth, headers), body, 'bytewise'), data, `chunks ${sizes.join('+')}: byte by byte`);
  }
  t.same(await decode(createPayloadDecoder(auth, {}), encodeSigned(auth, [])), Buffer.alloc(0), 'an empty object');

  const trailerAuth = authFor({ kind: 'streaming-signed', trailer: true });
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = CHECKSUM_HEADERS[algorithm];
    const value = await digestOf(algorithm, data);
    const body = encodeSigned(trailerAuth, [data.subarray(0, 200), data.subarray(200)], [[name, value]]);
    const headers = { 'x-amz-trailer': name, 'x-amz-decoded-content-length': '300' };
    let failures = 0;
    for (let cut = 1; cut < body.length; cut++) {
      const d = createPayloadDecoder(trailerAuth, headers);
      if (!(await decode(d, body, [cut])).equals(data) || d.checksums[algorithm] !== value) failures++;
    }
    t.equal(failures, 0, `${algorithm}: every split position`);
    const bad = encodeSigned(trailerAuth, [data], [[name, await digestOf(algorithm, randomData(300, 2))]]);
    t.equal(await codeOf(() => decode(createPayloadDecoder(trailerAuth, headers), bad)), 'BadDigest', `${algorithm}: mismatch`);
  }
});

// ---------------------------------------------------------------------------------------------
// STREAMING-UNSIGNED-PAYLOAD-TRAILER

t.test('unsigned chunks with a trailer of every checksum algorithm', async (t) => {
  const auth = authFor({ kind: 'streaming-unsigned-trailer' });
  const data = randomData(1000, 3);
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = CHECKSUM_HEADERS[algorithm];
    const value = await digestOf(algorithm, data);
    const body = encodeUnsigned([data.subarray(0, 600), data.subarray(600)], [[name, value]]);
    const headers = { 'x-amz-trailer': name, 'x-amz-decoded-content-length': '1000', 'content-length': String(body.length) };
    let failures = 0;
    for (let cut = 1; cut < body.length; cut++) {
      const d = createPayloadDecoder(auth, headers);
      if (!(await decode(d, body, [cut])).equals(data) || d.checksums[algorithm] !== value) failures++;
    }
    t.equal(failures, 0, `${algorithm}: every split position`);
    const d = createPayloadDecoder(auth, headers);
    t.same(await decode(d, body, 'bytewise'), data, `${algorithm}: byte by byte`);
    t.same(d.checksums, { [algorithm]: value });

    const other = await digestOf(algorithm, randomData(1000, 4));
    t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), encodeUnsigned([data], [[name, other]]))), 'BadDigest', `${algorithm}: mismatch`);
    const truncatedValue = value.slice(0, -4);
    t.equal(
      await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), encodeUnsigned([data], [[name, truncatedValue]]))),
      'InvalidRequest',
      `${algorithm}: value of the wrong length`,
    );
    t.equal(
      await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), encodeUnsigned([data], [[name, `${value.slice(0, -2)}!=`]]))),
      'InvalidRequest',
      `${algorithm}: not base64`,
    );
  }
  // Whitespace around the trailer value and upper-case names are tolerated.
  const crc = await digestOf('CRC32', data);
  const d = createPayloadDecoder(auth, { 'x-amz-trailer': 'X-Amz-Checksum-CRC32' });
  await decode(d, encodeUnsigned([data], [['X-Amz-Checksum-Crc32', ` ${crc} `]]));
  t.equal(d.checksums.CRC32, crc);
});

/**
 * The trailer as minio-go writes it (pkg/signer request-signature-streaming*.go, what mc and every
 * Go program using minio-go send): each `name:value` line ends in a bare LF, then CRLF; unsigned,
 * one more CRLF; signed, the signature line and CRLF.
 */
function minioGoTrailer(auth: AuthResult, chunks: Buffer[], name: string, value: string, signed: boolean): Buffer {
  if (!signed) {
    const body = encodeUnsigned(chunks, [], false);
    return Buffer.concat([body, Buffer.from(`${name}:${value}\n\r\n\r\n`)]);
  }
  const signedBody = encodeSigned(auth, chunks);
  // encodeSigned ends with the final chunk's line and CRLF; take off that CRLF and the trailer goes after.
  const head = signedBody.subarray(0, signedBody.length - 2);
  const lastSignature = /chunk-signature=([0-9a-f]{64})\r\n$/.exec(head.toString('latin1'))![1]!;
  const toSign = ['AWS4-HMAC-SHA256-TRAILER', auth.amzDate, auth.scope, lastSignature, sha256Hex(`${name}:${value}\n`)].join('\n');
  return Buffer.concat([head, Buffer.from(`${name}:${value}\n\r\nx-amz-trailer-signature:${hmacHex(auth.signingKey, toSign)}\r\n\r\n`)]);
}

t.test('trailers as minio-go writes them (a bare LF after each value) decode, signed and unsigned', async (t) => {
  const data = randomData(700, 9);
  const chunks = [data.subarray(0, 500), data.subarray(500)];
  const value = await digestOf('CRC32C', data);
  const name = CHECKSUM_HEADERS.CRC32C;
  for (const [kind, auth] of [
    ['unsigned', authFor({ kind: 'streaming-unsigned-trailer' })],
    ['signed', authFor({ kind: 'streaming-signed', trailer: true })],
  ] as const) {
    const body = minioGoTrailer(auth, chunks, name, value, kind === 'signed');
    const headers = { 'x-amz-trailer': name, 'x-amz-decoded-content-length': '700', 'content-length': String(body.length) };
    let failures = 0;
    for (let cut = 1; cut < body.length; cut++) {
      const d = createPayloadDecoder(auth, headers);
      if (!(await decode(d, body, [cut])).equals(data) || d.checksums.CRC32C !== value) failures++;
    }
    t.equal(failures, 0, `${kind}: every split position, the checksum taken`);
    const bad = minioGoTrailer(auth, chunks, name, await digestOf('CRC32C', randomData(700, 10)), kind === 'signed');
    t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), bad)), 'BadDigest', `${kind}: a wrong value is still BadDigest`);
    t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), Buffer.concat([body, Buffer.from('X')]))), kind === 'signed' ? 'InvalidRequest' : 'no error', `${kind}: data after the end: ignored unsigned, as S3 ignores it; refused signed`);
    // Cut right after the bare-LF line, before the CRLF that ends the trailer: S3's IncompleteBody.
    const bareEnd = body.subarray(0, body.indexOf(Buffer.from(`${value}\n`)) + value.length + 1);
    t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), bareEnd)), 'IncompleteBody', `${kind}: ending on the bare LF`);
  }
  // Signed: the signature still covers the value; a blank line before it is not the end.
  const auth = authFor({ kind: 'streaming-signed', trailer: true });
  const good = minioGoTrailer(auth, chunks, name, value, true).toString('latin1');
  const forged = good.replace(/x-amz-trailer-signature:[0-9a-f]{64}/, `x-amz-trailer-signature:${'0'.repeat(64)}`);
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), Buffer.from(forged, 'latin1'))), 'SignatureDoesNotMatch', 'signed: a wrong trailer signature');
  const unsignedEnd = good.replace(/x-amz-trailer-signature:[0-9a-f]{64}\r\n\r\n$/, '\r\n');
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': name }), Buffer.from(unsignedEnd, 'latin1'))), 'SignatureDoesNotMatch', 'signed: the signature line left out');
  // Chunk headers still need their CR.
  t.equal(await codeOf(() => decode(createPayloadDecoder(authFor({ kind: 'streaming-unsigned-trailer' }), {}), Buffer.from('3\nabc\r\n0\r\n\r\n'))), 'IncompleteBody', 'a chunk header ending in a bare LF');
});

t.test('unsigned chunks: the SDK for JavaScript ends with "0\\r\\n" when there is no trailer', async (t) => {
  const auth = authFor({ kind: 'streaming-unsigned-trailer' });
  const data = randomData(10, 5);
  t.same(await decode(createPayloadDecoder(auth, {}), encodeUnsigned([data], [], false)), data);
  t.same(await decode(createPayloadDecoder(auth, {}), encodeUnsigned([data])), data);
  // Not when a trailer was announced, nor for signed trailers.
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'x-amz-trailer': 'x-amz-checksum-crc32' }), encodeUnsigned([data], [], false))), 'IncompleteBody');
  const signedAuth = authFor({ kind: 'streaming-signed', trailer: true });
  const signedBody = encodeSigned(signedAuth, [data]);
  t.equal(await codeOf(() => decode(createPayloadDecoder(signedAuth, {}), signedBody.subarray(0, signedBody.length - 2))), 'IncompleteBody');
});

// ---------------------------------------------------------------------------------------------
// Bodies from the real S3 client

t.test('bodies sent by the real S3 client verify', async (t) => {
  const captured: Array<{ req: SigV4Request; body: Buffer }> = [];
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
    requestHandler: {
      handle: async (request: { method: string; path: string; headers: Record<string, string>; body?: unknown }) => {
        const parts: Buffer[] = [];
        const body = request.body;
        if (typeof body === 'string' || body instanceof Uint8Array) parts.push(Buffer.from(body));
        else if (body !== undefined && body !== null) for await (const c of body as AsyncIterable<Uint8Array | string>) parts.push(Buffer.from(c));
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
        captured.push({ req: { method: request.method, rawPath: request.path, rawQuery: 'x-id=PutObject', headers }, body: Buffer.concat(parts) });
        return { response: { statusCode: 200, headers: { etag: '"0"' }, body: Readable.from([]) } };
      },
    },
  });
  const data = randomData(200_000, 6);
  const algorithms: SdkChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
  for (const algorithm of algorithms) {
    const pieces = [data.subarray(0, 70_000), data.subarray(70_000, 70_001), data.subarray(70_001)];
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: `stream-${algorithm}`, Body: Readable.from(pieces), ContentLength: data.length, ChecksumAlgorithm: algorithm }));
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: `buffer-${algorithm}`, Body: data, ChecksumAlgorithm: algorithm }));
  }
  t.equal(captured.length, 10);
  for (const { req, body } of captured) {
    const auth = authenticate(req, creds, { region: 'us-east-1' });
    const decoder = createPayloadDecoder(auth, req.headers, { md5: true });
    t.same(await decode(decoder, body, [1, 5, 1000, 70_010]), data, `${req.rawPath}: ${auth.payload.kind}`);
    t.equal(Object.keys(decoder.checksums).length, 1, `${req.rawPath}: one checksum verified`);
    t.same(decoder.md5, createHash('md5').update(data).digest());
  }
});

// ---------------------------------------------------------------------------------------------
// Plain bodies: x-amz-content-sha256, Content-MD5 and checksum headers

t.test('x-amz-content-sha256 is verified', async (t) => {
  const data = randomData(5000, 7);
  const auth = authFor({ kind: 'sha256', expectedHex: sha256Hex(data) });
  t.same(await decode(createPayloadDecoder(auth, {}), data, [1, 4999]), data);
  const other = Buffer.from(data);
  other[4999] ^= 1;
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, {}), other)), 'XAmzContentSHA256Mismatch');
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, {}), data.subarray(0, 4999))), 'XAmzContentSHA256Mismatch', 'short body');
  t.same(createPayloadDecoder(auth, {}).checksums, {}, 'the payload hash is not reported as a checksum');
  const unsigned = authFor({ kind: 'unsigned' });
  t.same(await decode(createPayloadDecoder(unsigned, {}), data, [100]), data, 'UNSIGNED-PAYLOAD passes bytes through');
});

t.test('Content-MD5', async (t) => {
  const data = randomData(1000, 8);
  const auth = authFor({ kind: 'unsigned' });
  const d = createPayloadDecoder(auth, { 'content-md5': md5Base64(data) });
  await decode(d, data, [10]);
  t.same(d.md5, createHash('md5').update(data).digest());
  t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { 'content-md5': md5Base64(data.subarray(1)) }), data)), 'BadDigest');
  t.equal(await codeOf(() => createPayloadDecoder(auth, { 'content-md5': 'not base64!' })), 'InvalidDigest');
  t.equal(await codeOf(() => createPayloadDecoder(auth, { 'content-md5': Buffer.alloc(15).toString('base64') })), 'InvalidDigest', '15 bytes');
  t.equal(await codeOf(() => createPayloadDecoder(auth, { 'content-md5': createHash('md5').update(data).digest('hex') })), 'InvalidDigest', 'hex, not base64');
  // Content-MD5 is checked in chunked modes too.
  const chunked = authFor({ kind: 'streaming-unsigned-trailer' });
  t.equal(await codeOf(() => decode(createPayloadDecoder(chunked, { 'content-md5': md5Base64(data.subarray(1)) }), encodeUnsigned([data]))), 'BadDigest');
  t.equal(createPayloadDecoder(auth, {}).md5, undefined, 'no MD5 unless asked for');
});

t.test('checksum headers of every algorithm', async (t) => {
  const data = randomData(3000, 9);
  const auth = authFor({ kind: 'unsigned' });
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const name = CHECKSUM_HEADERS[algorithm];
    const value = await digestOf(algorithm, data);
    const d = createPayloadDecoder(auth, { [name]: value });
    await decode(d, data, [1, 2, 2999]);
    t.same(d.checksums, { [algorithm]: value }, `${algorithm}: verified and reported`);
    t.equal(await codeOf(() => decode(createPayloadDecoder(auth, { [name]: value }), data.subarray(1))), 'BadDigest', `${algorithm}: mismatch`);
    t.equal(await codeOf(() => createPayloadDecoder(auth, { [name]: value.slice(4) })), 'InvalidRequest', `${algorithm}: wrong length`);
    t.equal(await codeOf(() => createPayloadDecoder(auth, { [name]: `${value.slice(0, -1)}?` })), 'InvalidRequest', `${algorithm}: not base64`);
  }
  const crc32 = await digestOf('CRC32', data);
  const sha1 = await digestOf('SHA1', data);
  t.equal(await codeOf(() => createPayloadDecoder(auth, { 'x-amz-checksum-crc32': crc32, 'x-amz-checksum-sha1': sha1 })), 'InvalidRequest', 'two checksums');
  // Other x-amz-checksum-* headers are not checksums.
  t.equal(await codeOf(() => createPayloadDecoder(auth, { 'x-amz-checksum-type': 'FULL_OBJECT', 'x-amz-checksum-algorithm': 'CRC32' })), 'no error');

  const both = authFor({ kind: 'streaming-unsigned-trailer' });
  t.equal(await codeOf(() => createPayloadDecoder(both, { 'x-amz-checksum-crc32': crc32, 'x-amz-trailer': 'x-amz-checksum-sha1' })), 'InvalidRequest', 'header and trailer');
  // In chunked modes, a checksum header is verified against the decoded payload.
  const d = createPayloadDecoder(both, { 'x-amz-checksum-crc32': crc32 });
  await decode(d, encodeUnsigned([data.subarray(0, 1000), data.subarray(1000)]));
  t.same(d.checksums, { CRC32: crc32 });

  const extra = createPayloadDecoder(auth, { 'x-amz-checksum-crc32': crc32 }, { checksums: ['CRC64NVME', 'CRC32'] });
  await decode(extra, data);
  t.same(extra.checksums, { CRC32: crc32, CRC64NVME: await digestOf('CRC64NVME', data) }, 'extra checksums are computed');
});

t.test('the default checksum: computed and told apart only when the body names none', async (t) => {
  const data = randomData(5000, 11);
  const auth = authFor({ kind: 'unsigned' });
  const crc64 = await digestOf('CRC64NVME', data);
  const none = createPayloadDecoder(auth, {}, { defaultChecksum: 'CRC64NVME' });
  t.equal(none.defaultChecksum, 'CRC64NVME', 'known before any byte');
  await decode(none, data, [7]);
  t.same(none.checksums, { CRC64NVME: crc64 }, 'reported');
  // Content-MD5 alone is no checksum.
  const md5 = createPayloadDecoder(auth, { 'content-md5': md5Base64(data) }, { defaultChecksum: 'CRC64NVME' });
  t.equal(md5.defaultChecksum, 'CRC64NVME');
  // The client's own, in a header or a trailer (the same algorithm too): no default.
  const crc32 = await digestOf('CRC32', data);
  const header = createPayloadDecoder(auth, { 'x-amz-checksum-crc32': crc32 }, { defaultChecksum: 'CRC64NVME' });
  t.equal(header.defaultChecksum, undefined, 'a checksum header: none');
  await decode(header, data);
  t.same(header.checksums, { CRC32: crc32 }, 'only the client\'s');
  const same = createPayloadDecoder(auth, { 'x-amz-checksum-crc64nvme': crc64 }, { defaultChecksum: 'CRC64NVME' });
  t.equal(same.defaultChecksum, undefined, 'a CRC64NVME header is the client\'s');
  const trailer = createPayloadDecoder(authFor({ kind: 'streaming-unsigned-trailer' }), { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': String(data.length) }, { defaultChecksum: 'CRC64NVME' });
  t.equal(trailer.defaultChecksum, undefined, 'a trailer: none');
  t.equal(createPayloadDecoder(auth, {}).defaultChecksum, undefined, 'not asked for: none');
});

// ---------------------------------------------------------------------------------------------
// Framing and trailer errors

t.test('malformed aws-chunked framing', async (t) => {
  const unsigned = authFor({ kind: 'streaming-unsigned-trailer' });
  const signed = authFor({ kind: 'streaming-signed', trailer: false });
  const run = (auth: AuthResult, body: string | Buffer, headers: Record<string, string> = {}): Promise<string> =>
    codeOf(() => decode(createPayloadDecoder(auth, headers), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1')));

  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n'), 'no error', 'the well-formed body');
  t.equal(await run(unsigned, 'zz\r\nabc\r\n0\r\n\r\n'), 'IncompleteBody', 'bad hex size');
  t.equal(await run(unsigned, '\r\nabc\r\n0\r\n\r\n'), 'IncompleteBody', 'empty size');
  t.equal(await run(unsigned, '-3\r\nabc\r\n0\r\n\r\n'), 'IncompleteBody', 'negative size');
  t.equal(await run(unsigned, ' 3\r\nabc\r\n0\r\n\r\n'), 'IncompleteBody', 'space before size');
  t.equal(await run(unsigned, '3;foo=bar\r\nabc\r\n0\r\n\r\n'), 'IncompleteBody', 'chunk extension in an unsigned body');
  t.equal(await run(unsigned, '3\nabc\r\n0\r\n\r\n'), 'IncompleteBody', 'bare LF');
  t.equal(await run(unsigned, '3\r\nabcX\r\n0\r\n\r\n'), 'IncompleteBody', 'data longer than its size');
  t.equal(await run(unsigned, '3\r\nabc\n0\r\n\r\n'), 'IncompleteBody', 'missing CR after data');
  t.equal(await run(unsigned, '3\r\nabc\rX0\r\n\r\n'), 'IncompleteBody', 'missing LF after data');
  t.equal(await run(unsigned, `${'0'.repeat(300)}3\r\nabc\r\n0\r\n\r\n`), 'IncompleteBody', 'oversized chunk header line');
  t.equal(await run(unsigned, `${'f'.repeat(17)}\r\n`), 'IncompleteBody', 'size of 17 hex digits');
  t.equal(await run(unsigned, `${'f'.repeat(16)}\r\n`), 'IncompleteBody', 'size beyond 2^53');
  // What follows the end of the body is ignored, as S3 ignores it (Swift's AWS-checked tests).
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\nX'), 'no error', 'data after the final chunk');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n3\r\nabc\r\n'), 'no error', 'a chunk after the final chunk');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n3\r\nabc\r\n0\r\n\r\n', { 'x-amz-decoded-content-length': '6' }), 'IncompleteBody', '… so a zero-size chunk in the middle ends the body short');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n'), 'MalformedTrailerError', 'undeclared trailer');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nno colon\r\n\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'MalformedTrailerError', 'trailer without colon');
  t.equal(
    await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }),
    'no error',
    'a trailer sent twice',
  );
  // Sent twice, its last value is the one taken (S3's answer in Swift's AWS-checked tests).
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'no error', 'a wrong value, then the right one');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'BadDigest', 'the right value, then a wrong one');
  // Ending on a trailer line with a bare LF: the body ended too soon (S3's IncompleteBody).
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'IncompleteBody', 'a trailer line ending in a bare LF, last');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'no error', 'declared trailer');
  // Ending right after the trailer line, without the blank line: S3 takes it (Swift's AWS-checked tests).
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32: NSRBwg==\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'no error', 'an unsigned trailer without the final blank line');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'BadDigest', '… and its value is still checked');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'IncompleteBody', 'a trailer line cut before its line end is still incomplete');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n', { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'MalformedTrailerError', 'declared trailer missing');
  t.equal(await run(unsigned, `3\r\nabc\r\n0\r\nx-amz-checksum-crc32:${'A'.repeat(2000)}\r\n\r\n`, { 'x-amz-trailer': 'x-amz-checksum-crc32' }), 'MalformedTrailerError', 'oversized trailer line');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n', { 'x-amz-decoded-content-length': '4' }), 'IncompleteBody', 'shorter than x-amz-decoded-content-length');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n', { 'x-amz-decoded-content-length': '2' }), 'IncompleteBody', 'longer than x-amz-decoded-content-length');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n', { 'content-length': '99' }), 'IncompleteBody', 'Content-Length disagrees');
  t.equal(await run(unsigned, '3\r\nabc\r\n0\r\n\r\n', { 'x-amz-decoded-content-length': 'three' }), 'InvalidArgument', 'bad x-amz-decoded-content-length');

  const sig = 'a'.repeat(64);
  t.equal(await run(signed, `3\r\nabc\r\n0\r\n\r\n`), 'IncompleteBody', 'unsigned chunk in a signed body');
  t.equal(await run(signed, `3;chunk-signature=${sig.slice(1)}\r\nabc\r\n`), 'SignatureDoesNotMatch', 'short chunk signature: a wrong signature');
  t.equal(await run(signed, `3;chunk-signature=${sig};x=y\r\nabc\r\n`), 'IncompleteBody', 'extension after the signature');
  t.equal(await run(signed, `3;chunk-signatur=${sig}\r\nabc\r\n`), 'IncompleteBody', 'misspelt extension');
  t.equal(await run(signed, `3;chunk-signature=\r\nabc\r\n`), 'IncompleteBody', 'empty chunk signature');
  t.equal(await run(signed, `3;x=y;chunk-signature=${sig}\r\nabc\r\n`), 'SignatureDoesNotMatch', 'extension before the signature');
  t.equal(await run(signed, `3;chunk-signature=${sig}\r\nabc\r\n`), 'SignatureDoesNotMatch', 'wrong chunk signature');
  const good = encodeSigned(signed, [Buffer.from('abc')]);
  t.equal(await run(signed, good), 'no error');
  t.equal(await run(signed, Buffer.concat([good.subarray(0, -2), Buffer.from('x-amz-checksum-crc32:NSRBwg==\r\n\r\n')])), 'InvalidRequest', 'trailer in a non-trailer mode');
  // The decoded length is enforced as soon as a chunk header overruns it.
  const early = createPayloadDecoder(unsigned, { 'x-amz-decoded-content-length': '3' });
  t.equal(await codeOf(() => early.push(Buffer.from('10\r\n'), () => undefined)), 'IncompleteBody', 'overrun detected at the chunk header');
});

t.test('header validation up front', async (t) => {
  const unsigned = authFor({ kind: 'unsigned' });
  const trailer = authFor({ kind: 'streaming-unsigned-trailer' });
  t.equal(await codeOf(() => createPayloadDecoder(unsigned, { 'x-amz-trailer': 'x-amz-checksum-crc32' })), 'MalformedTrailerError', 'x-amz-trailer without a trailer mode (S3\'s MalformedTrailerError)');
  t.equal(await codeOf(() => createPayloadDecoder(authFor({ kind: 'streaming-signed', trailer: false }), { 'x-amz-trailer': 'x-amz-checksum-crc32' })), 'MalformedTrailerError');
  t.equal(await codeOf(() => createPayloadDecoder(unsigned, { 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-checksum-sha1': 'L9ThxnotKPzthJ7hu3bnORuT6xI=' })), 'InvalidRequest', 'a trailer and a checksum header, trailer mode or not: InvalidRequest first');
  t.equal(await codeOf(() => createPayloadDecoder(trailer, { 'x-amz-trailer': 'x-amz-checksum-bad' })), 'InvalidRequest', 'unknown trailer');
  // A checksum S3 takes and s3d does not compute: 501, as its header is answered.
  t.equal(await codeOf(() => createPayloadDecoder(trailer, { 'x-amz-trailer': 'x-amz-checksum-md5' })), 'NotImplemented', 'an MD5 trailer');
  t.equal(await codeOf(() => createPayloadDecoder(trailer, { 'x-amz-trailer': 'x-amz-checksum-crc32,x-amz-checksum-sha1' })), 'InvalidRequest', 'two trailers');
  t.equal(await codeOf(() => createPayloadDecoder(trailer, { 'x-amz-trailer': 'x-amz-checksum-crc32' })), 'no error');
});

t.test('a failed decoder stays failed; no use after finish', async (t) => {
  const auth = authFor({ kind: 'streaming-unsigned-trailer' });
  const d = createPayloadDecoder(auth, {});
  let first: unknown;
  try {
    d.push(Buffer.from('zz\r\n'), () => undefined);
  } catch (err) {
    first = err;
  }
  t.ok(first instanceof S3Error);
  t.throws(() => d.push(Buffer.from('3\r\nabc\r\n'), () => undefined), first as Error, 'push rethrows the first error');
  await t.rejects(d.finish(), first as Error, 'finish rejects with it');

  const plain = createPayloadDecoder(authFor({ kind: 'unsigned' }), {});
  await decode(plain, Buffer.from('abc'));
  t.equal(await codeOf(() => plain.push(Buffer.from('x'), () => undefined)), 'InternalError', 'push after finish');
  t.equal(await codeOf(() => plain.finish()), 'InternalError', 'finish twice');
  t.equal(plain.decodedBytes, 3);

  // An error thrown by the consumer poisons the decoder as well.
  const consumer = createPayloadDecoder(authFor({ kind: 'unsigned' }), {});
  const boom = new Error('disk full');
  t.throws(() => consumer.push(Buffer.from('abc'), () => {
    throw boom;
  }), boom);
  await t.rejects(consumer.finish(), boom);
});

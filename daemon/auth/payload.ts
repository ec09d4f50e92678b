// Request-body verification as push decoders, one per SigV4 payload mode: aws-chunked framing,
// chunk and trailer signatures, x-amz-content-sha256, Content-MD5 and x-amz-checksum-*.

import { createHash, type Hash } from 'node:crypto';
import { createRequire } from 'node:module';
import { S3Error } from '../errors.js';
import { type NativeCrc, type NativeCrcLoad, NativeCrc32c, NativeCrc64Nvme, loadNativeCrc } from './crc-native.js';
import { type AuthResult, EMPTY_SHA256, chunkStringToSign, signatureHex, signaturesEqual, trailerStringToSign } from './sigv4.js';
import { signatureMismatch } from './sigv4-errors.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

/** The header (or trailer) that carries each checksum, base64 of the big-endian digest. */
export const CHECKSUM_HEADERS: Readonly<Record<ChecksumAlgorithm, string>> = {
  CRC32: 'x-amz-checksum-crc32',
  CRC32C: 'x-amz-checksum-crc32c',
  CRC64NVME: 'x-amz-checksum-crc64nvme',
  SHA1: 'x-amz-checksum-sha1',
  SHA256: 'x-amz-checksum-sha256',
};

const DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

export interface PayloadDecoder {
  /**
   * Feeds raw body bytes (any chunking; the buffer is the caller's only during the call).
   * onData receives decoded payload bytes as views of `chunk`, with the same lifetime: copy
   * what you keep. Bytes are not verified until finish() resolves. Throws S3Error.
   */
  push(chunk: Buffer, onData: (data: Buffer) => void): void;
  /** The body ended: verifies the final chunk, trailer, hashes and declared lengths. Rejects with S3Error. */
  finish(): Promise<void>;
  /** Decoded payload bytes so far. */
  readonly decodedBytes: number;
  /** After finish(): the checksums the client sent (header or trailer), all verified, plus any asked for in options. */
  readonly checksums: Readonly<Partial<Record<ChecksumAlgorithm, string>>>;
  /** After finish(): MD5 of the payload when Content-MD5 was sent or options.md5 was set. */
  readonly md5: Buffer | undefined;
  /**
   * Known before any byte: whether every byte is checked against a digest the client sent or
   * signed (Content-MD5, an x-amz-checksum-* header or trailer, a SHA-256 payload hash, signed
   * aws-chunked chunks), not merely framed. UNSIGNED-PAYLOAD alone is not.
   */
  readonly digested: boolean;
  /**
   * Known before any byte: the algorithm of options.defaultChecksum when the body names no checksum
   * of its own (no x-amz-checksum-* header, no trailer), so that the one `checksums` reports for it
   * is S3's default, not the client's; undefined otherwise.
   */
  readonly defaultChecksum: ChecksumAlgorithm | undefined;
}

export interface PayloadOptions {
  /** Compute the payload MD5 (e.g. for the ETag) even without Content-MD5. */
  md5?: boolean;
  /** Also compute these checksums (reported in `checksums`, nothing to verify them against). */
  checksums?: readonly ChecksumAlgorithm[];
  /** The x-amz-checksum-* headers describe something other than the body (CompleteMultipartUpload: the
   *  object's checksum, checked by its handler): not checked here. Content-MD5 and trailers still are. */
  ignoreChecksumHeaders?: boolean;
  /** BadDigest names the client's Content-MD5 in base64, as sent, rather than in hex: S3's answer for
   *  CompleteMultipartUpload and DeleteObjects (OpenStack Swift's AWS-run tests; hex for an object's body). */
  expectedDigestBase64?: boolean;
  /** A body that names no checksum of its own (no x-amz-checksum-* header, no trailer) gets this one,
   *  computed as it passes and reported in `checksums` (S3's default CRC64NVME on PutObject and
   *  UploadPart; PayloadDecoder.defaultChecksum tells it from the client's). */
  defaultChecksum?: ChecksumAlgorithm;
}

/** What the decoder needs from authentication (an AuthResult fits). */
export type PayloadAuth = Pick<AuthResult, 'payload' | 'seedSignature' | 'signingKey' | 'scope' | 'amzDate'> & Partial<Pick<AuthResult, 'accessKeyId' | 'canonicalRequest'>>;

export function createPayloadDecoder(auth: PayloadAuth, headers: Record<string, string>, options: PayloadOptions = {}): PayloadDecoder {
  const mode = auth.payload;
  switch (mode.kind) {
    case 'unsigned':
    case 'sha256':
      return new PlainDecoder(new BodyChecks(auth, headers, options));
    case 'streaming-signed':
      return new ChunkedDecoder(new BodyChecks(auth, headers, options), auth, true, mode.trailer);
    case 'streaming-unsigned-trailer':
      return new ChunkedDecoder(new BodyChecks(auth, headers, options), auth, false, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Hashes over the decoded payload and the checks made at the end of the body

export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

function nodeHasher(name: 'sha256' | 'sha1' | 'md5'): Hasher {
  const hash = createHash(name);
  return {
    update: (data) => {
      hash.update(data);
    },
    digest: async () => hash.digest(),
  };
}

// The SDK's CRC implementations are loaded on first use: the package pulls in @smithy/core and
// OpenTelemetry's API, about 100 ms of a start-up that needs none of it until a request names a CRC.
type CrcModule = typeof import('@aws-sdk/checksums/crc');
let crcModule: CrcModule | undefined;
function crc(): CrcModule {
  return (crcModule ??= createRequire(import.meta.url)('@aws-sdk/checksums/crc') as CrcModule);
}

// CRC32C and CRC64NVME go through the native binding (crc-native.ts: about 400 MiB/s in
// JavaScript, several GB/s there) where it was built and loads; CRC32 is zlib's already.
const nativeCrcLoad: NativeCrcLoad = loadNativeCrc();
let nativeCrc: NativeCrc | undefined = nativeCrcLoad.binding;

/** Which CRC32C and CRC64NVME this thread uses, and why not the native ones when it does not. */
export function crcImplementation(): { native: boolean; crc32cInstruction: boolean; crc64nvmeClmul: boolean; file: string; reason?: string; byDesign?: boolean } {
  return {
    native: nativeCrc !== undefined,
    crc32cInstruction: nativeCrc?.crc32cHardware === true,
    crc64nvmeClmul: nativeCrc?.crc64nvmeHardware === true,
    file: nativeCrcLoad.file,
    reason: nativeCrc !== undefined ? undefined : nativeCrcLoad.reason ?? 'switched off',
    byDesign: nativeCrcLoad.byDesign,
  };
}

/** Chooses this thread's CRC32C and CRC64NVME: `native` (only where the binding loaded) or `js`; returns the previous choice. For tests. */
export function useCrcImplementation(which: 'native' | 'js'): 'native' | 'js' {
  const previous = nativeCrc !== undefined ? 'native' : 'js';
  if (which === 'native' && nativeCrcLoad.binding === undefined) throw new Error(`the native CRC binding is not loaded: ${nativeCrcLoad.reason}`);
  nativeCrc = which === 'native' ? nativeCrcLoad.binding : undefined;
  return previous;
}

export function checksumHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'CRC32':
      return new (crc().Crc32)();
    case 'CRC32C':
      return nativeCrc !== undefined ? new NativeCrc32c(nativeCrc) : new (crc().Crc32c)();
    case 'CRC64NVME':
      return nativeCrc !== undefined ? new NativeCrc64Nvme(nativeCrc) : new (crc().Crc64Nvme)();
    case 'SHA1':
      return nodeHasher('sha1');
    case 'SHA256':
      return nodeHasher('sha256');
  }
}

export function isChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[algorithm] && bytes.toString('base64') === value;
}

function checksumAlgorithmOf(headerName: string): ChecksumAlgorithm | undefined {
  return CHECKSUM_ALGORITHMS.find((a) => CHECKSUM_HEADERS[a] === headerName);
}

function parseLength(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new S3Error('InvalidArgument', `${name} must be a non-negative integer.`);
  return n;
}

/**
 * The trailer names an x-amz-trailer header lists (lower-case). As S3 reads the list (OpenStack
 * Swift's AWS-checked tests): commas at its end are ignored (`x-amz-checksum-crc32,` and `…,,` are
 * taken), an empty name before a name or between names (`, x-amz-checksum-crc32`,
 * `x-amz-checksum-crc32, ,`) is not supported.
 */
export function parseTrailerHeader(value: string | undefined): string[] {
  const list = value?.trim().toLowerCase().replace(/,+$/, '') ?? '';
  if (list === '') return [];
  const names = list.split(',').map((name) => name.trim());
  if (names.includes('')) throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
  return names;
}

/**
 * A Content-MD5 header's 16 bytes; InvalidDigest when it is not base64 of 16 bytes (in S3's words
 * as AWS answers them, not its error table's). The last character's unused bits are not judged:
 * S3 decodes `uU0nuZNNPgilLlLX2n2r+s==` to 16 bytes and answers BadDigest when they are not the
 * body's MD5 (versitygw's AWS-checked PutBucketCors_md5), so such a value is a digest that does
 * not match, not one that is malformed.
 */
export function parseContentMd5(value: string): Buffer {
  const text = value.trim();
  if (!MD5_BASE64.test(text)) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', { fields: { 'Content-MD5': value } });
  return Buffer.from(text, 'base64');
}
/** Base64 of 16 bytes: 22 characters of the standard alphabet and two `=`. */
const MD5_BASE64 = /^[A-Za-z0-9+/]{22}==$/;

/** x-amz-checksum-* names that are not a checksum value. */
const CHECKSUM_SETTINGS = new Set(['x-amz-checksum-mode', 'x-amz-checksum-type', 'x-amz-checksum-algorithm']);

/** A header (lower-case) that carries a checksum value, of any algorithm, s3d's or not. */
export function isChecksumValueHeader(name: string): boolean {
  return name.startsWith('x-amz-checksum-') && !CHECKSUM_SETTINGS.has(name);
}

/**
 * A checksum of an algorithm s3d does not compute (S3's newer SHA-512, MD5 and XXHASH ones) is
 * refused: it used to be neither checked nor kept, and the request succeeded whatever it said.
 */
function refuseUnknownChecksums(headers: Record<string, string>): void {
  for (const name of Object.keys(headers)) {
    if (!isChecksumValueHeader(name) || checksumAlgorithmOf(name) !== undefined) continue;
    // A name S3 does not know either is a bad request (its answer), not a missing feature.
    if (!S3_ONLY_CHECKSUMS.has(name)) throw new S3Error('InvalidRequest', 'The algorithm type you specified in x-amz-checksum- header is invalid.');
    throw new S3Error('NotImplemented', `The ${name} checksum is not implemented: s3d checks CRC32, CRC32C, CRC64NVME, SHA1 and SHA256.`);
  }
}

/** Checksums S3 takes and s3d does not compute. */
const S3_ONLY_CHECKSUMS: ReadonlySet<string> = new Set(['sha512', 'md5', 'xxhash3', 'xxhash64', 'xxhash128'].map((a) => `x-amz-checksum-${a}`));

/** Validates the body-related headers up front, hashes the payload, and checks it all at the end. */
class BodyChecks {
  private readonly hashers = new Map<ChecksumAlgorithm | 'MD5', Hasher>();
  private readonly expectedMd5: Buffer | undefined;
  private readonly expectedSha256: string | undefined;
  private readonly sha256Presigned: boolean = false;
  private readonly expectedDigestBase64: boolean;
  /** the client's checksum: from a header now, or from the trailer later */
  private checksum: { algorithm: ChecksumAlgorithm; value: string | undefined } | undefined;
  readonly trailerAlgorithm: ChecksumAlgorithm | undefined;
  readonly declaredDecodedLength: number | undefined;
  private readonly contentLength: number | undefined;
  private readonly reported: ReadonlySet<ChecksumAlgorithm>;
  readonly results: Partial<Record<ChecksumAlgorithm, string>> = {};
  /** PayloadDecoder.defaultChecksum. */
  readonly defaultChecksum: ChecksumAlgorithm | undefined;
  md5: Buffer | undefined;

  constructor(auth: PayloadAuth, headers: Record<string, string>, options: PayloadOptions) {
    const mode = auth.payload;
    const chunked = mode.kind === 'streaming-signed' || mode.kind === 'streaming-unsigned-trailer';
    const trailers = (mode.kind === 'streaming-signed' && mode.trailer) || mode.kind === 'streaming-unsigned-trailer';

    this.expectedDigestBase64 = options.expectedDigestBase64 === true;
    const contentMd5 = headers['content-md5'];
    if (contentMd5 !== undefined) this.expectedMd5 = parseContentMd5(contentMd5);

    const sent = options.ignoreChecksumHeaders === true ? [] : CHECKSUM_ALGORITHMS.filter((a) => headers[CHECKSUM_HEADERS[a]] !== undefined);
    if (options.ignoreChecksumHeaders !== true) refuseUnknownChecksums(headers);
    const trailerNames = parseTrailerHeader(headers['x-amz-trailer']);
    const hasTrailer = trailerNames.length > 0;
    // Counted before the trailer is looked at: a checksum header besides a trailer is refused for
    // that first, streaming or not, as S3 does (OpenStack Swift's AWS-checked tests); one header
    // beside one trailer in S3's shorter words.
    if (sent.length === 1 && trailerNames.length === 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');
    if (sent.length + trailerNames.length > 1 && sent.length > 0) throw multipleChecksums();
    if (hasTrailer) {
      // S3's words alone (OpenStack Swift's AWS-run tests), here and below: x-amz-trailer needs a
      // STREAMING-*-TRAILER x-amz-content-sha256.
      if (!trailers) throw new S3Error('MalformedTrailerError');
      for (const name of trailerNames) {
        if (checksumAlgorithmOf(name) !== undefined) continue;
        if (S3_ONLY_CHECKSUMS.has(name)) throw new S3Error('NotImplemented', `The ${name} checksum is not implemented: s3d checks CRC32, CRC32C, CRC64NVME, SHA1 and SHA256.`);
        throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
      }
      if (trailerNames.length > 1) throw multipleChecksums();
      this.trailerAlgorithm = checksumAlgorithmOf(trailerNames[0]!);
    }
    // What the SDK says it checksums must be what it sends (S3 answers 400 otherwise).
    const declared = options.ignoreChecksumHeaders === true ? undefined : headers['x-amz-sdk-checksum-algorithm']?.trim().toUpperCase();
    if (declared !== undefined) {
      const named = sent[0] ?? this.trailerAlgorithm;
      // An algorithm S3 has and s3d does not compute is a missing feature, not a malformed request:
      // the SDK's ChecksumAlgorithm MD5 declares MD5 and sends Content-MD5 (no x-amz-checksum-md5).
      if (named === undefined && S3_ONLY_CHECKSUMS.has(`x-amz-checksum-${declared.toLowerCase()}`)) {
        throw new S3Error('NotImplemented', `The ${declared} checksum algorithm is not implemented: s3d checks CRC32, CRC32C, CRC64NVME, SHA1 and SHA256.`);
      }
      if (named === undefined) throw new S3Error('InvalidRequest', `x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.`);
      // S3's words for an algorithm other than the checksum's, or one it does not know (OpenStack
      // Swift's test_object_checksums.py, run against AWS).
      if (named !== declared) throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
    if (sent.length === 1) {
      const algorithm = sent[0]!;
      const value = headers[CHECKSUM_HEADERS[algorithm]]!.trim();
      if (!isChecksumValue(algorithm, value)) throw new S3Error('InvalidRequest', `Value for ${CHECKSUM_HEADERS[algorithm]} header is invalid.`);
      this.checksum = { algorithm, value };
    } else if (this.trailerAlgorithm !== undefined) {
      this.checksum = { algorithm: this.trailerAlgorithm, value: undefined };
    }

    this.declaredDecodedLength = chunked ? parseLength(headers['x-amz-decoded-content-length'], 'x-amz-decoded-content-length') : undefined;
    const contentLength = headers['content-length'];
    this.contentLength = contentLength !== undefined && /^\d{1,16}$/.test(contentLength.trim()) ? Number(contentLength.trim()) : undefined;

    if (mode.kind === 'sha256') {
      this.expectedSha256 = mode.expectedHex;
      this.sha256Presigned = mode.presigned === true;
    }
    if (this.expectedSha256 !== undefined) this.hashers.set('SHA256', checksumHasher('SHA256'));
    if (this.expectedMd5 !== undefined || options.md5 === true) this.hashers.set('MD5', nodeHasher('md5'));
    // A SHA-256 hashed only for x-amz-content-sha256 is not reported as a checksum.
    if (this.checksum === undefined) this.defaultChecksum = options.defaultChecksum;
    const own = this.checksum?.algorithm ?? options.defaultChecksum;
    this.reported = new Set([...(options.checksums ?? []), ...(own === undefined ? [] : [own])]);
    for (const algorithm of this.reported) {
      if (!this.hashers.has(algorithm)) this.hashers.set(algorithm, checksumHasher(algorithm));
    }
  }

  /** Whether the body is checked against a digest the client gave: Content-MD5, a checksum (header or trailer), a SHA-256 payload hash. */
  get digested(): boolean {
    return this.expectedMd5 !== undefined || this.checksum !== undefined || this.expectedSha256 !== undefined;
  }

  update(data: Buffer): void {
    for (const hasher of this.hashers.values()) hasher.update(data);
  }

  /** The trailer's checksum value, once its signature (if any) is verified. */
  setTrailerChecksum(value: string): void {
    const algorithm = this.trailerAlgorithm!;
    if (!isChecksumValue(algorithm, value)) throw new S3Error('InvalidRequest', `Value for ${CHECKSUM_HEADERS[algorithm]} trailing header is invalid.`);
    this.checksum = { algorithm, value };
  }

  async verify(decodedBytes: number, rawBytes: number): Promise<void> {
    if (this.declaredDecodedLength !== undefined && decodedBytes !== this.declaredDecodedLength) throw wrongDecodedLength(this.declaredDecodedLength, decodedBytes);
    if (this.contentLength !== undefined && rawBytes !== this.contentLength) {
      throw new S3Error('IncompleteBody', `The body has ${rawBytes} bytes; Content-Length says ${this.contentLength}.`);
    }
    const digests = new Map<ChecksumAlgorithm | 'MD5', Buffer>();
    for (const [name, hasher] of this.hashers) {
      const d = await hasher.digest();
      digests.set(name, Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
    if (this.expectedSha256 !== undefined && digests.get('SHA256')!.toString('hex') !== this.expectedSha256.toLowerCase()) {
      if (this.sha256Presigned) throw new S3Error('SignatureDoesNotMatch');
      throw new S3Error('XAmzContentSHA256Mismatch', undefined, { fields: { ClientComputedContentSHA256: this.expectedSha256, S3ComputedContentSHA256: digests.get('SHA256')!.toString('hex') } });
    }
    const md5 = digests.get('MD5');
    if (this.expectedMd5 !== undefined && !this.expectedMd5.equals(md5!)) {
      throw badDigest(this.expectedMd5, md5!, this.expectedDigestBase64);
    }
    if (this.checksum !== undefined) {
      if (this.checksum.value === undefined) throw new S3Error('MalformedTrailerError');
      if (digests.get(this.checksum.algorithm)!.toString('base64') !== this.checksum.value) {
        throw new S3Error('BadDigest', `The ${this.checksum.algorithm} you specified did not match the calculated checksum.`);
      }
    }
    for (const algorithm of this.reported) this.results[algorithm] = digests.get(algorithm)!.toString('base64');
    this.md5 = md5;
  }
}

/**
 * An aws-chunked body that decodes to more or fewer bytes than x-amz-decoded-content-length says:
 * S3's IncompleteBody with both counts (OpenStack Swift's AWS-run tests: a zero-size chunk in the
 * middle ends the body short, a chunk too big for the length overruns it).
 */
export function wrongDecodedLength(expected: number, provided: number): S3Error {
  return new S3Error('IncompleteBody', undefined, { fields: { NumberBytesExpected: String(expected), NumberBytesProvided: String(provided) } });
}

/** More than one checksum named for one body (headers, a trailer): S3's InvalidRequest. */
export function multipleChecksums(): S3Error {
  return new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
}

/**
 * BadDigest for a Content-MD5 that does not match the body, with the two digests as S3 gives them:
 * the client's in hex (in base64 where `expectedBase64`), the one computed in base64.
 */
export function badDigest(expected: Buffer, calculated: Buffer, expectedBase64 = false): S3Error {
  return new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
    fields: { ExpectedDigest: expected.toString(expectedBase64 ? 'base64' : 'hex'), CalculatedDigest: calculated.toString('base64') },
  });
}

// ---------------------------------------------------------------------------------------------
// Decoders

abstract class DecoderBase implements PayloadDecoder {
  protected error: unknown;
  protected finished = false;
  protected decoded = 0;

  constructor(protected readonly checks: BodyChecks) {}

  get decodedBytes(): number {
    return this.decoded;
  }

  get checksums(): Readonly<Partial<Record<ChecksumAlgorithm, string>>> {
    return this.checks.results;
  }

  get md5(): Buffer | undefined {
    return this.checks.md5;
  }

  get digested(): boolean {
    return this.checks.digested;
  }

  get defaultChecksum(): ChecksumAlgorithm | undefined {
    return this.checks.defaultChecksum;
  }

  push(chunk: Buffer, onData: (data: Buffer) => void): void {
    if (this.error !== undefined) throw this.error;
    if (this.finished) throw new S3Error('InternalError', 'Body bytes after the end of the body.');
    try {
      this.consume(chunk, onData);
    } catch (err) {
      this.error = err;
      throw err;
    }
  }

  async finish(): Promise<void> {
    if (this.error !== undefined) throw this.error;
    if (this.finished) throw new S3Error('InternalError', 'The body was already finished.');
    this.finished = true;
    try {
      await this.end();
    } catch (err) {
      this.error = err;
      throw err;
    }
  }

  protected abstract consume(chunk: Buffer, onData: (data: Buffer) => void): void;
  protected abstract end(): Promise<void>;
}

/** UNSIGNED-PAYLOAD and a plain x-amz-content-sha256: the body is the payload. */
class PlainDecoder extends DecoderBase {
  protected consume(chunk: Buffer, onData: (data: Buffer) => void): void {
    if (chunk.length === 0) return;
    this.decoded += chunk.length;
    this.checks.update(chunk);
    onData(chunk);
  }

  protected end(): Promise<void> {
    return this.checks.verify(this.decoded, this.decoded);
  }
}

const SIZE_LINE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;
const DONE = 5;

/** Longest chunk header: 16 hex digits + ";chunk-signature=" + 64 hex digits, with room to spare. */
const MAX_CHUNK_LINE = 256;
const MAX_TRAILER_LINE = 1024;
const MAX_TRAILERS = 8;
// S3 takes spaces around ';' and '=' (OpenStack Swift's AWS-checked tests); a signature that is
// not 64 hex digits is a wrong signature (403), not a framing error. The first parameter is read
// as the signature: another before chunk-signature is a wrong signature too, one after it framing.
const SIGNED_CHUNK_LINE = /^([0-9a-fA-F]{1,16}) *; *([^ =;]+) *= *([^ ;]*) *(;.*)?$/;
const UNSIGNED_CHUNK_LINE = /^[0-9a-fA-F]{1,16}$/;

function framingError(message: string): S3Error {
  return new S3Error('IncompleteBody', `Malformed aws-chunked body: ${message}`);
}

/**
 * aws-chunked bodies: "hex-size[;chunk-signature=sig]\r\n" data "\r\n" ..., a final 0-size chunk,
 * then trailer lines and an empty line. Chunk data is streamed through, never buffered.
 */
class ChunkedDecoder extends DecoderBase {
  private state = SIZE_LINE;
  private readonly line = Buffer.allocUnsafe(MAX_TRAILER_LINE);
  private lineLength = 0;
  private remaining = 0;
  private rawBytes = 0;
  private chunkHash: Hash | undefined;
  private chunkSignature = '';
  /** The chunk header's first parameter is not chunk-signature: its value is taken for the signature, and fails. */
  private signatureMisplaced = false;
  private previousSignature: string;
  private readonly trailers: Array<[string, string]> = [];
  private trailerSignature: string | undefined;

  constructor(
    checks: BodyChecks,
    private readonly auth: PayloadAuth,
    private readonly signed: boolean,
    private readonly trailersAllowed: boolean,
  ) {
    super(checks);
    this.previousSignature = auth.seedSignature;
  }

  override get digested(): boolean {
    // Each signed chunk's SHA-256 is part of its signature.
    return this.signed || this.checks.digested;
  }

  /** Whether a blank trailer line was taken for the one minio-go puts before its signature line. */
  private blankBeforeSignature = false;
  /** Whether the last trailer line ended in a bare LF (minio-go's, before its CRLF blank line). */
  private lastLineBareLf = false;

  protected consume(chunk: Buffer, onData: (data: Buffer) => void): void {
    this.rawBytes += chunk.length;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.state) {
        case DATA: {
          const n = Math.min(this.remaining, end - pos);
          const data = chunk.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          this.decoded += n;
          this.chunkHash?.update(data);
          this.checks.update(data);
          onData(data);
          if (this.remaining === 0) {
            if (this.signed) this.verifyChunk(this.chunkHash!.digest('hex'));
            this.state = DATA_CR;
          }
          break;
        }
        case DATA_CR:
        case DATA_LF:
          if (chunk[pos] !== (this.state === DATA_CR ? 0x0d : 0x0a)) throw framingError('chunk data is not followed by CRLF.');
          pos++;
          this.state = this.state === DATA_CR ? DATA_LF : SIZE_LINE;
          break;
        case SIZE_LINE:
        case TRAILER: {
          const newline = chunk.indexOf(0x0a, pos);
          const stop = newline < 0 ? end : newline;
          const limit = this.state === SIZE_LINE ? MAX_CHUNK_LINE : MAX_TRAILER_LINE;
          if (this.lineLength + (stop - pos) > limit) {
            throw this.state === SIZE_LINE ? framingError('chunk header line too long.') : new S3Error('MalformedTrailerError');
          }
          chunk.copy(this.line, this.lineLength, pos, stop);
          this.lineLength += stop - pos;
          if (newline < 0) return;
          pos = newline + 1;
          const cr = this.lineLength > 0 && this.line[this.lineLength - 1] === 0x0d;
          if (this.state === TRAILER) this.lastLineBareLf = !cr;
          // Chunk headers end in CRLF. Trailer lines may end in a bare LF: minio-go (mc, and
          // every Go program using it) writes `name:value\n`, then `\r\n`, then its signature
          // line; S3 and MinIO take it.
          if (!cr && this.state === SIZE_LINE) throw framingError('line not terminated by CRLF.');
          const text = this.line.toString('latin1', 0, this.lineLength - (cr ? 1 : 0));
          this.lineLength = 0;
          if (this.state === SIZE_LINE) this.onChunkHeader(text);
          else this.onTrailerLine(text);
          break;
        }
        default:
          // After the blank line that ends an unsigned body S3 reads no further: whatever the rest
          // of the Content-Length holds is ignored (OpenStack Swift's AWS-run tests: junk, a trailer
          // line, a whole second run of chunks after a zero-size one). Nothing of it is stored.
          if (!this.signed) return;
          // Signed (no AWS-run evidence either way): line ends only, as minio-go may add.
          if (chunk[pos] !== 0x0d && chunk[pos] !== 0x0a) throw new S3Error('InvalidRequest', 'Unexpected data after the end of the aws-chunked body.');
          pos++;
          break;
      }
    }
  }

  private onChunkHeader(text: string): void {
    let sizeHex: string;
    if (this.signed) {
      const m = SIGNED_CHUNK_LINE.exec(text);
      const named = m?.[2] === 'chunk-signature';
      // Only a chunk-signature after another parameter is that (OpenStack Swift's AWS-run tests); a line without one is framing.
      if (m === null || (named ? m[4] !== undefined : !/; *chunk-signature *=/.test(m[4] ?? ''))) throw framingError('bad chunk header (expected "hex-size;chunk-signature=signature").');
      // An empty signature: S3's IncompleteBody in its words (OpenStack Swift's AWS-run tests).
      if (named && m[3] === '') throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly');
      sizeHex = m[1]!;
      this.chunkSignature = m[3]!;
      this.signatureMisplaced = !named;
    } else {
      if (!UNSIGNED_CHUNK_LINE.test(text)) throw framingError('bad chunk header (expected "hex-size").');
      sizeHex = text;
    }
    const size = parseInt(sizeHex, 16);
    if (!Number.isSafeInteger(size)) throw framingError('chunk size out of range.');
    const declared = this.checks.declaredDecodedLength;
    if (declared !== undefined && this.decoded + size > declared) throw wrongDecodedLength(declared, this.decoded + size);
    if (size === 0) {
      if (this.signed) this.verifyChunk(EMPTY_SHA256);
      this.state = TRAILER;
      return;
    }
    this.remaining = size;
    if (this.signed) this.chunkHash = createHash('sha256');
    this.state = DATA;
  }

  private verifyChunk(dataSha256Hex: string): void {
    const toSign = chunkStringToSign(this.auth.amzDate, this.auth.scope, this.previousSignature, dataSha256Hex);
    const expected = signatureHex(this.auth.signingKey, toSign);
    if (this.signatureMisplaced || !signaturesEqual(expected, this.chunkSignature)) throw this.mismatch(toSign, this.chunkSignature);
    this.previousSignature = expected;
  }

  /**
   * A chunk's or the trailer's signature that does not match: S3's SignatureDoesNotMatch with the
   * members of a header signature's, its StringToSign the chunk's (AWS4-HMAC-SHA256-PAYLOAD) or
   * the trailer's (…-TRAILER), its CanonicalRequest the request's (OpenStack Swift's AWS-run tests).
   */
  private mismatch(toSign: string, provided: string): S3Error {
    return signatureMismatch(this.auth.accessKeyId ?? '', toSign, provided, this.auth.canonicalRequest);
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      // minio-go's signed trailer puts a blank line between its checksum lines and the signature
      // line; the blank line after the signature ends the trailer.
      if (this.signed && this.trailersAllowed && this.trailerSignature === undefined && this.trailers.length > 0) {
        this.blankBeforeSignature = true;
        return;
      }
      this.endTrailer();
      return;
    }
    if (!this.trailersAllowed) throw new S3Error('InvalidRequest', 'Trailing headers are not allowed with STREAMING-AWS4-HMAC-SHA256-PAYLOAD.');
    const colon = text.indexOf(':');
    if (colon <= 0) throw new S3Error('MalformedTrailerError');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (this.signed && name === 'x-amz-trailer-signature') {
      if (this.trailerSignature !== undefined) throw new S3Error('MalformedTrailerError');
      this.trailerSignature = value;
      return;
    }
    const declared = this.checks.trailerAlgorithm;
    if (
      this.trailerSignature !== undefined ||
      declared === undefined ||
      name !== CHECKSUM_HEADERS[declared] ||
      this.trailers.length >= MAX_TRAILERS
    ) {
      throw new S3Error('MalformedTrailerError');
    }
    // Sent again, the checksum's last value is the one taken, as S3 takes it (OpenStack Swift's
    // AWS-run tests: a wrong value then the right one is stored, the right one then a wrong one is
    // BadDigest); a signature covers every line sent.
    this.trailers.push([name, value]);
  }

  private endTrailer(): void {
    this.state = DONE;
    const declared = this.checks.trailerAlgorithm;
    if (declared !== undefined && this.trailers.length === 0) {
      // The trailer x-amz-trailer names is missing.
      throw new S3Error('MalformedTrailerError');
    }
    if (this.signed && this.trailersAllowed) {
      if (this.trailerSignature === undefined) throw new S3Error('SignatureDoesNotMatch', 'The x-amz-trailer-signature trailer is missing.');
      const canonical = [...this.trailers]
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([n, v]) => `${n}:${v}\n`)
        .join('');
      const toSign = trailerStringToSign(this.auth.amzDate, this.auth.scope, this.previousSignature, canonical);
      if (!signaturesEqual(signatureHex(this.auth.signingKey, toSign), this.trailerSignature)) throw this.mismatch(toSign, this.trailerSignature);
    }
    if (declared !== undefined) this.checks.setTrailerChecksum(this.trailers[this.trailers.length - 1]![1]);
  }

  protected async end(): Promise<void> {
    // A trailer whose body ends right after its last line, without the blank line: S3 takes it
    // (OpenStack Swift's AWS-checked s3api tests), a signed one once its signature line came (the
    // signature is checked as ever). Content-Length still has to hold. Not when that last line ended
    // in a bare LF: S3 answers that the body ended too soon (the same tests).
    if (this.state === TRAILER && this.lineLength === 0 && !this.lastLineBareLf && this.trailers.length > 0 && (!this.signed || this.trailerSignature !== undefined)) this.endTrailer();
    if (this.state === TRAILER && this.blankBeforeSignature && this.trailerSignature === undefined && this.lineLength === 0) {
      // The blank line that would have ended it was taken for minio-go's, before a signature line.
      throw new S3Error('SignatureDoesNotMatch', 'The x-amz-trailer-signature trailer is missing.');
    }
    if (this.state !== DONE) {
      // The SDK for JavaScript ends the body right after the final "0\r\n" when it sends no trailer.
      const bareEnd =
        this.state === TRAILER &&
        this.lineLength === 0 &&
        this.trailers.length === 0 &&
        this.trailerSignature === undefined &&
        this.checks.trailerAlgorithm === undefined &&
        !(this.signed && this.trailersAllowed);
      if (!bareEnd) throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly');
      this.state = DONE;
    }
    await this.checks.verify(this.decoded, this.rawBytes);
  }
}

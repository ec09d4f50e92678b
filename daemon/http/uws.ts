// Loads the native uWebSockets.js binding directly. The npm build we depend on silently falls
// back to a slow pure-JS server when its binary fails to load; s3d refuses that fallback.
//
// On linux-x64 it loads a copy of that binary with bytes of its HTTP parser changed (see
// PARSER_PATCHES). This build accepts only letters, digits and `-` in a header name and leaves a
// request with any other byte there unanswered until its 10-second timeout, so boto3's
// `Metadata={'original_filename': …}` hung and was retried, and so did any name holding another
// token character HTTP allows (`x-amz-meta-a~b`), or any byte above 0x7f (`curl -H
// 'x-amz-meta-café: 1'`); the copy takes every byte but `:`, `;<=>?`, space and the control
// bytes other than DEL (request-head.ts refuses the names HTTP does not allow, non-ASCII ones
// among them, and spells as signed those the parser's lower-casing made ambiguous).
// And it trimmed bytes above 0x7f from both ends of a header value as if they were spaces (a
// signed-char comparison), so `x-amz-meta-city: café` arrived as `caf` plus half a character;
// the copy trims only what is at most a space. And a request head that arrived in more than one
// read could not grow past 4 KiB (the connection was closed without an answer); the copy allows
// 16 KiB, so S3's 8 KB header bound is what such a request meets. And it took a request line
// ending in `HTTP/1.1` only: an HTTP/1.0 request (nginx's `proxy_pass` unless told
// `proxy_http_version 1.1`, Nagios' check_http) waited unanswered for the 10-second timeout, so
// every request through a default nginx was a 502; the copy takes 1.0 too. And its chunked decoding
// skipped the two bytes after each chunk's data without looking at them: `5\r\nhelloXX5\r\n…`
// was stored as if `XX` were the CRLF, and `5\r\nhelloXX\r\n…` ended the body early and read
// what followed as the next request, where a proxy in front reading the same bytes strictly
// frames them otherwise (request smuggling, "funky chunks"), and it dropped the two bytes after
// the last, zero-size chunk the same way (`0\r\nX:` and a request after it ran that request);
// the copy closes the connection on a chunk whose data, or the last chunk, is not followed by
// CRLF, as the parser does for other malformed framing (a trailer field, which no common S3
// client sends, among them).

import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Uws from 'uWebSockets.js';

const require = createRequire(import.meta.url);

export class NativeBindingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeBindingError';
  }
}

/** Absolute path of the native binary this Node build needs. */
export function nativeBindingPath(): string {
  const pkgDir = dirname(require.resolve('uWebSockets.js/package.json'));
  return join(pkgDir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

/**
 * Byte edits to one released binary, found by disassembly, each checked before it is made; the
 * result is checked against `patched` before it is loaded.
 *
 * In `uws_linux_x64_115.node` (20.30.0, Node 20):
 * - Header names. A name is read 8 bytes at a time while every byte of the word is a letter, a
 *   digit or `-` (lower-cased with `| 0x2020…`), then byte by byte from the first word that is
 *   not, to its end. That byte loop accepts a byte when `(c & 0xdf) - 'A' < 26` (a letter),
 *   `c == '-'`, or `c - '0' <= 9`, and lower-cases every byte it accepts with `c |= 0x20`; it
 *   exists in two copies (the loop's first byte, and the rest). In both, the edits make the first
 *   test `(c & 0xdf) - '@' < 32` (`add $0xbf` → `add $0xc0`, bound 26 → 32: 0x40-0x7f, letters,
 *   ``@[\]^_`{|}~`` and DEL), the second `c > 0x7f` (`cmp $0x2d; je` → `cmp $0x7f; ja`: every
 *   byte 0x80-0xff) and the third `c - '!' <= 24` (`lea -0x30` → `lea -0x21`, bound 9 → 24:
 *   0x21-0x39, ``!"#$%&'()*+,-./`` and the digits). So every byte 0x21-0xff is taken but `:`
 *   (which ends the name) and `;<=>?`, every token character among them; space and the control
 *   bytes but DEL are not (a request naming one is left unanswered, as before). The word path is
 *   unchanged and takes only letters, digits and `-`, lower-cased alike. The lower-casing makes
 *   `@[\]^` of ``` `{|}~ ```, `_` (0x5f) of DEL (0x7f), and 0x80-0x9f, 0xc0-0xdf of 0xa0-0xbf,
 *   0xe0-0xff: the server turns DEL back to `_` (`headerName`; a client's own DEL, a control byte
 *   no client sends, arrives as `_` too), refuses names holding `"(),/{}` (no token characters,
 *   `[` and `]` among them) or any byte above 0x7f (a name must be ASCII, and the parser has
 *   mangled it), and spells `~`, `|` and `` ` `` as the SigV4 signature names them (`^`, `\` and
 *   `@` are the other spellings; the last two are refused too), see request-head.ts.
 * - Header values. `while (value.back() < 33) remove_suffix(1)` and the same for the front compare
 *   signed chars: `cmpb $0x21; jge` and `cmpb $0x20; jg` become `jae` and `ja`, so bytes above
 *   0x7f are no longer taken for white space.
 * - The request head kept across reads. HttpParser's `MAX_FALLBACK_SIZE` is a member, set to 4096
 *   when a connection opens (`movq $0x1000,0x90(%rdi)` for TLS connections, `0x80(%rdi)` for
 *   plain ones) and read at its three uses (`0x28(%r12)` in consumePostPadded); the edits make
 *   both 0x4000. A head in one read was never bounded by it.
 * - The request line's version. After the target, the parser compares 11 bytes with
 *   ` HTTP/1.1\r\n` as two 8-byte words (bytes 0-7 and 3-10: `movabs; xor (%r14)`, `movabs; xor
 *   0x3(%r14)`, `or`, `je`). The second word's 17 bytes become `mov 0x7(%r14),%edx; or $1,%dh;
 *   xor $0x0a0d312e,%edx; or %rdx,%rax; nop`: bytes 7-10 are compared with `.1\r\n` after the
 *   version digit's low bit is set, so `1.0` passes as `1.1` does (and no other digit); both words
 *   are zero on success, as before, and the branch is where it was. uWS does not tell the server
 *   the version: an HTTP/1.0 request is answered as HTTP/1.1 (with a Content-Length), kept alive
 *   unless it says `Connection: close` (nginx's and check_http's do; ApacheBench, which waits
 *   for the close, waits for the idle timeout, see docs/operations.md).
 * - The CRLF after a chunk's data. uWS counts it in the chunk's size (`size + 2`) and drops those
 *   two bytes unread, in two places: where the rest of the chunk is in the read (emitted, then
 *   skipped) and where it is not (all of the read taken, the size left stored). Both are
 *   rewritten, with room made by dropping the compiler's dead branches (the partial path's tests
 *   of a size that is always 3 or more there) and using the padding after the function: where
 *   the rest is in the read, its last two bytes must be CRLF (only LF when the CR came in the
 *   read before); where not, a read that ends on the CR must end on a CR. Else the state becomes
 *   uWS's error state (0xffffffff), as for a bad size, and the connection is closed. Valid bodies
 *   decode as before, however the reads cut them.
 * - The CRLF after the last chunk. Its size line hands the body's end over and leaves the state
 *   0x80000002 (two bytes to drop, not chunked); a loop drops them one a turn, unread. It now
 *   compares each with CR (two left) or LF (one), `3 * left + 7`, and refuses another byte as
 *   above; the room is its test for no byte left, which cannot be (it is entered with one left,
 *   and left when none is), and shorter increments. A trailer field is refused with them.
 */
export interface ParserPatch {
  /** The release's digest (for the record and the tests; `patched` implies it). */
  original: string;
  patched: string;
  edits: Array<[offset: number, from: number, to: number]>;
}

/**
 * The edits that make the bytes at `offset` (`from`, hex) into `to` (hex, as long): one for each
 * byte that differs. For code rewritten in place, where a list of single bytes would hide what
 * the instructions are.
 */
function rewrite(offset: number, from: string, to: string): Array<[number, number, number]> {
  const a = Buffer.from(from, 'hex');
  const b = Buffer.from(to, 'hex');
  if (a.length !== b.length) throw new Error(`rewrite at 0x${offset.toString(16)}: ${a.length} bytes become ${b.length}`);
  const edits: Array<[number, number, number]> = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) edits.push([offset + i, a[i]!, b[i]!]);
  return edits;
}

export const PARSER_PATCHES: Record<string, ParserPatch> = {
  'uws_linux_x64_115.node': {
    original: 'f158fb441f7e2e37b3ab9a56782fe37f4c0d33b5cd32e96ee5c0120ce7db7ced',
    patched: '1cb62fe59a471b064f1d24cc6a53456fc4f9f49cca52c333c60d1f379297fda2',
    edits: [
      // name, the loop's first byte (0xeb54d): and $0xdf,%al; add $0xbf,%al; cmp $0x1a,%al; jb →
      // add $0xc0; cmp $0x20. cmp $0x2d,%dil; je → cmp $0x7f; ja. lea -0x30(%rdi),%eax;
      // cmp $0x9,%al; jbe → lea -0x21; cmp $0x18
      [0xeb552, 0xbf, 0xc0], [0xeb554, 0x1a, 0x20], [0xeb55a, 0x2d, 0x7f], [0xeb55b, 0x74, 0x77], [0xeb55f, 0xd0, 0xdf], [0xeb561, 0x09, 0x18],
      // name, the loop (0xeb580): add $0xbf,%al; cmp $0x1a,%al; jb → add $0xc0; cmp $0x20.
      // lea -0x30(%rdi),%esi; cmp $0x2d,%dil; je; cmp $0xa,%sil; jb → lea -0x21; cmp $0x7f; ja;
      // cmp $0x19
      [0xeb585, 0xbf, 0xc0], [0xeb587, 0x1a, 0x20], [0xeb58c, 0xd0, 0xdf], [0xeb590, 0x2d, 0x7f], [0xeb591, 0x74, 0x77], [0xeb596, 0x0a, 0x19],
      // value, trailing then leading trim: jge (0x7d) → jae (0x73), jg (0x7f) → ja (0x77)
      [0xeb655, 0x7d, 0x73], [0xeb670, 0x7f, 0x77],
      // request head across reads, the bound set at connection open: imm32 0x1000 → 0x4000
      [0xe98df, 0x10, 0x40], [0xf90ec, 0x10, 0x40],
      // request line, the version's second word (0xeb443-0xeb453): movabs $"TP/1.1\r\n",%rdx;
      // xor 0x3(%r14),%rdx; or %rax,%rdx → mov 0x7(%r14),%edx; or $1,%dh; xor $0x0a0d312e,%edx;
      // or %rdx,%rax; nop
      [0xeb443, 0x48, 0x41], [0xeb444, 0xba, 0x8b], [0xeb445, 0x54, 0x56], [0xeb446, 0x50, 0x07],
      [0xeb447, 0x2f, 0x80], [0xeb448, 0x31, 0xce], [0xeb449, 0x2e, 0x01], [0xeb44a, 0x31, 0x81],
      [0xeb44b, 0x0d, 0xf2], [0xeb44c, 0x0a, 0x2e], [0xeb44d, 0x49, 0x31], [0xeb44e, 0x33, 0x0d],
      [0xeb44f, 0x56, 0x0a], [0xeb450, 0x03, 0x48], [0xeb451, 0x48, 0x09], [0xeb452, 0x09, 0xd0],
      [0xeb453, 0xc2, 0x90],
      // chunked body, the CRLF after a chunk's data (getNextChunk, 0xeb020; rcx data, r9 its length,
      // r8 what is left of the chunk with its CRLF, rax r9 - r8; 0xeb232 refuses, 0xeb213 goes on,
      // 0xeb2a9 returns no chunk).
      // All of the rest here (0xeb1ea): cmp $0x3,%r8d → $0x2 (at least the CRLF: 0xeb2b0). Else
      // the LF alone is left: cmpb $0xa,(%rcx); jne 0xeb232; nop5; add %r8,0x8(%rsi);
      // mov %rax,(%rsi); mov $0x40000000,%ebp; mov %ebp,(%rdx); mov %ebp,%r8d (on at 0xeb213).
      ...rewrite(0xeb1f1, '030f83b80000004c01c148894e08488906c70200000040bd0000004041b800000040',
        '020f83b800000080390a75350f1f4400004c014608488906bd00000040892a4189e8'),
      // Less than the rest (0xeb25f): mov 0x8(%rsi),%rcx; lea (%rcx,%r9),%r10; mov %r10,0x8(%rsi);
      // andq $0,(%rsi); mov %r8d,%ebp; sub %r9d,%ebp; cmp $1,%ebp; jne +8; cmpb $0xd,-1(%rcx,%r9)
      // (the read ends between CR and LF); jne 0xeb232; or $0xc0000000,%ebp; mov %ebp,(%rdx);
      // lea -2(%r8),%eax; cmp %rax,%r9; cmovbe %r9,%rax; test %eax,%eax; je 0xeb2a9;
      // 0xeb299: mov %rax,(%rdi); mov %rcx,0x8(%rdi); movb $1,0x10(%rdi); pop %rbx; pop %rbp; ret
      ...rewrite(0xeb25f, '418d40fe4939c14c8b5608490f46c181e5000000804489c14429c909e981c900000040890a4d01d14c894e0848c706000000004885c074124183f803720c31c94183f802490f47ca',
        '488b4e084e8d14094c895608488326004489c54429cd83fd01750842807c09ff0d75b081cd000000c0892a418d40fe4939c1490f46c185c0741048890748894f08c64710015b5dc3'),
      // The rest and its CRLF (0xeb2b0): cmpw $0x0a0d,-2(%rcx,%r8); jne 0xeb232; cmp $3,%r8d;
      // jb 0xeb202 (the CRLF alone); mov %rax,(%rsi); lea (%rcx,%r8),%rbp; mov %rbp,0x8(%rsi);
      // movl $0x40000000,(%rdx); lea -2(%r8),%eax; jmp 0xeb299
      ...rewrite(0xeb2b0, '418d40fe4a8d2c0148896e084d29c14c890ec7020000004048890748894f08c64710015b5dc3662e0f1f8400000000',
        '6642817c01fe0d0a0f8574ffffff4183f8030f823affffff4889064a8d2c0148896e08c70200000040418d40feebba'),
      // chunked body, the CRLF after the last (zero-size) chunk: state 0x80000002, then 0x80000001
      // (a byte of it taken each turn, r8d the state, eax the bytes left; 0xeb23f ends the body).
      // The loop (0xeb050) keeps its first two instructions, then: mov 0x8(%rsi),%rcx;
      // lea 0x7(%rax,%rax,2),%ebx (CR for 2, LF for 1); cmp %bl,(%rcx); jne 0xeb232; inc %rcx;
      // mov %rcx,0x8(%rsi); dec %r9; mov %r9,(%rsi); dec %r8d; mov %r8d,(%rdx); cmp $1,%eax;
      // je 0xeb23f; test %r9,%r9; jne 0xeb050; jmp 0xeb2a9. Its test for no byte left went (the
      // loop is entered with one left, and left when none is).
      ...rewrite(0xeb058, '0f84cc01000048834608014983c1ff4c890e4181e0000000c083c0ff4109c044890285c00f84bd0100004d85c90f85c5ffffffe91902',
        '488b4e088d5c400738190f85ca01000048ffc148894e0849ffc94c890e41ffc844890283f8010f84bb0100004d85c975c7e91b020000'),
    ],
  },
};

/**
 * A header name as the patched parser hands it over, its `_` back from DEL (a DEL sent arrives as
 * `_` too). Its `~`, `|` and
 * `` ` `` may have been sent as `^`, `\` or `@` (the parser's lower-casing): request-head.ts
 * spells them as the signature names them.
 */
export function headerName(name: string): string {
  return name.includes('\x7f') ? name.replaceAll('\x7f', '_') : name;
}

/** Where the patched copy of `binary` lives: `dist/native/` beside the compiled daemon. */
export function patchedBindingPath(binary: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native', binary);
}

export interface UwsBinding {
  /** The file loaded. */
  readonly file: string;
  /** Whether it is the patched copy (every token character in header names, bytes above 0x7f kept at a value's ends, …). */
  readonly parserPatched: boolean;
  /** Why not, when not. */
  readonly unpatchedReason?: string;
  /** Unpatched by design (no patch exists for this binary, or S3_HTTP_PARSER_PATCH=off), not by a fault. */
  readonly unpatchedByDesign?: boolean;
}

/**
 * The binary to load for `original`: its patched copy (written on first use, or by `npm run
 * build`, when missing), or the original when there is no patch for it or the copy cannot be
 * written (a read-only install without the copy made at build time).
 */
export function chooseBinding(original: string, target?: string): UwsBinding {
  const binary = original.slice(dirname(original).length + 1);
  const patch = PARSER_PATCHES[binary];
  if (patch === undefined) return { file: original, parserPatched: false, unpatchedReason: `no parser patch is known for ${binary}`, unpatchedByDesign: true };
  target ??= patchedBindingPath(binary);
  // One digest per start (~11 ms for 6.8 MB): the edited bytes' digest is `patched` only if the
  // original was the release (elsewhere it held the `from` bytes checked here), and a copy written
  // before is valid when it is those same bytes. Read a slice at a time into two reused buffers,
  // the copy compared as it goes: both files read whole cost ~65-85 ms of CPU a start, most of it
  // the first touch of 13.7 MB of fresh memory.
  const other = `${original} is not the release the parser patch was made for`;
  let checked: { sameCopy: boolean } | string;
  try {
    checked = checkRelease(original, target, patch);
  } catch {
    return { file: original, parserPatched: false, unpatchedReason: `${original} cannot be read` };
  }
  if (typeof checked === 'string') return { file: original, parserPatched: false, unpatchedReason: checked === '' ? other : `${other} (${checked})` };
  if (checked.sameCopy) return { file: target, parserPatched: true };
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    const bytes = readFileSync(original);
    for (const [offset, , to] of patch.edits) bytes[offset] = to;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(tmp, bytes, { mode: 0o644 });
    renameSync(tmp, target);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // Never made (the directory is not there or cannot be).
    }
    return { file: original, parserPatched: false, unpatchedReason: `${target} cannot be written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); run npm run build` };
  }
  return { file: target, parserPatched: true };
}

const SLICE = 1024 * 1024;

/**
 * `original` with `patch`'s edits, a slice at a time: a reason it is not the release the patch
 * was made for ('' for a digest that differs, `byte 0x…` for an edit's `from` byte that does), or
 * whether `target` holds exactly the edited bytes. Throws when `original` cannot be read.
 */
function checkRelease(original: string, target: string, patch: ParserPatch): { sameCopy: boolean } | string {
  const fd = openSync(original, 'r');
  let copy: number | undefined;
  try {
    const size = fstatSync(fd).size;
    try {
      copy = openSync(target, 'r');
      if (fstatSync(copy).size !== size) {
        closeSync(copy);
        copy = undefined;
      }
    } catch {
      copy = undefined; // none yet: made by the caller
    }
    // An edit past the end: the byte it expects is not there.
    const past = patch.edits.find(([offset]) => offset >= size);
    if (past !== undefined) return `byte 0x${past[0].toString(16)}`;
    const slice = Buffer.allocUnsafe(SLICE);
    const copied = Buffer.allocUnsafe(copy === undefined ? 0 : SLICE);
    const hash = createHash('sha256');
    let same = copy !== undefined;
    for (let pos = 0; pos < size; ) {
      const n = readSync(fd, slice, 0, Math.min(SLICE, size - pos), pos);
      if (n === 0) return '';
      for (const [offset, from, to] of patch.edits) {
        if (offset < pos || offset >= pos + n) continue;
        if (slice[offset - pos] !== from) return `byte 0x${offset.toString(16)}`;
        slice[offset - pos] = to;
      }
      const bytes = slice.subarray(0, n);
      hash.update(bytes);
      if (same) same = sameBytes(copy!, copied, pos, bytes);
      pos += n;
    }
    if (hash.digest('hex') !== patch.patched) return '';
    return { sameCopy: same };
  } finally {
    closeSync(fd);
    if (copy !== undefined) closeSync(copy);
  }
}

/** Whether the copy holds `bytes` at `pos` (read into `into`); a copy that cannot be read does not. */
function sameBytes(copy: number, into: Buffer, pos: number, bytes: Buffer): boolean {
  try {
    return readSync(copy, into, 0, bytes.length, pos) === bytes.length && into.subarray(0, bytes.length).equals(bytes);
  } catch {
    return false; // made again by the caller
  }
}

let loaded: typeof Uws | undefined;
let binding: UwsBinding | undefined;

/** Which binary loadUws() loaded (after it did). */
export function uwsBinding(): UwsBinding | undefined {
  return binding;
}

/**
 * The native module, or a NativeBindingError that says why it could not load. The first call
 * decides which binary (`patch: false`: the package's own, S3_HTTP_PARSER_PATCH=off); later calls
 * return the same module.
 */
export function loadUws(opts: { patch?: boolean } = {}): typeof Uws {
  if (loaded) return loaded;
  const original = nativeBindingPath();
  const chosen: UwsBinding = !existsSync(original)
    ? { file: original, parserPatched: false }
    : opts.patch === false
      ? { file: original, parserPatched: false, unpatchedReason: 'S3_HTTP_PARSER_PATCH=off', unpatchedByDesign: true }
      : chooseBinding(original);
  const file = chosen.file;
  let mod: typeof Uws;
  try {
    // Never `require('uWebSockets.js')`: its entry point swallows the failure and returns the
    // pure-JS fallback. Loading the .node file ourselves either gives the native code or throws.
    mod = require(file) as typeof Uws;
  } catch (err) {
    throw new NativeBindingError(
      `the native uWebSockets.js binding could not be loaded from ${file} ` +
        `(platform ${process.platform}, arch ${process.arch}, Node ABI ${process.versions.modules}): ` +
        `${(err as Error).message}. s3d refuses the slow pure-JS fallback; use Node 20 on linux-x64 or arm64.`,
      { cause: err },
    );
  }
  if (typeof mod.App !== 'function' || require.cache[file] === undefined) {
    throw new NativeBindingError(`${file} did not export the native uWebSockets.js API`);
  }
  loaded = mod;
  binding = chosen;
  return mod;
}

// The strings of a policy that match request values: Resource patterns and the string operators'
// condition values. Both take `*` and `?` wildcards (a condition's only under StringLike and
// StringNotLike) and, in a 2012-10-17 policy, IAM's policy variables: `${aws:username}` (the
// request's value of that condition key), `${key, 'default'}` (the default when the request has
// no such key; `''` is a quote inside it), and `${*}`, `${?}`, `${$}` (the character itself, never
// a wildcard). A variable's value is text, never a pattern: a `*` in it matches only `*`. A
// variable the request has no value for (and no default) leaves the string matching nothing, as
// IAM has it ("there is no equal or like value"): a Resource then names nothing, StringEquals and
// StringLike are false for that value, their negations true. Pure: no I/O.
import { S3Error } from '../errors.js';

/** The request's condition keys, asked by name (see ConditionContext in policy-conditions.ts). */
export interface KeyLookup {
  get(key: string): string | readonly string[] | undefined;
}

/** One piece of a policy string: text as written (`wild`: its `*` and `?` are wildcards) or a variable. */
type Part = { text: string; wild: boolean } | { key: string; fallback: string | undefined };

/** A compiled `*`/`?` pattern; `test` is a whole-string match. */
export interface Wildcard {
  test(value: string): boolean;
}

/** A Resource or condition value, ready to test request values with. */
export interface PolicyText {
  /** Whole-string equality (StringEquals): wildcards are plain characters. */
  equals(value: string, context: KeyLookup): boolean;
  /** equals, ignoring case (StringEqualsIgnoreCase): both sides lower-cased, variables' values too. */
  equalsIgnoreCase(value: string, context: KeyLookup): boolean;
  /** Wildcard match (Resource, StringLike). */
  like(value: string, context: KeyLookup): boolean;
  /**
   * ArnLike and ArnEquals (IAM gives both the same test): each of an ARN's six colon-separated
   * components (the last keeps any further colons) matched on its own, so no `*` spans a colon
   * between them. A value or pattern that is no such ARN matches nothing.
   */
  arnLike(value: string, context: KeyLookup): boolean;
  /** The condition keys its variables name that have no default (those must exist for it to match anything). */
  readonly needs: readonly string[];
  /** Whether any `*` or `?` of it is a wildcard. */
  readonly wild: boolean;
}

function malformed(message: string): S3Error {
  return new S3Error('MalformedPolicy', message);
}

/** `${*}`, `${?}` and `${$}`: the character itself. */
const ESCAPES: Readonly<Record<string, string>> = { '*': '*', '?': '?', $: '$' };

/**
 * Parses one policy string. `variables`: the policy's Version is 2012-10-17 (older versions have
 * no variables, and IAM would match `${…}` as literal text: s3d refuses that instead, as it would
 * protect or grant nothing the writer meant). `keyOf` maps a key name as written to the context's
 * name for it, undefined for a key that cannot be a variable. Throws MalformedPolicy.
 */
export function parsePolicyText(raw: string, where: string, variables: boolean, keyOf: (name: string) => string | undefined): PolicyText {
  const parts: Part[] = [];
  let at = 0;
  const text = (s: string, wild: boolean): void => {
    if (s !== '') parts.push({ text: s, wild });
  };
  for (let open = raw.indexOf('${'); open >= 0; open = raw.indexOf('${', at)) {
    if (!variables) throw malformed(`${where}: policy variables need "Version": "2012-10-17" (${JSON.stringify(raw)}): an older policy would match "\${…}" as literal text.`);
    text(raw.slice(at, open), true);
    const v = parseVariable(raw, open + 2, where, keyOf);
    parts.push(v.part);
    at = v.end;
  }
  text(raw.slice(at), true);
  return compile(parts);
}

/** The variable whose text starts at `from` (after `${`): the part it is and where the string goes on. */
function parseVariable(raw: string, from: number, where: string, keyOf: (name: string) => string | undefined): { part: Part; end: number } {
  const bad = (why: string): S3Error => malformed(`${where}: ${JSON.stringify(raw)}: ${why}`);
  const escaped = ESCAPES[raw[from] ?? ''];
  if (escaped !== undefined && raw[from + 1] === '}') return { part: { text: escaped, wild: false }, end: from + 2 };
  // The key name runs to the comma before a default or to the closing brace.
  const m = /^\s*([^\s,}']+)\s*([,}])/.exec(raw.slice(from));
  if (m === null) throw bad('a policy variable is ${key} or ${key, \'default\'}.');
  const name = m[1]!;
  const key = keyOf(name);
  if (key === undefined) throw bad(`\${${name}} names no condition key s3d has a single value for (it would match nothing).`);
  let end = from + m[0].length;
  if (m[2] === '}') return { part: { key, fallback: undefined }, end };
  // `, 'default'`: single-quoted, `''` a quote inside it.
  const d = /^\s*'((?:[^']|'')*)'\s*\}/.exec(raw.slice(end));
  if (d === null) throw bad(`the default of \${${name}, …} must be quoted: \${${name}, 'default'}.`);
  end += d[0].length;
  return { part: { key, fallback: d[1]!.replace(/''/g, "'") }, end };
}

function compile(parts: readonly Part[]): PolicyText {
  const needs = parts.flatMap((p) => ('key' in p && p.fallback === undefined ? [p.key] : []));
  const wild = parts.some((p) => 'wild' in p && p.wild && /[*?]/.test(p.text));
  if (!parts.some((p) => 'key' in p)) {
    // No variable: the text and the pattern are fixed.
    const fixed = parts.map((p) => ('text' in p ? p.text : '')).join('');
    const fixedLower = fixed.toLowerCase();
    const pattern = compileGlob(parts as ReadonlyArray<{ text: string; wild: boolean }>);
    const arn = arnPattern(parts as ReadonlyArray<{ text: string; wild: boolean }>);
    return { equals: (value) => value === fixed, equalsIgnoreCase: (value) => value.toLowerCase() === fixedLower, like: (value) => pattern.test(value), arnLike: (value) => arn(value), needs, wild };
  }
  return {
    equals(value, context) {
      const resolved = resolve(parts, context);
      return resolved !== undefined && value === resolved.map((p) => p.text).join('');
    },
    equalsIgnoreCase(value, context) {
      const resolved = resolve(parts, context);
      return resolved !== undefined && value.toLowerCase() === resolved.map((p) => p.text).join('').toLowerCase();
    },
    like(value, context) {
      const resolved = resolve(parts, context);
      return resolved !== undefined && compileGlob(resolved).test(value);
    },
    arnLike(value, context) {
      const resolved = resolve(parts, context);
      return resolved !== undefined && arnPattern(resolved)(value);
    },
    needs,
    wild,
  };
}

/**
 * The parts with each variable replaced by its value as text (no wildcards in it), or undefined
 * when one has no value: the key is absent (or an empty set, or several values) and has no default.
 */
function resolve(parts: readonly Part[], context: KeyLookup): Array<{ text: string; wild: boolean }> | undefined {
  const out: Array<{ text: string; wild: boolean }> = [];
  for (const p of parts) {
    if ('text' in p) {
      out.push(p);
      continue;
    }
    const found = context.get(p.key);
    const value = typeof found === 'string' ? found : found?.length === 1 ? found[0] : undefined;
    const text = value ?? p.fallback;
    if (text === undefined) return undefined;
    out.push({ text, wild: false });
  }
  return out;
}

const ARN_COMPONENTS = 6;

/** `text` cut at its first five colons: an ARN's six components, or undefined for fewer. */
function arnComponents(text: string): string[] | undefined {
  const out: string[] = [];
  let at = 0;
  for (let i = 0; i < ARN_COMPONENTS - 1; i++) {
    const colon = text.indexOf(':', at);
    if (colon < 0) return undefined;
    out.push(text.slice(at, colon));
    at = colon + 1;
  }
  out.push(text.slice(at));
  return out;
}

/** The ArnLike test of a resolved pattern: component by component (see PolicyText.arnLike). */
function arnPattern(segments: ReadonlyArray<{ text: string; wild: boolean }>): (value: string) => boolean {
  // The pattern's segments regrouped per component, each cut at the colons that separate them.
  const components: Array<Array<{ text: string; wild: boolean }>> = [[]];
  for (const seg of segments) {
    let rest = seg.text;
    for (let colon = rest.indexOf(':'); colon >= 0 && components.length < ARN_COMPONENTS; colon = rest.indexOf(':')) {
      components.at(-1)!.push({ text: rest.slice(0, colon), wild: seg.wild });
      components.push([]);
      rest = rest.slice(colon + 1);
    }
    components.at(-1)!.push({ text: rest, wild: seg.wild });
  }
  if (components.length < ARN_COMPONENTS) return () => false;
  const globs = components.map(compileGlob);
  return (value) => {
    const parts = arnComponents(value);
    return parts !== undefined && globs.every((g, i) => g.test(parts[i]!));
  };
}

/** A `*`/`?` pattern, everything else literal; whole-string match. `ignoreCase` for action names. */
export function wildcard(pattern: string, ignoreCase = false): Wildcard {
  if (!ignoreCase) return compileGlob([{ text: pattern, wild: true }]);
  const glob = compileGlob([{ text: pattern.toLowerCase(), wild: true }]);
  return { test: (value) => glob.test(value.toLowerCase()) };
}

// Not a RegExp: `^b/.*/.*/.*$` backtracks polynomially, and the policy Resource
// "arn:aws:s3:::b/*/*/*/*.jpg" held the event loop for 100 s on one anonymous GET of a 1 KiB key
// of slashes (found by prod-hostile-config-handpicked.test.ts). Nor a character-by-character
// matcher that retries from the last `*`: that takes pattern × value steps, 0.6 s for a User-Agent
// of 7,000 `a`s against a condition `*aaa…ab` (found by a complexity sweep). The pattern is cut at
// its wildcard `*`s once; the first piece must start the value, the last end it, and the others
// are found left to right, each the first place it fits (leftmost is never worse for what
// follows), by indexOf when it has no wildcard `?`.

/** Text between wildcard `*`s; `any` marks the positions of wildcard `?`s (none: undefined). */
interface Piece {
  text: string;
  any: ReadonlySet<number> | undefined;
}

function compileGlob(segments: ReadonlyArray<{ text: string; wild: boolean }>): Wildcard {
  const pieces: Piece[] = [];
  let text = '';
  let any: Set<number> | undefined;
  for (const s of segments) {
    if (!s.wild) {
      text += s.text;
      continue;
    }
    for (const c of s.text) {
      if (c === '*') {
        pieces.push({ text, any });
        text = '';
        any = undefined;
      } else {
        if (c === '?') (any ??= new Set()).add(text.length);
        text += c;
      }
    }
  }
  pieces.push({ text, any });
  return { test: (value) => globMatch(pieces, value) };
}

// A wildcard `?` is one character, as IAM and MinIO (which matches runes) have it: a key's emoji
// or other character past U+FFFF is two UTF-16 code units, and `?` matched only one of them, so
// `b/photo-?.jpg` missed `photo-😀.jpg` and a Deny of `b/??` covered it. Pieces are matched at
// character boundaries only; a piece then takes the same number of characters wherever it
// matches, so the leftmost place still leaves the most for what follows.

/** Whether s[at] is the second half of a surrogate pair (no character starts there). */
function insidePair(s: string, at: number): boolean {
  const c = s.charCodeAt(at);
  return c >= 0xdc00 && c <= 0xdfff && at > 0 && isHighSurrogate(s.charCodeAt(at - 1));
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** Where `piece` ends when it matches `s` at `at` (a wildcard `?` takes one whole character), or -1. */
function pieceAt(piece: Piece, s: string, at: number): number {
  const { text, any } = piece;
  let k = at;
  for (let i = 0; i < text.length; i++) {
    if (any?.has(i) === true) {
      if (k >= s.length) return -1;
      k += isHighSurrogate(s.charCodeAt(k)) && insidePair(s, k + 1) ? 2 : 1;
    } else if (text.charCodeAt(i) !== s.charCodeAt(k++)) return -1;
  }
  return k;
}

/** Where `piece` must start to end exactly at the end of `s` (its characters counted back), or -1. */
function lastPieceStart(piece: Piece, s: string): number {
  if (piece.any === undefined) return s.length - piece.text.length;
  let at = s.length;
  for (let i = piece.text.length - 1; i >= 0; i--) {
    // A character of the piece's own text is matched unit by unit; a wildcard `?` takes one of s's characters.
    if (piece.any.has(i)) at -= at >= 2 && insidePair(s, at - 1) ? 2 : 1;
    else at -= 1;
  }
  return at;
}

/** The first place at or after `from` where `piece` matches and ends by `end`: its start and end, or undefined. */
function findPiece(piece: Piece, s: string, from: number, end: number): [number, number] | undefined {
  const len = piece.text.length;
  if (piece.any === undefined) {
    const i = s.indexOf(piece.text, from);
    return i >= 0 && i + len <= end ? [i, i + len] : undefined;
  }
  for (let i = from; i < end; i++) {
    if (insidePair(s, i)) continue;
    const e = pieceAt(piece, s, i);
    if (e >= 0 && e <= end) return [i, e];
  }
  return undefined;
}

function globMatch(pieces: readonly Piece[], s: string): boolean {
  const first = pieces[0]!;
  if (pieces.length === 1) return pieceAt(first, s, 0) === s.length;
  const last = pieces[pieces.length - 1]!;
  const end = lastPieceStart(last, s);
  let at = pieceAt(first, s, 0);
  if (at < 0 || end < at || insidePair(s, end) || pieceAt(last, s, end) !== s.length) return false;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    if (piece.text === '') continue;
    const found = findPiece(piece, s, at, end);
    if (found === undefined) return false;
    at = found[1];
  }
  return true;
}

// A repeated name in one JSON object (`{"Effect": "Deny", "Effect": "Allow"}`): JSON.parse keeps
// the last and drops the others without a word, so a policy would be enforced otherwise than it
// reads. Policies and the users file refuse such documents (a repeated condition operator, say two
// `StringEquals` blocks, is the likely mistake). jsonc-parser (VS Code's) reads the document's
// structure, repeats included. It is loaded on the first document checked (a users file, a
// policy): ~30 ms of CPU at a start that has neither.
import { createRequire } from 'node:module';
import type * as Jsonc from 'jsonc-parser';

let loaded: typeof Jsonc | undefined;
function jsoncParser(): typeof Jsonc {
  return (loaded ??= createRequire(import.meta.url)('jsonc-parser') as typeof Jsonc);
}

/**
 * The first name repeated within one object of the JSON `text` and where ("Statement[0]"), or
 * undefined; `text` must already have parsed with JSON.parse.
 */
export function repeatedJsonKey(text: string): { key: string; path: string } | undefined {
  return inOneGo(outlineJson(text, Infinity)).repeated;
}

/** What one pass over a JSON text's tokens found. */
export interface JsonOutline {
  /** The first name repeated within one object and where; the pass stopped there. */
  readonly repeated: { key: string; path: string } | undefined;
  /**
   * Where each value two levels down begins and ends (offsets, in pairs, in the text's order): the
   * members of the top level's members, such as a users file's policies and users.
   */
  readonly spans: readonly number[];
}

/**
 * One pass over the JSON `text`'s tokens, yielding after every `tokensPerStep`: the first name
 * repeated within one object, and where the values two levels down are (parseJsonInSteps parses
 * them one by one). Reads jsonc-parser's token stream with a stack of its own (its tree parser
 * recurses, and a file of 100,000 nested lists overflowed the call stack). Any text ends it, JSON
 * or not: what it finds in one that is not is meaningless, and parseJsonInSteps says so.
 */
export function* outlineJson(text: string, tokensPerStep: number): Generator<void, JsonOutline, void> {
  type Level = { keys: Set<string> | undefined; path: string; index: number; expectKey: boolean; lastKey: string };
  const stack: Level[] = [];
  const spans: number[] = [];
  const child = (): string => {
    const top = stack.at(-1);
    if (top === undefined) return '';
    if (top.keys !== undefined) return top.path === '' ? top.lastKey : `${top.path}.${top.lastKey}`;
    return `${top.path}[${top.index}]`;
  };
  const jsonc = jsoncParser();
  const scanner = jsonc.createScanner(text, true);
  let tokens = 0;
  for (let token = scanner.scan(); token !== jsonc.SyntaxKind.EOF; token = scanner.scan()) {
    if (++tokens >= tokensPerStep) {
      tokens = 0;
      yield;
    }
    const top = stack.at(-1);
    switch (token) {
      case jsonc.SyntaxKind.OpenBraceToken:
        if (stack.length === 2) spans.push(scanner.getTokenOffset());
        stack.push({ keys: new Set(), path: child(), index: 0, expectKey: true, lastKey: '' });
        break;
      case jsonc.SyntaxKind.OpenBracketToken:
        if (stack.length === 2) spans.push(scanner.getTokenOffset());
        stack.push({ keys: undefined, path: child(), index: 0, expectKey: false, lastKey: '' });
        break;
      case jsonc.SyntaxKind.CloseBraceToken:
      case jsonc.SyntaxKind.CloseBracketToken:
        stack.pop();
        if (stack.length === 2) spans.push(scanner.getTokenOffset() + scanner.getTokenLength());
        break;
      case jsonc.SyntaxKind.CommaToken:
        if (top?.keys !== undefined) top.expectKey = true;
        else if (top !== undefined) top.index++;
        break;
      case jsonc.SyntaxKind.ColonToken:
        break;
      case jsonc.SyntaxKind.StringLiteral:
        if (top?.keys !== undefined && top.expectKey) {
          const key = scanner.getTokenValue();
          if (top.keys.has(key)) return { repeated: { key, path: top.path }, spans };
          top.keys.add(key);
          top.lastKey = key;
          top.expectKey = false;
        } else if (stack.length === 2) spans.push(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength());
        break;
      default:
        // A value of one token: a number, true, false, null (or what JSON has not: parsed, it fails).
        if (stack.length === 2) spans.push(scanner.getTokenOffset(), scanner.getTokenOffset() + scanner.getTokenLength());
        break;
    }
  }
  return { repeated: undefined, spans };
}

/**
 * JSON.parse(`text`) in steps, yielding after every `charsPerStep` characters parsed: each value
 * `outline` found two levels down parsed on its own, then the text around them, each replaced by
 * `[i]` (its index), parsed in one and the values put in their places. What a text that is not
 * JSON throws is JSON.parse(text)'s own error: any piece that does not parse (or a skeleton whose
 * placeholders are not where the outline said) has the whole text parsed in one go, which throws
 * it. The pieces, parsed apart, make the same value as the whole: a `[i]` that parses stands as
 * one value, where any other value may stand.
 */
export function* parseJsonInSteps(text: string, outline: JsonOutline, charsPerStep: number): Generator<void, unknown, void> {
  // A pass that stopped at a repeated name saw part of the text only.
  if (outline.repeated !== undefined) return JSON.parse(text);
  const { spans } = outline;
  const values: unknown[] = [];
  const skeleton: string[] = [];
  let chars = 0;
  let at = 0;
  for (let i = 0; i < spans.length; i += 2) {
    const start = spans[i]!;
    const end = spans[i + 1];
    // An outline of a text that is not JSON: a value left open at its end, or spans out of order.
    if (end === undefined || start < at || end < start) return JSON.parse(text);
    try {
      values.push(JSON.parse(text.slice(start, end)));
    } catch {
      return JSON.parse(text);
    }
    skeleton.push(text.slice(at, start), `[${values.length - 1}]`);
    at = end;
    chars += end - start;
    if (chars >= charsPerStep) {
      chars = 0;
      yield;
    }
  }
  skeleton.push(text.slice(at));
  // Joined and parsed in steps of their own: 50,000 placeholders are ~0.5 MB of text.
  yield;
  const around = skeleton.join('');
  yield;
  let top: unknown;
  try {
    top = JSON.parse(around);
  } catch {
    return JSON.parse(text);
  }
  // Every placeholder two levels down, each once; anything else means the outline was wrong.
  let placed = 0;
  const used = new Uint8Array(values.length);
  if (typeof top === 'object' && top !== null) {
    for (const member of Object.values(top)) {
      if (typeof member !== 'object' || member === null) continue;
      for (const key of Object.keys(member)) {
        const slot = (member as Record<string, unknown>)[key];
        const index = Array.isArray(slot) && slot.length === 1 ? slot[0] : undefined;
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= values.length || used[index] === 1) return JSON.parse(text);
        used[index] = 1;
        // Defined, not assigned, in an object: a member named __proto__ stays one, as JSON.parse
        // makes it (assigned, it would set the prototype). A list's elements are assigned: so
        // defined, V8 makes the list a slow dictionary.
        if (Array.isArray(member) || key !== '__proto__') (member as Record<string, unknown>)[key] = values[index];
        else Object.defineProperty(member, key, { value: values[index], writable: true, enumerable: true, configurable: true });
        if (++placed % PLACED_PER_STEP === 0) yield;
      }
    }
  }
  return placed === values.length ? top : JSON.parse(text);
}

/** Placeholders replaced by their values in a step of parseJsonInSteps. */
const PLACED_PER_STEP = 10_000;

/** What a generator of steps returns, its steps taken in one go. */
export function inOneGo<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The deepest a policy (a bucket, session or POST policy) nests objects and lists. IAM's grammar
 * goes five deep (Statement, a statement, Condition, an operator, a key's list of values); a
 * document nested thousands deep, which JSON.parse takes, overflowed the call stack of the checks
 * and of JSON.stringify after it (a RangeError, answered 500 InternalError).
 */
export const MAX_POLICY_NESTING = 32;

/**
 * Whether the JSON `text` nests objects and lists more than `max` deep, by one pass over its
 * characters (brackets inside strings do not count); `text` must already have parsed with JSON.parse.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, past escaped characters.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Whether the decoded JSON `value` nests objects and lists more than `max` deep (the top object
 * is one deep, as jsonNestsDeeperThan counts): for a policy inside a larger document (a users
 * file's), whose text is not its own. Walks with a stack of its own, stopping at `max + 1`.
 */
export function valueNestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ v: unknown; depth: number }> = [{ v: value, depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (typeof top.v !== 'object' || top.v === null) continue;
    if (top.depth > max) return true;
    for (const child of Object.values(top.v)) if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: top.depth + 1 });
  }
  return false;
}

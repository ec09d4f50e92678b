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
 * undefined; `text` must already have parsed with JSON.parse. Reads jsonc-parser's token stream
 * with a stack of its own (its tree parser recurses, and a file of 100,000 nested lists overflowed
 * the call stack).
 */
export function repeatedJsonKey(text: string): { key: string; path: string } | undefined {
  type Level = { keys: Set<string> | undefined; path: string; index: number; expectKey: boolean; lastKey: string };
  const stack: Level[] = [];
  const child = (): string => {
    const top = stack.at(-1);
    if (top === undefined) return '';
    if (top.keys !== undefined) return top.path === '' ? top.lastKey : `${top.path}.${top.lastKey}`;
    return `${top.path}[${top.index}]`;
  };
  const jsonc = jsoncParser();
  const scanner = jsonc.createScanner(text, true);
  for (let token = scanner.scan(); token !== jsonc.SyntaxKind.EOF; token = scanner.scan()) {
    const top = stack.at(-1);
    switch (token) {
      case jsonc.SyntaxKind.OpenBraceToken:
        stack.push({ keys: new Set(), path: child(), index: 0, expectKey: true, lastKey: '' });
        break;
      case jsonc.SyntaxKind.OpenBracketToken:
        stack.push({ keys: undefined, path: child(), index: 0, expectKey: false, lastKey: '' });
        break;
      case jsonc.SyntaxKind.CloseBraceToken:
      case jsonc.SyntaxKind.CloseBracketToken:
        stack.pop();
        break;
      case jsonc.SyntaxKind.CommaToken:
        if (top?.keys !== undefined) top.expectKey = true;
        else if (top !== undefined) top.index++;
        break;
      case jsonc.SyntaxKind.StringLiteral:
        if (top?.keys !== undefined && top.expectKey) {
          const key = scanner.getTokenValue();
          if (top.keys.has(key)) return { key, path: top.path };
          top.keys.add(key);
          top.lastKey = key;
          top.expectKey = false;
        }
        break;
      default:
        break;
    }
  }
  return undefined;
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

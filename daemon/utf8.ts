// Strict UTF-8: request bytes that are not UTF-8 are refused where they are read, never replaced
// with U+FFFD (a replaced name is another name: a DeleteObjects key, a copy source, a form field).

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `bytes` as UTF-8 text, or undefined when they are not UTF-8. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Whether every name and value of a raw query string percent-decodes to UTF-8 (`+` is a space).
 * URLSearchParams replaces what does not, so `prefix=%E9` and `prefix=%FF` would name one prefix.
 */
export function isUtf8Query(rawQuery: string): boolean {
  if (!/[%\u0080-\uffff]/.test(rawQuery)) return true;
  // uWS hands the target over decoded from UTF-8: a raw byte that was not UTF-8 is U+FFFD here
  // (the character itself comes percent-encoded, %EF%BF%BD).
  if (rawQuery.includes('\uFFFD')) return false;
  for (const part of rawQuery.split('&')) {
    if (!part.includes('%')) continue;
    try {
      // A `%` that starts no escape (`prefix=100%`) is a `%`, as URLSearchParams reads it.
      decodeURIComponent(part.replace(/\+/g, ' ').replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
    } catch {
      return false;
    }
  }
  return true;
}

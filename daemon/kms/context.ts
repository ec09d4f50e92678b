// MinIO's canonical KMS context encoding (minio internal/kms/context.go MarshalText): the exact
// bytes used as AEAD associated data, so they must be byte-identical at generate and decrypt time.

/** A KMS context: string keys and values (SSE-S3: `{ bucket: "bucket/object" }`). */
export type KmsContext = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

const HEX = '0123456789abcdef';

/**
 * One JSON string literal escaped like Go's encoding/json with HTML escaping (what MinIO uses):
 * `"` and `\` backslashed; \n \r \t short forms; other controls and `<` `>` `&` as \u00XX
 * (also 0x08/0x0c, which MinIO's copy of the encoder never shortens); U+2028/U+2029 escaped;
 * unpaired surrogates (JS's equivalent of invalid UTF-8) become the literal text `\ufffd`.
 */
export function goJsonString(value: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26) {
      switch (c) {
        case 0x22: rep = '\\"'; break;
        case 0x5c: rep = '\\\\'; break;
        case 0x0a: rep = '\\n'; break;
        case 0x0d: rep = '\\r'; break;
        case 0x09: rep = '\\t'; break;
        default: rep = '\\u00' + HEX[c >> 4]! + HEX[c & 0xf]!;
      }
    } else if (c === 0x2028 || c === 0x2029) {
      rep = c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair: copied raw with the run
        continue;
      }
      rep = '\\ufffd';
    }
    if (rep !== undefined) {
      out += value.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + value.slice(start) + '"';
}

function entriesOf(context: KmsContext): Array<[string, string]> {
  const entries: Array<[string, string]> =
    context instanceof Map ? [...context.entries()] : Object.entries(context as Record<string, string>);
  for (const [k, v] of entries) {
    if (typeof k !== 'string' || typeof v !== 'string') {
      throw new TypeError(`KMS context entries must be strings (key ${JSON.stringify(String(k))})`);
    }
  }
  return entries;
}

/** Sort order of Go's sort.Strings on the UTF-8 bytes (differs from JS's UTF-16 order). */
function compareUtf8(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** Canonical JSON text of a context: keys sorted by UTF-8 bytes, compact, `{}` when empty. */
export function canonicalContextText(context: KmsContext): string {
  const entries = entriesOf(context).map(([k, v]) => ({ k, v, kb: Buffer.from(k, 'utf8') }));
  entries.sort((x, y) => compareUtf8(x.kb, y.kb));
  let out = '{';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0) out += ',';
    out += goJsonString(e.k) + ':' + goJsonString(e.v);
  }
  return out + '}';
}

/** Canonical context bytes: what goes (base64) into KES's `context` field and into the AAD. */
export function canonicalContext(context: KmsContext): Buffer {
  return Buffer.from(canonicalContextText(context), 'utf8');
}


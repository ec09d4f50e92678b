// SigV4 header signing cheap enough for the load generator's hot loop: the signing key is derived
// once a day with the repo's helpers, HMAC runs as two one-shot hashes, and identical requests
// within the same second reuse their signature. Payloads are UNSIGNED-PAYLOAD.

import { hash } from 'node:crypto';
import { deriveSigningKey, UNSIGNED_PAYLOAD, uriEncode } from '../../daemon/auth/sigv4.js';

export interface SignerOptions {
  accessKey: string;
  secretKey: string;
  region: string;
  /** Host header value, e.g. 127.0.0.1:9000 */
  host: string;
  /** clock in ms, for tests */
  now?: () => number;
}

/** A canonical (sorted, encoded) query string, usable as the request's query as-is. */
export function canonicalQueryOf(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(params[k]!)}`)
    .join('&');
}

const MAX_CACHED = 50_000;

export class FastSigner {
  readonly #opts: SignerOptions;
  readonly #now: () => number;
  #second = -1;
  #amzDate = '';
  #scope = '';
  #day = '';
  #credentialPrefix = '';
  // HMAC-SHA256 with the day's signing key: H(opad || H(ipad || m)).
  readonly #inner = Buffer.alloc(64 + 8192);
  readonly #outer = Buffer.alloc(64 + 32);
  readonly #cache = new Map<string, string>();

  constructor(opts: SignerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  #tick(): void {
    const ms = this.#now();
    const second = Math.floor(ms / 1000);
    if (second === this.#second) return;
    this.#second = second;
    this.#cache.clear();
    const iso = new Date(second * 1000).toISOString();
    this.#amzDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
    const day = this.#amzDate.slice(0, 8);
    if (day !== this.#day) {
      this.#day = day;
      this.#scope = `${day}/${this.#opts.region}/s3/aws4_request`;
      this.#credentialPrefix = `AWS4-HMAC-SHA256 Credential=${this.#opts.accessKey}/${this.#scope}, SignedHeaders=`;
      const key = deriveSigningKey(this.#opts.secretKey, day, this.#opts.region, 's3');
      this.#inner.fill(0x36, 0, 64);
      this.#outer.fill(0x5c, 0, 64);
      for (let i = 0; i < key.length; i++) {
        this.#inner[i]! ^= key[i]!;
        this.#outer[i]! ^= key[i]!;
      }
    }
  }

  #hmacHex(message: string): string {
    const len = Buffer.byteLength(message, 'latin1');
    const inner = len <= this.#inner.length - 64 ? this.#inner : Buffer.concat([this.#inner.subarray(0, 64), Buffer.alloc(len)]);
    inner.write(message, 64, 'latin1');
    hash('sha256', inner.subarray(0, 64 + len), 'buffer').copy(this.#outer, 64);
    return hash('sha256', this.#outer, 'hex');
  }

  /**
   * Header lines ("name: value\r\n" …) that authenticate the request: host, x-amz-date,
   * x-amz-content-sha256, the extra headers given (all signed) and authorization.
   * `path` must already be URI-encoded with only unreserved characters and '/';
   * `query` must come from canonicalQueryOf. Extra header names must be lower-case.
   */
  sign(method: string, path: string, query: string, extra: ReadonlyArray<readonly [string, string]> = []): string {
    this.#tick();
    let extraKey = '';
    for (const [n, v] of extra) extraKey += `${n}:${v}\n`;
    const cacheKey = `${method} ${path}?${query}\n${extraKey}`;
    const hit = this.#cache.get(cacheKey);
    if (hit !== undefined) return hit;

    const headers: Array<readonly [string, string]> = [
      ['host', this.#opts.host],
      ['x-amz-content-sha256', UNSIGNED_PAYLOAD],
      ['x-amz-date', this.#amzDate],
      ...extra,
    ];
    headers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let canonicalHeaders = '';
    let signed = '';
    let lines = '';
    for (const [n, v] of headers) {
      canonicalHeaders += `${n}:${v}\n`;
      signed += signed === '' ? n : `;${n}`;
      lines += `${n}: ${v}\r\n`;
    }
    const canonical = `${method}\n${path}\n${query}\n${canonicalHeaders}\n${signed}\n${UNSIGNED_PAYLOAD}`;
    const toSign = `AWS4-HMAC-SHA256\n${this.#amzDate}\n${this.#scope}\n${hash('sha256', canonical, 'hex')}`;
    const out = `${lines}authorization: ${this.#credentialPrefix}${signed}, Signature=${this.#hmacHex(toSign)}\r\n`;
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    this.#cache.set(cacheKey, out);
    return out;
  }
}

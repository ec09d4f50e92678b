// The KES client as a KeyProvider: mTLS over one keep-alive undici Agent, our own per-attempt
// timeout, failover across endpoints (kes-endpoints.ts), 2 retries with jitter on network errors
// and 503, errors matched by status + message (kes-api.md §1.1), optional legacy bulk decrypt.

import { createSecureContext } from 'node:tls';
import type { Agent } from 'undici';
import { undiciAgent } from '../undici.js';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import type { CertificateValidity } from '../cert-validity.js';
import { KEY_SIZE, TAG_SIZE, parseCiphertext } from './ciphertext.js';
import { EndpointSet } from './kes-endpoints.js';
import type { KesConfig } from './kes-config.js';
import { KmsError } from './provider.js';
import type {
  BulkDecryptor,
  DataKey,
  DecryptRequest,
  KeyDescription,
  KeyProvider,
  KmsEndpointStatus,
  KmsErrorCode,
  KmsObserver,
  KmsRequestEvent,
  KmsStatus,
  ObservableProvider,
} from './provider.js';

export type KmsLogger = Pick<Logger, 'error' | 'info' | 'warn' | 'debug'>;

export interface KesClientOptions extends Omit<KesConfig, 'identity' | 'auth' | 'requestTimeoutMs' | 'warnings' | 'ca' | 'trust'> {
  identity?: string;
  /** Trusted roots (loadKesConfig's); unset = Node's defaults. */
  ca?: readonly string[];
  /** Per attempt, the whole exchange: a new connection's connect and TLS handshake, the request, the answer (default 10 s). */
  requestTimeoutMs?: number;
  /** Extra attempts on the same endpoint after a network error or 503 (default 2, as kms-go). */
  retries?: number;
  /** Retry sleep = base + random·jitter ms (default 200 + 0–800, as kms-go). */
  retryBaseMs?: number;
  retryJitterMs?: number;
  /** How long a failed endpoint is skipped (default 30 s). */
  quarantineMs?: number;
  /** Max sockets per endpoint (default: no limit, as Go's transport in MinIO's client). */
  connectionsPerEndpoint?: number;
  /**
   * Negotiate HTTP/2 via ALPN (KES offers h2): one multiplexed connection per endpoint. Default
   * false = HTTP/1.1 keep-alive pool (a server without h2 would serialise on that one connection).
   */
  allowH2?: boolean;
  /** First retry delay of the start-up loop (doubles up to 10 s; default 1 s). */
  startupRetryMs?: number;
  /** Timeout of each `/v1/status` probe in status() (default min(requestTimeoutMs, 5 s)). */
  statusTimeoutMs?: number;
  log?: KmsLogger;
}

/** Bulk decrypt accepts at most this many ciphertexts per call (KES v0.22). */
export const KES_BULK_MAX = 1000;
const BULK_PATH = '/v1/key/bulk/decrypt/';

interface KesResponse {
  status: number;
  contentType: string;
  body: Buffer;
  /** What the caller's `accept` made of a 200 answer (see #request). */
  value?: unknown;
}

/**
 * Reads a 200 answer inside the failover loop: a KmsError 'Unavailable' from it (not JSON, a data
 * key of the wrong length) counts against that endpoint like a 5xx, and the next one is asked.
 */
type Accept = (res: KesResponse) => unknown;

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`no response within ${ms} ms`);
    this.name = 'AttemptTimeout';
  }
}

/** Errors after which retrying the same endpoint is pointless; fail over at once. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
// TLS / certificate verification failures (OpenSSL X509_V_ERR names as Node reports them).
const TLS_CODE = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_|HOSTNAME_MISMATCH)/;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describeError(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** The message of a KES error body: JSON `message` (or legacy `error`), else the text (its first 200 characters: a proxy's HTML page goes to the log). */
export function kesErrorMessage(contentType: string, body: Buffer): string {
  const message = errorBodyMessage(contentType, body);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

function errorBodyMessage(contentType: string, body: Buffer): string {
  const text = body.toString('utf8');
  if (contentType.startsWith('application/json')) {
    try {
      const doc = JSON.parse(text) as { message?: unknown; error?: unknown };
      if (typeof doc.message === 'string') return doc.message;
      if (typeof doc.error === 'string') return doc.error;
    } catch {
      /* fall through to the raw text */
    }
  }
  return text.trim();
}

/**
 * Map a KES error response to a KmsError by status and exact message, as MinIO does. Any 403 is
 * Forbidden, not only KES's own two messages: a proxy or gateway in front of KES that refuses s3d
 * is the same policy matter for clients (403, not a retryable 503 or a 500), and the message, which
 * names what refused, goes to the log and to readiness.
 */
export function kesError(status: number, message: string): KmsError {
  let code: KmsErrorCode;
  if (status === 404 && message === 'key does not exist') code = 'KeyNotFound';
  else if (status === 400 && (message === 'key already exists' || message === 'key does already exist')) code = 'KeyExists';
  else if (status === 403) code = 'Forbidden';
  else if (status === 400 && message === 'decryption failed: ciphertext is not authentic') code = 'NotAuthentic';
  // Any failure of KES itself (a 500 from it, or from a proxy in front of it, too) is an outage
  // to S3 clients, 503 with Retry-After, logged once per 10 s, not an internal error of s3d's
  // with a stack trace per request. 501 is an API KES lacks. A 429 (a rate limit in front of
  // KES) is the same passing state: it was BadRequest, a 500 to every client and, to `s3d verify
  // --deep`, a damaged key on every object it met.
  else if (status === 429 || (status >= 500 && status !== 501)) code = 'Unavailable';
  else if (status >= 500) code = 'Internal';
  else code = 'BadRequest';
  return new KmsError(code, `kes: ${message || `HTTP ${status}`}`, { status });
}

function b64(v: unknown, field: string): Buffer {
  if (typeof v !== 'string') throw new KmsError('Unavailable', `kes: response field '${field}' missing`);
  return Buffer.from(v, 'base64');
}

/**
 * A data key from KES: 32 bytes, or the answer is refused before anything caches it (a proxy
 * that cut it short left two objects unreadable for the cache's TTL after KES was right again).
 */
function dataKeyOf(v: unknown): Buffer {
  const key = b64(v, 'plaintext');
  if (key.length !== 32) throw new KmsError('Unavailable', `kes: a data key of ${key.length} bytes, not 32`);
  return key;
}

/**
 * The ciphertext of a generated data key: one KES can open (v3, or a legacy layout, sealing 32
 * bytes), or the answer is refused before anything is sealed under its key. The record keeps only
 * the ciphertext: one cut short by a proxy, or empty, left an object that read back from the cache
 * and was lost for good once its data key left it.
 */
function dataKeyCiphertextOf(v: unknown): Buffer {
  const ciphertext = b64(v, 'ciphertext');
  let sealed: number;
  try {
    sealed = parseCiphertext(ciphertext).sealed.length;
  } catch {
    sealed = -1;
  }
  if (sealed !== KEY_SIZE + TAG_SIZE) throw new KmsError('Unavailable', `kes: a data key ciphertext of ${ciphertext.length} bytes that KES cannot open`);
  return ciphertext;
}

/**
 * Where, not what: V8's message (and so a cause carrying it) quotes the text around the error,
 * which in a generate or decrypt answer is the data key, and the error goes to the log.
 */
function parseJson(body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    const at = /position (\d+)/.exec((err as Error).message);
    throw new KmsError('Unavailable', `kes: invalid JSON from ${what}${at === null ? '' : ` (at position ${at[1]})`}`);
  }
}

/** The data keys of a legacy bulk-decrypt answer, one per request sent. */
function bulkKeys(doc: unknown, count: number): Buffer[] {
  if (!Array.isArray(doc) || doc.length !== count) throw new KmsError('Unavailable', 'kes: bulk decrypt returned a wrong count');
  return (doc as Array<{ plaintext?: unknown }>).map((item) => dataKeyOf(item?.plaintext));
}

/** The statuses of `probes` once one is online (the others as not yet answered), else all of them. */
function firstOnline(probes: ReadonlyArray<Promise<KmsEndpointStatus>>, endpoints: readonly string[]): Promise<KmsEndpointStatus[]> {
  return new Promise((resolve) => {
    const results: Array<KmsEndpointStatus | undefined> = probes.map(() => undefined);
    let pending = probes.length;
    probes.forEach((p, i) => {
      void p.then((r) => {
        results[i] = r;
        pending--;
        if (r.online || pending === 0) resolve(results.map((x, j) => x ?? { endpoint: endpoints[j]!, online: false, error: 'still being probed (another endpoint is online)' }));
      });
    });
  });
}

/** The largest KES answer read: a bulk decrypt of KES_BULK_MAX keys is well under it. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** KES route name of a request path (as the fixture counts them): generate, bulk-decrypt, status, … */
export function kesRouteName(path: string): string {
  if (path.startsWith(BULK_PATH)) return 'bulk-decrypt';
  const key = /^\/v1\/key\/([a-z]+)\//.exec(path);
  if (key) return key[1]!;
  if (path === '/version') return 'version';
  const other = /^\/v1\/([a-z]+)/.exec(path);
  return other ? other[1]! : 'other';
}

function failureKind(err: unknown): NonNullable<KmsRequestEvent['error']> {
  if (err instanceof AttemptTimeout) return 'timeout';
  const code = errorCode(err);
  return code !== undefined && TLS_CODE.test(code) ? 'tls' : 'network';
}

/** Health of one configured endpoint as the client sees it (no network call). */
export interface KesEndpointHealth {
  endpoint: string;
  /** Skipped by request planning because it failed within the quarantine period. */
  quarantined: boolean;
  lastError: string | undefined;
}

export class KesClient implements KeyProvider, BulkDecryptor, ObservableProvider {
  readonly kind = 'kes' as const;
  readonly defaultKeyName: string;
  readonly identity: string | undefined;
  /** When the client certificate is valid (S3_KMS_KES_CERT_FILE's; undefined with an API key). */
  readonly clientCertificate: CertificateValidity | undefined;
  readonly #endpoints: EndpointSet;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #statusTimeoutMs: number;
  readonly #retries: number;
  readonly #retryBaseMs: number;
  readonly #retryJitterMs: number;
  readonly #startupRetryMs: number;
  readonly #log: KmsLogger | undefined;
  #bulk = false;
  #defaultKeyReady = false;
  #startup: Promise<void> | undefined;
  #startupTimer: NodeJS.Timeout | undefined;
  #startupRunning: Promise<void> | undefined;
  #startupDelayMs = 0;
  /** Why the last start-up attempt failed, when KES refused s3d's identity (a policy problem). */
  #startupDenied: string | undefined;
  /** The last start-up failure logged at warn/error: the same failure again is logged at debug. */
  #startupLastFailure: string | undefined;
  /** The last request failed at every endpoint (logged once until a request works again). */
  #unreachable = false;
  #closed = false;
  readonly #observers = new Set<KmsObserver>();

  constructor(opts: KesClientOptions) {
    this.defaultKeyName = opts.defaultKeyName;
    this.identity = opts.identity;
    this.clientCertificate = opts.clientCertificate;
    this.#endpoints = new EndpointSet(opts.endpoints, { quarantineMs: opts.quarantineMs });
    this.#timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.#statusTimeoutMs = opts.statusTimeoutMs ?? Math.min(this.#timeoutMs, 5_000);
    this.#retries = opts.retries ?? 2;
    this.#retryBaseMs = opts.retryBaseMs ?? 200;
    this.#retryJitterMs = opts.retryJitterMs ?? 800;
    this.#startupRetryMs = opts.startupRetryMs ?? 1_000;
    this.#startupDelayMs = this.#startupRetryMs;
    this.#log = opts.log;
    // One TLS context for every connection: building one (the CA bundle parsed again) costs tens
    // of milliseconds of CPU, which a fresh context per connection paid on every cold connect.
    const secureContext = createSecureContext({
      cert: opts.cert,
      key: opts.key,
      ...(opts.ca ? { ca: [...opts.ca] } : {}),
      minVersion: 'TLSv1.2',
    });
    this.#agent = new (undiciAgent())({
      connect: {
        secureContext,
        minVersion: 'TLSv1.2',
        timeout: this.#timeoutMs,
      },
      // HTTP/2: one multiplexed connection per endpoint (undici's pool would otherwise open a new
      // connection whenever a request is still queued on the first). HTTP/1.1: a keep-alive pool
      // without a cap, as Go's transport (MinIO's client) has none: a request waiting inside s3d
      // for a busy pool's connection ran its attempt's clock all the same, so a burst of PUTs
      // against a KES slow but answering timed out, quarantined it and got 503s. Unwraps are
      // bounded by S3_KMS_MAX_IN_FLIGHT, generate calls by the PUTs in progress.
      connections: opts.allowH2 ? 1 : (opts.connectionsPerEndpoint ?? null),
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      allowH2: opts.allowH2 ?? false,
      // undici counts h2 streams against `pipelining` (default 1 = one stream per connection);
      // non-idempotent POSTs are never pipelined should the server pick HTTP/1.1.
      pipelining: opts.allowH2 ? 100 : 1,
    });
  }

  // ---------------------------------------------------------------- transport

  addObserver(o: KmsObserver): () => void {
    this.#observers.add(o);
    return () => {
      this.#observers.delete(o);
    };
  }

  #emit(e: KmsRequestEvent): void {
    for (const o of this.#observers) {
      try {
        o.onRequest?.(e);
      } catch {
        /* an observer must never break a KMS call */
      }
    }
  }

  /** Each configured endpoint and whether it is currently skipped after a failure. */
  endpointHealth(): KesEndpointHealth[] {
    return this.#endpoints.all().map((h) => ({
      endpoint: h.endpoint,
      quarantined: this.#endpoints.isQuarantined(h.endpoint),
      lastError: h.lastError,
    }));
  }

  async #attempt(origin: string, method: Dispatcher.HttpMethod, path: string, body: string | undefined, timeoutMs: number): Promise<KesResponse> {
    if (this.#observers.size === 0) return this.#attemptOnce(origin, method, path, body, timeoutMs);
    const started = performance.now();
    try {
      const res = await this.#attemptOnce(origin, method, path, body, timeoutMs);
      this.#emit({ endpoint: origin, route: kesRouteName(path), status: res.status, seconds: (performance.now() - started) / 1000 });
      return res;
    } catch (err) {
      this.#emit({ endpoint: origin, route: kesRouteName(path), error: failureKind(err), seconds: (performance.now() - started) / 1000 });
      throw err;
    }
  }

  async #attemptOnce(origin: string, method: Dispatcher.HttpMethod, path: string, body: string | undefined, timeoutMs: number): Promise<KesResponse> {
    const ac = new AbortController();
    const timeout = new AttemptTimeout(timeoutMs);
    // undici takes an abort while the connection is still being made as a note for later: against
    // an endpoint that accepts TCP and never speaks TLS, the request waited out the agent's 10 s
    // connect timeout whatever `timeoutMs` said (readiness took 10.5 s with one of two endpoints
    // hung). The attempt ends at its own time; the request left behind is drained when it ends.
    let expire: () => void = () => {};
    const expired = new Promise<never>((_, reject) => {
      expire = () => reject(timeout);
    });
    const timer = setTimeout(() => {
      ac.abort(timeout);
      expire();
    }, timeoutMs);
    const exchange = (async (): Promise<KesResponse> => {
      const res = await this.#agent.request({
        origin,
        path,
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body,
        signal: ac.signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body) {
        size += (c as Buffer).length;
        // KES answers in kilobytes; a proxy's error page or a stream without end is not read whole.
        if (size > MAX_RESPONSE_BYTES) {
          res.body.destroy();
          throw new KmsError('Unavailable', `kes: an answer of more than ${MAX_RESPONSE_BYTES} bytes from ${path}`);
        }
        chunks.push(c as Buffer);
      }
      const ct = res.headers['content-type'];
      return { status: res.statusCode, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '', body: Buffer.concat(chunks) };
    })();
    try {
      return await Promise.race([exchange, expired]);
    } catch (err) {
      exchange.catch(() => {});
      throw ac.signal.aborted ? timeout : err;
    } finally {
      clearTimeout(timer);
      expired.catch(() => {});
    }
  }

  // Endpoint state changes are logged once each (warn when one starts failing, info when it works
  // again), never per request: an outage must show at the default level without flooding it.
  #endpointWorks(origin: string): void {
    if (this.#endpoints.succeeded(origin)) this.#log?.info({ endpoint: origin }, 'KES endpoint works again');
    if (this.#unreachable) {
      this.#unreachable = false;
      this.#log?.info({ endpoint: origin }, 'KES reachable again');
    }
  }

  #endpointFailed(origin: string, error: string): void {
    if (this.#endpoints.failed(origin, error)) this.#log?.warn({ endpoint: origin, err: error }, 'KES endpoint failed');
    else this.#log?.debug({ endpoint: origin, err: error }, 'KES endpoint failed again');
  }

  #everyEndpointFailed(error: string): void {
    if (this.#unreachable) return;
    this.#unreachable = true;
    this.#log?.warn({ endpoints: this.#endpoints.all().map((h) => h.endpoint), err: error },
      'KES unreachable: every endpoint failed; SSE-S3/SSE-KMS writes and uncached reads get 503 until one answers');
  }

  #retryDelay(): number {
    return this.#retryBaseMs + Math.random() * this.#retryJitterMs;
  }

  /**
   * One request with failover. 2xx and 4xx (except 503 after retries) return the response; a 5xx
   * other than 501, a redirect, a network error or a timeout quarantines the endpoint and moves on,
   * and so does a 200 that `accept` finds unusable (a proxy's HTML page, a cut-short key) or an answer
   * too large to read (at once, without the retries a dropped connection gets).
   */
  async #request(method: Dispatcher.HttpMethod, path: string, body?: unknown, accept?: Accept): Promise<KesResponse> {
    if (this.#closed) throw new KmsError('Unavailable', 'kes: client is closed');
    const text = body === undefined ? undefined : JSON.stringify(body);
    const plan = this.#endpoints.plan();
    const progress = { tried: 0 };
    try {
      return await this.#tryInOrder(plan, method, path, text, progress, accept);
    } finally {
      // A probe slot handed out by plan() but never used must not block future probes.
      for (const origin of plan.slice(progress.tried)) this.#endpoints.released(origin);
    }
  }

  async #tryInOrder(
    plan: string[],
    method: Dispatcher.HttpMethod,
    path: string,
    text: string | undefined,
    progress: { tried: number },
    accept: Accept | undefined,
  ): Promise<KesResponse> {
    let last: { error?: unknown; response?: KesResponse; endpoint: string } | undefined;
    for (const origin of plan) {
      progress.tried++;
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await this.#attempt(origin, method, path, text, this.#timeoutMs);
          if (res.status === 503 && attempt < this.#retries) {
            await sleep(this.#retryDelay());
            continue;
          }
          // KES never redirects: a 3xx is a proxy in front of it (a sign-in or maintenance page),
          // unusable like a 200 HTML page; not followed, and where it points is not repeated.
          if (res.status >= 300 && res.status < 400) {
            const bad = new KmsError('Unavailable', `kes: a redirect (HTTP ${res.status}) from ${path}, which KES never sends`);
            this.#endpointFailed(origin, bad.message);
            last = { error: bad, endpoint: origin };
            break;
          }
          if (res.status >= 500 && res.status !== 501) {
            this.#endpointFailed(origin, `HTTP ${res.status}: ${kesErrorMessage(res.contentType, res.body)}`);
            last = { response: res, endpoint: origin };
            break;
          }
          if (accept !== undefined && res.status === 200) {
            const bad = this.#unusable(res, accept);
            if (bad !== undefined) {
              this.#endpointFailed(origin, bad.message);
              last = { error: bad, endpoint: origin };
              break;
            }
          }
          this.#endpointWorks(origin);
          return res;
        } catch (err) {
          const code = errorCode(err);
          // A KmsError here is an answer s3d refused to read whole (over MAX_RESPONSE_BYTES): the
          // endpoint misbehaves like one sending a 200 HTML page, and asking it again reads megabytes
          // for the same answer. Only a failure of the exchange itself (a dropped connection) is retried.
          const moveOn = err instanceof AttemptTimeout || err instanceof KmsError || (code !== undefined && (CONNECT_CODES.has(code) || TLS_CODE.test(code)));
          if (!moveOn && attempt < this.#retries && !this.#closed) {
            await sleep(this.#retryDelay());
            continue;
          }
          this.#endpointFailed(origin, describeError(err));
          last = { error: err, endpoint: origin };
          break;
        }
      }
    }
    if (last?.response) {
      const error = kesError(last.response.status, kesErrorMessage(last.response.contentType, last.response.body));
      this.#everyEndpointFailed(error.message);
      throw error;
    }
    this.#everyEndpointFailed(`${last?.endpoint}: ${describeError(last?.error)}`);
    if (last?.error instanceof KmsError) throw last.error; // every endpoint answered, none usably
    throw new KmsError('Unavailable', `kes: no endpoint reachable (last: ${last?.endpoint}: ${describeError(last?.error)})`, {
      cause: last?.error,
    });
  }

  /** `accept`'s verdict on a 200 answer: undefined when usable (its value kept), else the error. */
  #unusable(res: KesResponse, accept: Accept): KmsError | undefined {
    try {
      res.value = accept(res);
      return undefined;
    } catch (err) {
      if (err instanceof KmsError && err.code === 'Unavailable') return err;
      throw err;
    }
  }

  /** Request that must succeed with 200; anything else becomes the mapped KmsError. */
  async #call(method: Dispatcher.HttpMethod, path: string, body?: unknown, accept?: Accept): Promise<KesResponse> {
    const res = await this.#request(method, path, body, accept);
    if (res.status !== 200) throw kesError(res.status, kesErrorMessage(res.contentType, res.body));
    return res;
  }

  /** A 200 JSON answer, read by `read` (which may refuse it with 'Unavailable': next endpoint). */
  async #json<T>(method: Dispatcher.HttpMethod, path: string, body?: unknown, read: (doc: any) => T = (doc) => doc as T): Promise<T> {
    const res = await this.#call(method, path, body, (r) => {
      const doc = parseJson(r.body, path);
      if (doc === null || typeof doc !== 'object') throw new KmsError('Unavailable', `kes: an answer from ${path} that is no JSON object or array`);
      return read(doc);
    });
    return res.value as T;
  }

  // ---------------------------------------------------------------- KeyProvider

  async createKey(name: string): Promise<void> {
    await this.#call('POST', `/v1/key/create/${encodeURIComponent(name)}`);
  }

  /** Import a 32-byte key (AES256), as kms-go's ImportKey sends it. */
  async importKey(name: string, key: Buffer): Promise<void> {
    await this.#call('POST', `/v1/key/import/${encodeURIComponent(name)}`, { key: key.toString('base64'), cipher: 'AES256' });
  }

  async deleteKey(name: string): Promise<void> {
    await this.#call('DELETE', `/v1/key/delete/${encodeURIComponent(name)}`);
  }

  async generateKey(name: string, context: Buffer): Promise<DataKey> {
    return this.#json('POST', `/v1/key/generate/${encodeURIComponent(name)}`, { context: context.toString('base64') },
      (doc: { plaintext?: unknown; ciphertext?: unknown }): DataKey => {
        const ciphertext = dataKeyCiphertextOf(doc.ciphertext);
        return { plaintext: dataKeyOf(doc.plaintext), ciphertext };
      });
  }

  async decrypt(name: string, ciphertext: Buffer, context: Buffer): Promise<Buffer> {
    return this.#json('POST', `/v1/key/decrypt/${encodeURIComponent(name)}`,
      { ciphertext: ciphertext.toString('base64'), context: context.toString('base64') },
      (doc: { plaintext?: unknown }) => dataKeyOf(doc.plaintext));
  }

  bulkDecryptSupported(): boolean {
    return this.#bulk;
  }

  async decryptBulk(name: string, requests: readonly DecryptRequest[]): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let i = 0; i < requests.length; i += KES_BULK_MAX) {
      const chunk = requests.slice(i, i + KES_BULK_MAX);
      const res = await this.#request('POST', `${BULK_PATH}${encodeURIComponent(name)}`,
        chunk.map((r) => ({ ciphertext: r.ciphertext.toString('base64'), context: r.context.toString('base64') })),
        (r) => bulkKeys(parseJson(r.body, 'bulk decrypt'), chunk.length));
      if (res.status === 404 && !res.contentType.startsWith('application/json')) {
        this.#bulk = false; // the server lost the route (upgraded KES): stop trying
        throw new KmsError('BadRequest', 'kes: bulk decrypt is not supported by this server', { status: 404 });
      }
      if (res.status !== 200) throw kesError(res.status, kesErrorMessage(res.contentType, res.body));
      out.push(...(res.value as Buffer[]));
    }
    return out;
  }

  async describeKey(name: string): Promise<KeyDescription> {
    const doc = await this.#json<{ name?: string; algorithm?: string; created_at?: string; created_by?: string }>(
      'GET', `/v1/key/describe/${encodeURIComponent(name)}`);
    return { name: doc.name ?? name, algorithm: doc.algorithm, createdAt: doc.created_at, createdBy: doc.created_by };
  }

  /** Key names starting with `prefix` ('' or '*' = all), following `continue_at` pages. */
  async listKeys(prefix: string): Promise<string[]> {
    const all = prefix === '' || prefix === '*';
    const names: string[] = [];
    let arg = all ? '*' : prefix;
    for (let page = 0; page < 10_000; page++) {
      const res = await this.#call('GET', `/v1/key/list/${encodeURIComponent(arg).replace(/%2A/g, '*')}`);
      const text = res.body.toString('utf8');
      if (res.contentType.startsWith('application/x-ndjson')) {
        // ≤ 2023-10 servers: one {"name"} per line, {"error"} on failure.
        for (const line of text.split('\n').filter(Boolean)) {
          const item = JSON.parse(line) as { name?: string; error?: string };
          if (item.error) throw new KmsError('Unavailable', `kes: ${item.error}`);
          if (item.name && (all || item.name.startsWith(prefix))) names.push(item.name);
        }
        return names;
      }
      const doc = JSON.parse(text) as { names?: string[] | null; continue_at?: string };
      for (const n of doc.names ?? []) if (all || n.startsWith(prefix)) names.push(n);
      if (!doc.continue_at || doc.continue_at === arg) break;
      if (!all && !doc.continue_at.startsWith(prefix)) break;
      arg = doc.continue_at;
    }
    return [...new Set(names)];
  }

  async version(): Promise<string> {
    const doc = await this.#json<{ version?: string }>('GET', '/version');
    return doc.version ?? '';
  }

  /** `/v1/api`; also learns whether the legacy bulk-decrypt route is served. */
  async apis(): Promise<Array<{ method: string; path: string; max_body?: number; timeout?: number }>> {
    const list = await this.#json<Array<{ method: string; path: string; max_body?: number; timeout?: number }>>('GET', '/v1/api');
    this.#bulk = Array.isArray(list) && list.some((a) => a.path === BULK_PATH);
    return list;
  }

  async #endpointStatus(origin: string): Promise<KmsEndpointStatus> {
    const started = performance.now();
    try {
      const res = await this.#attempt(origin, 'GET', '/v1/status', undefined, this.#statusTimeoutMs);
      const latencyMs = Math.round(performance.now() - started);
      if (res.status === 403) {
        // Reachable, but KES refuses s3d's identity here: not usable for readiness and status
        // (a policy that leaves out /v1/status is refused the same way, see docs/kms.md).
        this.#endpointWorks(origin);
        return { endpoint: origin, online: false, forbidden: true, latencyMs, error: kesErrorMessage(res.contentType, res.body) };
      }
      if (res.status !== 200) {
        return { endpoint: origin, online: false, latencyMs, error: `HTTP ${res.status}: ${kesErrorMessage(res.contentType, res.body)}` };
      }
      const doc = JSON.parse(res.body.toString('utf8')) as { keystore_unreachable?: boolean };
      if (doc.keystore_unreachable) return { endpoint: origin, online: false, latencyMs, error: 'keystore is unreachable' };
      this.#endpointWorks(origin);
      return { endpoint: origin, online: true, latencyMs };
    } catch (err) {
      return { endpoint: origin, online: false, error: describeError(err) };
    }
  }

  /**
   * Every endpoint probed in parallel (`/v1/status`); ready = default key ensured and one online.
   * A probe that finds KES back while start-up is still waiting out its backoff retries at once.
   */
  async status(opts: { anyOnline?: boolean } = {}): Promise<KmsStatus> {
    const origins = this.#endpoints.all().map((h) => h.endpoint);
    const probes = origins.map((origin) => this.#endpointStatus(origin));
    // Readiness needs one endpoint online, not the verdict on a hung one (up to the status timeout):
    // the first online answer settles it, the endpoints still being probed are reported as such.
    const endpoints = opts.anyOnline === true && probes.length > 1 ? await firstOnline(probes, origins) : await Promise.all(probes);
    // A refusal is no outage: KES coming back says nothing about the policy, the backoff retries it.
    if (!this.#defaultKeyReady && this.#startup !== undefined && this.#startupDenied === undefined && endpoints.some((e) => e.online)) {
      if (this.#startupTimer) clearTimeout(this.#startupTimer);
      await this.#runStartup();
    }
    const online = endpoints.some((e) => e.online);
    const refused = endpoints.find((e) => e.forbidden);
    const denied = this.#startupDenied ?? (!online && refused ? `/v1/status at ${refused.endpoint}: ${refused.error ?? 'HTTP 403'}` : undefined);
    return {
      kind: 'kes',
      defaultKey: this.defaultKeyName,
      ready: this.#defaultKeyReady && online,
      endpoints,
      ...(denied === undefined ? {} : { denied }),
    };
  }

  get ready(): boolean {
    return this.#defaultKeyReady;
  }

  // ---------------------------------------------------------------- start-up

  /**
   * Make sure the default key exists (MinIO: generate with "{}", create on key-not-found) and learn
   * the server's APIs. Never fails start-up: while KES is unreachable it retries in the background
   * with backoff, and status() reports not ready. Resolves after the first attempt.
   */
  start(): Promise<void> {
    this.#startup ??= this.#runStartup();
    return this.#startup;
  }

  /** Resolves once the default key is known to exist (or the client closes). */
  async whenReady(pollMs = 50): Promise<boolean> {
    while (!this.#defaultKeyReady && !this.#closed) await sleep(pollMs);
    return this.#defaultKeyReady;
  }

  /** One start-up attempt unless one is running (then that one); nothing once ready. */
  #runStartup(): Promise<void> {
    if (this.#closed || this.#defaultKeyReady) return Promise.resolve();
    this.#startupRunning ??= this.#startupAttempt().finally(() => {
      this.#startupRunning = undefined;
    });
    return this.#startupRunning;
  }

  async #startupAttempt(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#ensureDefaultKey();
      // Learn the APIs (bulk decrypt) before reporting ready, so traffic admitted by a readiness
      // probe already gets batched the way the server allows.
      try {
        await this.apis();
      } catch (err) {
        this.#log?.debug({ err: describeError(err) }, 'KES /v1/api not readable; bulk decrypt off');
      }
      this.#defaultKeyReady = true;
      this.#startupDenied = undefined;
      this.#log?.info({ key: this.defaultKeyName, identity: this.identity, bulkDecrypt: this.#bulk }, 'KES reachable, default key ready');
    } catch (err) {
      const unavailable = err instanceof KmsError && (err.code === 'Unavailable' || err.code === 'Internal');
      const forbidden = err instanceof KmsError && err.code === 'Forbidden';
      const delayMs = this.#startupDelayMs;
      this.#startupDelayMs = Math.min(delayMs * 2, 10_000);
      this.#startupDenied = forbidden ? describeError(err) : undefined;
      // Each failure once at warn/error; the same failure on every retry after it at debug.
      const failure = describeError(err);
      const repeated = failure === this.#startupLastFailure;
      this.#startupLastFailure = failure;
      const fields = { err: failure, key: this.defaultKeyName, identity: this.identity, retryInMs: delayMs };
      if (repeated) this.#log?.debug(fields, 'KES start-up check failed again; retrying');
      else if (forbidden) {
        this.#log?.error(fields,
          `KES refuses s3d's identity: it lacks permission for the default key '${this.defaultKeyName}' (generate, or create when missing); ` +
          'allow them in the identity\'s KES policy. SSE-S3/SSE-KMS requests are refused until then; retrying');
      } else this.#log?.warn(fields, unavailable ? 'KES not reachable yet; retrying' : 'KES default key check failed; retrying');
      if (this.#startupTimer) clearTimeout(this.#startupTimer);
      this.#startupTimer = setTimeout(() => {
        void this.#runStartup();
      }, delayMs);
      this.#startupTimer.unref();
    }
  }

  async #ensureDefaultKey(): Promise<void> {
    try {
      const dk = await this.generateKey(this.defaultKeyName, Buffer.from('{}'));
      dk.plaintext.fill(0);
    } catch (err) {
      // Forbidden is not tolerated (MinIO does tolerate it): every SSE-S3 PUT would fail on it.
      if (!(err instanceof KmsError) || err.code !== 'KeyNotFound') throw err;
      try {
        await this.createKey(this.defaultKeyName);
        this.#log?.info({ key: this.defaultKeyName }, 'created the default KES key');
      } catch (createErr) {
        if (createErr instanceof KmsError && createErr.code === 'KeyExists') return;
        throw createErr;
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#startupTimer) clearTimeout(this.#startupTimer);
    await this.#agent.destroy();
  }
}

// With respond.ts, the only code that touches uWS's requests and responses: copies each request
// out, routes and authenticates it synchronously, hands it to the dispatcher, and answers with its
// Result (respond.ts writes it). The listening socket and its certificates: listener.ts.

import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { anonymousPayloadMode, authenticate, authKind, type AuthResult, type AuthOptions, type Credentials } from '../auth/sigv4.js';
import { createPayloadDecoder, type PayloadDecoder, type PayloadOptions } from '../auth/payload.js';
import { DEFAULT_CHECKSUM } from '../ops/checksums.js';
import type { Config } from '../config.js';
import { S3Error } from '../errors.js';
import type { Handler, RequestContext, Result } from '../ops/types.js';
import { UwsRequestBody } from './body.js';
import { ErrorAnswers, isTampered } from './error-answer.js';
import { AccessLog } from './access-log.js';
import { preflight, responseCors } from './cors.js';
import { ANONYMOUS_OPERATIONS, bucketFromHost, bucketOf, isAwsAuthorization, namesObject, route, type Route } from './router.js';
import type { CorsRule } from '../meta/records.js';
import type { AnonymousRequest } from '../ops/policy.js';
import { headError, readHead, requestQuery } from './request-head.js';
import { isSecureAllowed } from './tls.js';
import { Listener } from './listener.js';
import { clientOf, type Client } from './client-address.js';
import { canonicalIp } from '../ip-ranges.js';
import { KeyedLogLimit } from '../log-limit.js';
import { withQueryAmzHeaders } from './query-headers.js';
import { DRAIN_MAX_BYTES, discardBody, drainBody, isStream, statusLine, streamBody, writeHeaderSafely, type Pending } from './respond.js';

/** Why a response was closed before its end, after its status line went out. */
export type ResponseCut = 'tampered' | 'failed';

export interface RequestObserver {
  /** `tampered`: object data failed authentication, whether refused before any byte or cut after some. */
  (info: { op: string; status: number; bytesIn: number; bytesOut: number; seconds: number; cut?: ResponseCut; tampered?: true }): void;
}

export interface HttpServerDeps {
  config: Config;
  log: Logger;
  credentials: Credentials;
  /** Opens session tokens of temporary credentials (auth/sts.ts); without it every token is refused. */
  sessions?: AuthOptions['sessions'];
  dispatch: Handler;
  observe?: RequestObserver;
  /** Whether an unsigned request is admitted (bucket policies); without it, none is. */
  anonymous?: (req: AnonymousRequest) => boolean;
  /** Whether a signed request is allowed to its access key (users' and buckets' policies); without it, every one is. */
  authorize?: (req: AnonymousRequest & { accessKey: string }) => boolean;
  /** The CORS rules of a bucket that has some (PutBucketCors); without it, S3_API_CORS_ALLOW_ORIGIN alone decides. */
  bucketCors?: (bucket: string) => readonly CorsRule[] | undefined;
  /** Whether a bucket exists: a refused HeadBucket of one still names its region, as S3's does. */
  bucketExists?: (bucket: string) => boolean;
}

/** After the shutdown deadline: how long requests whose body has fully arrived may still commit. */
const COMMIT_GRACE_MS = 5000;

/**
 * PutObject's and UploadPart's body: one sent without a checksum gets S3's default
 * (ops/checksums.ts), hashed as it is decoded. A part's handler alone knows its upload: it keeps the
 * default hidden for an upload without a checksum algorithm, and takes it as the part's checksum
 * (or drops it) for one with (ops/multipart.ts handleUploadPart).
 */
const DEFAULT_CHECKSUM_PAYLOAD: PayloadOptions = { defaultChecksum: DEFAULT_CHECKSUM };

/** The status logged and counted for a request whose client went away before any answer. */
const CLIENT_CLOSED = 499;

/** After cutting: how long aborted handlers get to remove their temp files. */
const CLEANUP_GRACE_MS = 2000;

const ANONYMOUS_CREDENTIALS: AuthResult = {
  accessKeyId: '',
  payload: { kind: 'unsigned' },
  seedSignature: '',
  signingKey: Buffer.alloc(0),
  scope: '',
  amzDate: '',
  presigned: false,
};

// Request ids: a random per-process prefix and a counter (unique, and no RNG call per request).
const ID_PREFIX = randomBytes(4).toString('hex').toUpperCase();
let idCounter = 0;
function requestId(): string {
  idCounter = (idCounter + 1) % 0x100000000;
  return ID_PREFIX + idCounter.toString(16).toUpperCase().padStart(8, '0');
}

/**
 * Parameters an operation reads every value of, in no order: MinIO's listen requests name their
 * events as `events=…&events=…` (mc watch sends three by default, minio-js one per event).
 */
const MULTI_VALUED: Partial<Record<Route['op'], ReadonlySet<string>>> = { ListenBucketNotification: new Set(['events']), ListenNotification: new Set(['events']) };

/** The first query parameter given more than once with different values (but `multi`), or undefined. */
export function conflictingParameter(query: URLSearchParams, multi?: ReadonlySet<string>): string | undefined {
  const seen = new Map<string, string>();
  for (const [name, value] of query) {
    if (multi?.has(name)) continue;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, value);
    else if (first !== value) return name;
  }
  return undefined;
}

export class HttpServer {
  private readonly deps: HttpServerDeps;
  /** The listening socket and the certificates it serves (listener.ts): listen, reload, report. */
  readonly listener: Listener;
  private readonly inFlight = new Set<Pending>();
  private idleWaiters: Array<() => void> = [];
  /** Set by close(): requests still arriving on open connections are turned away. */
  private closing = false;

  /**
   * S3's x-amz-id-2 and <HostId>: which server answered (boto3's ResponseMetadata.HostId, the
   * JavaScript SDK's extendedRequestId). As on MinIO, a hash naming the host and this instance's data directory.
   */
  private readonly hostId: string;

  /** Failures as S3 error answers, and their log lines (error-answer.ts). */
  private readonly errors: ErrorAnswers;
  /** The `request` lines S3_ACCESS_LOG selects (access-log.ts). */
  private readonly accessLog: AccessLog;

  /**
   * Connections closed for a repeated framing header, per client address: a client sends such
   * requests at will, so one line per address per 10 s, counting the closings it stands for.
   */
  private readonly smugglingLines = new KeyedLogLimit(10_000, { maxKeys: 1024 });

  constructor(deps: HttpServerDeps) {
    this.deps = deps;
    this.listener = new Listener(deps, (res, req) => this.onRequest(res, req));
    this.hostId = createHash('sha256').update(`${hostname()}\n${deps.config.dataDir}`).digest('hex');
    this.errors = new ErrorAnswers(deps, this.hostId);
    this.accessLog = new AccessLog(deps.config.accessLog, deps.log);
  }

  /** Closes the listening socket (new connections are refused); requests in flight go on. */
  stopAccepting(): void {
    this.closing = true;
    this.listener.stop();
  }

  /**
   * Graceful stop. Closes the listening socket (new connections are refused) and answers
   * requests arriving on kept-alive connections with 503. In-flight requests get `deadlineMs`
   * to finish. At the deadline, requests whose body is still arriving and responses still
   * streaming are cut: such an upload can no longer commit, and its handler removes its temp
   * file. Requests whose whole body has arrived are committing and get a short grace to do so
   * (cutting one mid-commit would leave a stored object its client saw fail); whatever still
   * runs after that is aborted too. Resolves once every handler has settled (or a last bound):
   * true when every handler finished.
   */
  async close(deadlineMs: number): Promise<boolean> {
    this.stopAccepting();
    await this.waitIdle(deadlineMs);
    for (const p of [...this.inFlight]) if (p.responding || !p.body?.complete) this.cut(p, 'shutdown deadline reached');
    await this.waitIdle(COMMIT_GRACE_MS);
    for (const p of [...this.inFlight]) this.cut(p, 'shutdown deadline reached');
    // Let handlers observe their abort and clean up (temp files) before the caller tears down.
    await this.waitIdle(CLEANUP_GRACE_MS);
    if (this.inFlight.size > 0) this.deps.log.warn({ requests: this.inFlight.size }, 'shutdown: handlers still running after the deadline');
    // Internal failures and access lines counted for a summary line not yet written: written now, or lost with the process.
    this.errors.flush();
    this.accessLog.flush();
    return this.inFlight.size === 0;
  }

  /** Resolves when no request is in flight, or after `ms`. */
  private async waitIdle(ms: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Aborts a request: its handler sees the abort signal and a failing body; the connection closes. */
  private cut(p: Pending, reason: string): void {
    if (!p.aborted) p.cutAtShutdown = true;
    abortRequest(p, new Error(reason));
    if (!p.aborted) {
      p.aborted = true;
      p.body?.onAbort();
      p.res.close();
    }
  }

  get activeRequests(): number {
    return this.inFlight.size;
  }

  private onRequest(res: HttpResponse, req: HttpRequest): void {
    const started = process.hrtime.bigint();
    const id = requestId();
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const rawPath = req.getUrl();
    // The one query string the router, the signature readers and the policy all read (requestQuery).
    const rawQuery = requestQuery(req.getQuery() ?? '');
    const head = readHead(req, rawQuery);
    const { headers, rawLength } = head;
    if (head.smuggling !== undefined) {
      // Two different Content-Length values (or two Host, Transfer-Encoding headers): uWS frames
      // the body by the first one and goes on to parse what follows it as the next request on the
      // connection, which a proxy in front that reads the other one sends as body: a request
      // smuggled past the proxy. An answer with Connection: close does not stop uWS from running
      // the requests already in its buffer; closing the socket here does (RFC 9112 6.3: an
      // unrecoverable error).
      // A warning: a client probing the front proxy, or a proxy that forwards what it should refuse.
      const address = remoteAddress(res);
      if (this.smugglingLines.hit(address)) {
        const closed = this.smugglingLines.take(address);
        this.deps.log.warn({ requestId: id, header: head.smuggling.header, remoteAddress: address, closed }, `connection closed: ${head.smuggling.why} (possible request smuggling; one line per client address per 10 s, closed: the connections it stands for)`);
      }
      res.close();
      return;
    }
    // Only a request with an Origin looks up its bucket's CORS rules, and none while draining: the
    // shutdown closes the metadata store while kept-alive connections still send requests, and a
    // look-up in the closed store threw here, in the uWS handler, which ends the process. Such a
    // request is only refused (503); S3_API_CORS_ALLOW_ORIGIN alone decides its CORS headers.
    const bucketRules = headers.origin === undefined || this.closing ? undefined : this.bucketCorsRules(rawPath, headers.host);
    const pending: Pending = {
      res,
      aborted: false,
      body: undefined,
      abortController: undefined,
      abortReason: undefined,
      bytesOut: 0,
      wakeWriter: undefined,
      responding: false,
      ended: false,
      rawLength,
      connectionClose: /(^|,)\s*close\s*(,|$)/i.test(headers.connection ?? ''),
      drain: undefined,
      cors: headers.origin === undefined ? undefined : responseCors(method, headers, this.deps.config.corsOrigins, bucketRules),
      subject: undefined,
      rawPath,
      tls: this.deps.config.tls !== null,
    };
    this.inFlight.add(pending);
    // The client (a trusted proxy's X-Forwarded-For and -Proto, else the TCP peer), read when first asked.
    const trusted = this.deps.config.trustedProxies;
    let client: Client | undefined;
    const clientInfo = (): Client => (client ??= clientOf(remoteAddress(res), headers, trusted, pending.tls));
    pending.client = () => (client !== undefined ? client.address : pending.aborted || pending.ended ? undefined : clientInfo().address);
    const secure = trusted.length === 0 ? pending.tls : clientInfo().secure;
    res.onAborted(() => {
      pending.aborted = true;
      abortRequest(pending, new Error('client disconnected'));
      pending.body?.onAbort();
      // A response held back until its rejected body was drained is settled now (see finish).
      pending.drain?.(new ArrayBuffer(0), true);
      const w = pending.wakeWriter;
      pending.wakeWriter = undefined;
      w?.();
    });

    const query = new URLSearchParams(rawQuery);
    let r: Route | undefined;
    let auth: AuthResult;
    const logFields: { op: string; bucket?: string; key?: string } = { op: 'Unknown' };
    const hasBody = (headers['content-length'] !== undefined && headers['content-length'] !== '0') || headers['transfer-encoding'] !== undefined;
    if (this.closing) {
      // Draining: a request on a kept-alive connection. Refuse it unread and close the connection.
      // Load balancers probing readiness on a kept-alive connection read why, as on a new one.
      try {
        // Logged and counted under what it asked for (an unroutable request stays Unknown).
        const asked = route({ method, rawPath, query, host: headers.host ?? '', headers }, this.deps.config.domains);
        Object.assign(logFields, { op: asked.op, bucket: asked.bucket, key: asked.key });
      } catch {
        // Unknown it is.
      }
      const err = new S3Error('ServiceUnavailable', 'The server is shutting down; retry on a new connection.', { headers: { 'x-s3d-not-ready': 'shutting down' } });
      this.finish(pending, this.errors.result(err, id, rawPath, pending, logFields.op), id, started, logFields, method, true, 0);
      return;
    }
    if (method === 'OPTIONS') {
      // S3 takes every OPTIONS as a CORS preflight. Browsers send them without credentials:
      // answered before routing and authentication.
      logFields.op = 'CorsPreflight';
      let result: Result;
      try {
        result = preflight(headers, this.deps.config.corsOrigins, bucketRules, namesObject(rawPath, headers.host ?? '', this.deps.config.domains) ? 'OBJECT' : 'BUCKET');
      } catch (err) {
        result = this.errors.result(err, id, rawPath, pending, logFields.op);
      }
      this.finish(pending, result, id, started, logFields, method, hasBody, 0);
      return;
    }
    // What an error names before routing says more: the method (a 405's Method, as S3 writes it).
    pending.subject = { method, query };
    try {
      // Path-style, GET /metrics is a ListObjects of the bucket "metrics" (and the router says so);
      // unsigned, it could only ever be AccessDenied, so it is the Prometheus scrape instead.
      const scrape = method === 'GET' && rawPath === '/metrics' && rawQuery === '' && !isAwsAuthorization(headers.authorization) && bucketFromHost(headers.host ?? '', this.deps.config.domains) === undefined;
      r = scrape ? { op: 'Metrics' } : this.routeAuthenticated({ method, rawPath, query, rawQuery, host: headers.host ?? '', headers });
      logFields.op = r.op;
      logFields.bucket = r.bucket;
      logFields.key = r.key;
      pending.subject = { method, bucket: r.bucket, key: r.key, query };
      // A header section past S3's bound, or a header name HTTP does not allow (request-head.ts).
      const refused = headError(head);
      if (refused !== undefined) throw refused;
      // What the request asks for, x-amz-* query parameters included (see withQueryAmzHeaders):
      // policies judge that (an s3:x-amz-server-side-encryption condition must see a query's
      // SSE), while signatures are checked on the request as sent.
      const asked = withQueryAmzHeaders(headers, query);
      // Health and metrics read no credentials but AWS's: a MinIO scrape job's bearer_token (or a
      // balancer's Basic auth) got 400 "Unsupported Authorization Type", the target down. A form
      // upload authenticates with the signed policy inside its body (ops/post-object.ts).
      if (ANONYMOUS_OPERATIONS.has(r.op) ? !isAwsAuthorization(headers.authorization) : r.op === 'PostObject' && authKind({ method, rawPath, rawQuery, headers }) === 'none') {
        auth = ANONYMOUS_CREDENTIALS;
      } else if (r.op === 'STS') {
        // STS signs its form body's hash without sending it: ops/sts.ts reads the body, then authenticates.
        auth = ANONYMOUS_CREDENTIALS;
      } else if (this.deps.anonymous !== undefined && authKind({ method, rawPath, rawQuery, headers }) === 'none' && this.deps.anonymous({ route: r, query, headers: asked, remoteAddress: clientInfo().address, secure })) {
        // Unsigned, and the bucket's policy admits it: no identity; the body checked as its
        // x-amz-content-sha256 says (a hash, an unsigned trailer), as S3 checks it.
        const payloadHash = headers['x-amz-content-sha256'];
        auth = payloadHash === undefined ? ANONYMOUS_CREDENTIALS : { ...ANONYMOUS_CREDENTIALS, payload: anonymousPayloadMode(payloadHash) };
      } else {
        auth = authenticate({ method, rawPath, rawQuery, headers }, this.deps.credentials, {
          region: this.deps.config.region,
          anyRegion: r.op === 'GetBucketLocation' || r.op === 'ListBuckets',
          sigV2: this.deps.config.sigV2,
          virtualHostBucket: r.virtualHost === true ? r.bucket : undefined,
          ...(this.deps.sessions !== undefined ? { sessions: this.deps.sessions } : {}),
        });
        // A user other than root does only what the policies allow (ops/policy.ts).
        if (this.deps.authorize !== undefined && auth.accessKeyId !== this.deps.config.rootUser) {
          if (!this.deps.authorize({ route: r, query, headers: asked, remoteAddress: clientInfo().address, secure, accessKey: auth.accessKeyId })) throw new S3Error('AccessDenied');
        }
      }
      // A parameter given twice with different values (once the signature is checked, whose own
      // refusals come first): s3d acts on the first, and SigV4's canonical query sorts the pairs
      // by value, so the signature covers either order (a request signed for ?prefix=a&prefix=b
      // also passed as ?prefix=b&prefix=a and listed b).
      const repeated = conflictingParameter(query, MULTI_VALUED[r.op]);
      if (repeated !== undefined) throw new S3Error('InvalidArgument', `The query parameter ${JSON.stringify(repeated)} is given more than once with different values.`, { fields: { ArgumentName: repeated } });
      if (!secure && !isSecureAllowed(headers, query)) {
        throw new S3Error('InvalidRequest', 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.');
      }
      // From here on the handlers see them as headers too; but for STS, which authenticates in its
      // handler (ops/sts.ts) and must see the headers as signed: a query's x-amz-acl there was an
      // unsigned header, and every such request 403.
      if (asked !== headers && r.op !== 'STS') Object.assign(headers, asked);
    } catch (err) {
      const result = this.errors.result(err, id, rawPath, pending, logFields.op);
      // "Regardless of the permissions on the bucket" (HeadBucket): clients find a bucket's region
      // with an unsigned HEAD (the SDK for Go's manager.GetBucketRegion), and get it from the 403.
      if (r?.op === 'HeadBucket' && r.bucket !== undefined && this.deps.bucketExists?.(r.bucket) === true) {
        result.headers = { ...result.headers, 'x-amz-bucket-region': this.deps.config.region };
      }
      this.finish(pending, result, id, started, logFields, method, hasBody, 0);
      return;
    }

    let declared: number | undefined;
    const decodedHeader = headers['x-amz-decoded-content-length'];
    const streaming = auth.payload.kind === 'streaming-signed' || auth.payload.kind === 'streaming-unsigned-trailer';
    // x-amz-decoded-content-length is the length of an aws-chunked body only: on a plain one S3
    // ignores it and stores the Content-Length bytes (so does MinIO). Taken as the length there, a
    // header that said less or more refused a whole body, and one over 5 GiB a small one.
    const decodedLength = decodedHeader !== undefined && /^\s*\d{1,16}\s*$/.test(decodedHeader) ? Number(decodedHeader) : undefined;
    if (streaming && decodedLength !== undefined) declared = decodedLength;
    else if (!streaming && headers['content-length'] !== undefined) declared = Number(headers['content-length']);
    let decoder: PayloadDecoder;
    try {
      // An aws-chunked body must say how long it decodes to, whatever frames it (Content-Length or
      // Transfer-Encoding: chunked): S3's 411, which the SDK for Go's checksum tests expect, in S3's
      // words (which mean x-amz-decoded-content-length), for a length that is not a number too
      // (OpenStack Swift's AWS-run test_input_errors.py).
      if (streaming && decodedLength === undefined) throw new S3Error('MissingContentLength');
      // aws-chunked framing is decoded only in a STREAMING-* payload mode. With UNSIGNED-PAYLOAD
      // chunk sizes and signatures would be stored as object data under a 200: S3 refuses it (400
      // InvalidArgument in its words, as versitygw recorded them, versity/versitygw#2400); MinIO
      // stores it. A body signed by its SHA-256 is the body the client meant, so S3 stores it,
      // Content-Encoding as sent (OpenStack Swift's AWS-run tests; ops/object-headers.ts).
      if (auth.payload.kind === 'unsigned' && /(?:^|,)\s*aws-chunked\s*(?:,|$)/i.test(headers['content-encoding'] ?? '')) {
        throw new S3Error('InvalidArgument', 'aws-chunked encoding is not supported when x-amz-content-sha256 UNSIGNED-PAYLOAD is supplied', {
          fields: { ArgumentName: 'Content-Encoding', ArgumentValue: headers['content-encoding']! },
        });
      }
      // CompleteMultipartUpload's x-amz-checksum-* headers are the object's checksum (ops/multipart-complete.ts), not the XML body's.
      // It and DeleteObjects name a wrong Content-MD5 in base64 (S3's BadDigest there).
      const complete = r.op === 'CompleteMultipartUpload';
      const options = complete || r.op === 'DeleteObjects' ? { ignoreChecksumHeaders: complete, expectedDigestBase64: true } : r.op === 'PutObject' || r.op === 'UploadPart' ? DEFAULT_CHECKSUM_PAYLOAD : undefined;
      decoder = createPayloadDecoder(auth, headers, options);
    } catch (err) {
      // Malformed body headers (Content-MD5, x-amz-checksum-*, x-amz-trailer, …): a client fault.
      this.finish(pending, this.errors.result(err, id, rawPath, pending, logFields.op), id, started, logFields, method, hasBody, 0);
      return;
    }
    // uWS keeps delivering onData after an early response; the response object is dead by then.
    const live = (): boolean => !pending.aborted && !pending.ended;
    const body = new UwsRequestBody(
      decoder,
      {
        pause: () => {
          if (live()) res.pause();
        },
        resume: () => {
          if (live()) res.resume();
        },
      },
      declared,
    );
    pending.body = body;
    if (hasBody) {
      res.onData((chunk, isLast) => {
        if (pending.drain !== undefined) pending.drain(chunk, isLast);
        else body.onRaw(chunk, isLast);
      });
    }
    else body.markEmpty();

    const ctx: RequestContext = {
      requestId: id,
      hostId: this.hostId,
      op: r.op,
      bucket: r.bucket,
      key: r.key,
      method,
      rawPath,
      query,
      rawQuery,
      headers,
      secure,
      body,
      get signal() {
        if (!pending.abortController) {
          pending.abortController = new AbortController();
          if (pending.abortReason) pending.abortController.abort(pending.abortReason);
        }
        return pending.abortController.signal;
      },
      accessKey: auth.accessKeyId,
      // Asked only when a notification event is staged, before the response (uWS forbids later access).
      get remoteAddress() {
        return client?.address ?? (live() ? clientInfo().address : '');
      },
    };
    this.deps.dispatch(ctx).then(
      (result) => this.finish(pending, result, id, started, logFields, method, !body.complete, result.bytesIn ?? decoder.decodedBytes),
      (err: unknown) => this.finish(pending, this.errors.result(err, id, rawPath, pending, logFields.op), id, started, logFields, method, !body.complete, decoder.decodedBytes),
    );
  }

  /**
   * The request's route. A signed HEAD of the service is authenticated before its 405: S3 answers
   * a SigV4 one without x-amz-content-sha256 (or with an invalid one) 400, with one 405 (OpenStack
   * Swift's AWS-run test_input_errors.py). An unsigned or presigned one is 405 as before.
   */
  private routeAuthenticated(input: Parameters<typeof route>[0]): Route {
    try {
      return route(input, this.deps.config.domains);
    } catch (err) {
      if (input.method === 'HEAD' && err instanceof S3Error && err.fields.ResourceType === 'SERVICE' && isAwsAuthorization(input.headers.authorization)) {
        authenticate({ ...input, rawQuery: input.rawQuery ?? '' }, this.deps.credentials, { region: this.deps.config.region, anyRegion: true, sigV2: this.deps.config.sigV2, ...(this.deps.sessions !== undefined ? { sessions: this.deps.sessions } : {}) });
      }
      throw err;
    }
  }

  /** The CORS rules of the bucket the request names, when it has some. */
  private bucketCorsRules(rawPath: string, host: string | undefined): readonly CorsRule[] | undefined {
    if (this.deps.bucketCors === undefined) return undefined;
    const bucket = bucketOf(rawPath, host ?? '', this.deps.config.domains);
    return bucket === undefined ? undefined : this.deps.bucketCors(bucket);
  }

  private finish(
    p: Pending,
    result: Result,
    id: string,
    started: bigint,
    fields: { op: string; bucket?: string; key?: string },
    method: string,
    closeConnection: boolean,
    bytesIn: number,
  ): void {
    // Read now, while the response can still be asked (uWS forbids it once ended), for the access line.
    const clientAddress = this.accessLog.wants(result.status, p.aborted) || p.aborted ? p.client?.() : undefined;
    const done = (bytesOut: number, status = result.status, cut?: ResponseCut, extra?: { outcome?: number; cutAtShutdown?: true }): void => {
      p.ended = true;
      this.inFlight.delete(p);
      if (this.inFlight.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.deps.observe?.({ op: fields.op, status, bytesIn, bytesOut, seconds, cut, ...(p.tampered || cut === 'tampered' ? { tampered: true } : {}) });
      // Asked first: most requests get no line, and their answer builds none.
      if (this.accessLog.wants(status, p.aborted)) {
        this.accessLog.write({
          requestId: id, op: fields.op, bucket: fields.bucket, key: fields.key, status,
          code: status === result.status ? result.error?.code : undefined,
          client: clientAddress, ...extra, bytesIn, bytesOut, durationMs: Math.round(seconds * 1e6) / 1e3, aborted: p.aborted || undefined, cut,
        });
      }
    };
    const discardFailed = (err: unknown): void => this.deps.log.warn({ requestId: id, op: fields.op, bucket: fields.bucket, key: fields.key, err }, 'closing a response body nothing read failed');
    if (p.aborted) {
      if (isStream(result.body)) discardBody(result.body, discardFailed);
      // Nothing was answered: the client closed the connection first (nginx's 499), not the 400
      // or 500 its cut-short body made the handler fail with. A handler that succeeded all the
      // same puts its status in the line as `outcome`: a PUT with outcome 200 committed (its
      // whole body had arrived) though its client never heard so.
      done(0, CLIENT_CLOSED, undefined, { ...(result.status < 400 ? { outcome: result.status } : {}), ...(p.cutAtShutdown ? { cutAtShutdown: true } : {}) });
      return;
    }
    const res = p.res;
    // A HEAD's error has no body to name it: MinIO sends its code and message as headers, and
    // minio-go (mc) and minio-js read them there; without them minio-go guessed from the status
    // (any 403 AccessDenied, a missing bucket NoSuchKey, a 400 "400 Bad Request"). They are the
    // response's own headers, so the server-wide CORS exposes them with the rest.
    const own = method === 'HEAD' && result.error !== undefined
      ? { ...result.headers, 'x-minio-error-code': result.error.code, 'x-minio-error-desc': `"${result.error.message}"` }
      : (result.headers ?? {});
    const headers = p.cors === undefined ? own : p.cors(own);
    // While draining, no connection is kept alive for another request.
    if (this.closing) closeConnection = true;
    else if (closeConnection && p.drain === undefined) {
      const drainable = p.rawLength === 'chunked' || (p.rawLength !== undefined && p.rawLength <= DRAIN_MAX_BYTES);
      if (drainable && p.rawLength !== 'chunked' && !p.connectionClose) {
        // Known length: answer now, keep the connection, drop the rest of the body as it comes.
        closeConnection = false;
        drainBody(p, undefined);
      } else if (drainable) {
        // Unknown length: hold the answer until the body ends (then keep the connection) or
        // passes the bound (then close it); uWS cannot close a connection after the response.
        // `Connection: close` (Node's http client without an agent, curl --no-keepalive): uWS
        // closes right after the response, and closing on unread body bytes sends a reset that
        // can destroy the answer before the client reads it: hold it until the body is in.
        drainBody(p, (close) => this.finish(p, result, id, started, fields, method, close, bytesIn));
        return;
      }
    }
    const writeHead = (): void => {
      res.writeStatus(statusLine(result.status));
      res.writeHeader('x-amz-request-id', id);
      res.writeHeader('x-amz-id-2', this.hostId);
      res.writeHeader('server', 's3d');
      for (const [k, v] of Object.entries(headers)) writeHeaderSafely(res, k, v, result.latin1Headers?.includes(k));
    };
    const body = result.body;
    if (method === 'HEAD' || result.status === 304 || result.status === 204) {
      res.cork(() => {
        writeHead();
        // Never pass `undefined` as the length: this uWS build then sends "Content-Length:
        // 9223372036854775808" and the kept-alive connection breaks on the next request.
        // No argument at all means no Content-Length (204, 304).
        let length: number | undefined;
        if (result.status !== 304 && result.status !== 204) {
          if (result.headLength !== undefined) length = result.headLength;
          else if (typeof body === 'string') length = Buffer.byteLength(body);
          else if (Buffer.isBuffer(body)) length = body.length;
          else length = 0;
        }
        if (closeConnection) res.endWithoutBody(length ?? 0, true);
        else {
          // endWithoutBody(n > 0) makes this uWS build drop the kept-alive connection after the
          // response (the next request on it fails): state the length ourselves instead.
          if (length !== undefined) res.writeHeader('content-length', String(length));
          res.endWithoutBody();
        }
      });
      if (isStream(body)) discardBody(body, discardFailed);
      done(0);
      return;
    }
    if (!isStream(body)) {
      const payload = body === undefined ? '' : body;
      res.cork(() => {
        writeHead();
        res.end(payload, closeConnection);
      });
      done(typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
      return;
    }
    p.responding = true;
    const headersOut = { value: false };
    // A client that left before the status line went out (while the first chunk was read) got
    // no answer: a 499 as above, not the status it never saw. Handed to uWS is not gone out: a
    // head written as the socket closed, of which the socket took nothing, is a 499 too (CI
    // caught a 200 with no byte out).
    const gone = (sent: number): void => (headersOut.value && sent > 0 ? done(sent) : done(sent, CLIENT_CLOSED, undefined, p.cutAtShutdown ? { cutAtShutdown: true } : undefined));
    void streamBody(p, body, () => {
      headersOut.value = true;
      writeHead();
    }).then((sent) => (p.aborted ? gone(sent) : done(sent)), (err: unknown) => {
      if (!headersOut.value && !p.aborted) {
        // Nothing sent yet (e.g. the first package failed authentication): a real S3 error, whose
        // Resource is the path as sent, as every other error's (the decoded key was another text
        // for a key that needs encoding, and named no bucket in a virtual-hosted request's terms).
        p.responding = false;
        this.finish(p, this.errors.result(err, id, p.rawPath, p, fields.op), id, started, fields, method, closeConnection, bytesIn);
        return;
      }
      if (p.aborted) {
        // The client went first; the body's failure is only the consequence. What it got counts.
        gone(p.bytesOut);
        return;
      }
      // Headers are out: the only honest signal left is to cut the connection short. The client
      // sees fewer bytes than Content-Length announced (the SDKs raise an error).
      const cut: ResponseCut = isTampered(err) ? 'tampered' : 'failed';
      const sent = res.getWriteOffset();
      const where = { requestId: id, op: fields.op, bucket: fields.bucket, key: fields.key, bytesSent: sent };
      if (cut === 'tampered') {
        if (this.errors.firstInTen(`cut ${fields.bucket}/${fields.key}`)) this.deps.log.error({ ...where, err }, 'object data failed authentication after the response began (modified on disk?): connection closed after the authenticated bytes');
      } else if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        // A data file opened as the read reached it (a part of a many-part object), gone though
        // the read pinned it: lost under its record, an error as it is when found before the head
        // (ops/object.ts: a 500 InternalError, "The data of … is missing").
        this.errors.internal('error', 'object data is missing (a data file named by its record is gone) after the response began: connection closed', err, where, fields.op);
      } else {
        // A failing disk cuts every GET alike: a few lines a minute per kind, the rest counted (ErrorAnswers.internal).
        this.errors.internal('warn', 'response stream failed after the response began: connection closed', err, where, fields.op);
      }
      p.aborted = true;
      res.close();
      done(sent, result.status, cut);
    });
  }

}

function abortRequest(p: Pending, reason: Error): void {
  p.abortReason ??= reason;
  p.abortController?.abort(reason);
}

/**
 * The TCP peer's IP address as usually written: uWS spells the peers of an IPv6 listener as eight
 * groups of four digits, an IPv4 client of a dual-stack socket among them.
 */
function remoteAddress(res: HttpResponse): string {
  return canonicalIp(Buffer.from(res.getRemoteAddressAsText()).toString('latin1'));
}

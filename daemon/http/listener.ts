// The listening socket and the certificates it serves: listens on S3_ADDRESS (on IPv4 alone where
// `::` fails for want of IPv6), holds its port exclusively, and on a reload swaps in new TLS
// certificates without dropping a connection. server.ts gives it the handler of every request.

import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { bindError, listenFailure, noIpv6 } from './listen-failure.js';
import { loadUws } from './uws.js';
import { checkTlsSet, domainSummaries, refuseExpiredSet, reportTlsSet, sniApp, type CheckedTlsSet } from './tls-sni.js';

/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT. */
const LISTEN_EXCLUSIVE_PORT = 1;

export class Listener {
  private readonly deps: { config: Config; log: Logger };
  private readonly handler: (res: HttpResponse, req: HttpRequest) => void;
  private app: TemplatedApp | undefined;
  private listenSocket: us_listen_socket | undefined;
  /**
   * Apps a certificate change replaced, serving the connections they had. uWebSockets.js keeps
   * every app until the process ends (~40 KiB each, closed or not): a reload with the same files
   * builds none (a SIGHUP also reloads S3_IAM_FILE, which may be all that changed).
   */
  private readonly retiredApps: TemplatedApp[] = [];
  /** The certificates the listener serves (the default one and the per-domain ones), as checked. */
  private tls: CheckedTlsSet | undefined;
  /** Set by stop(): a reload then refuses, rather than listen again. */
  private stopped = false;
  port = 0;
  /** The address listened on: S3_ADDRESS's, or its fallback (Config.hostFallback) when that failed. */
  host: string;

  constructor(deps: { config: Config; log: Logger }, handler: (res: HttpResponse, req: HttpRequest) => void) {
    this.deps = deps;
    this.handler = handler;
    this.host = deps.config.host;
  }

  /** An app serving `set` (the bytes checkTlsSet checked) over TLS when TLS is configured, else plain HTTP. */
  private createApp(set: CheckedTlsSet | undefined): TemplatedApp {
    const uws = loadUws();
    const { tls } = this.deps.config;
    // Never plain HTTP for want of the checked bytes when TLS is configured.
    if (tls && !set) throw new Error('TLS is configured but no checked certificate was given');
    if (tls) return sniApp(uws, tls, set!, this.handler, this.deps.log);
    return uws.App().any('/*', this.handler);
  }

  /**
   * Listens on S3_ADDRESS with the port held exclusively: a second daemon started on the same port
   * fails instead of silently sharing it (uSockets sets SO_REUSEPORT otherwise, and the kernel
   * would split connections between two daemons with different data).
   */
  private listenApp(app: TemplatedApp, port: number): Promise<us_listen_socket | false> {
    // The native binding takes (host, port, options, cb); the published typings lack that overload.
    const listen = app.listen.bind(app) as unknown as (host: string, port: number, options: number, cb: (s: us_listen_socket | false) => void) => void;
    return new Promise((resolve) => listen(this.host, port, LISTEN_EXCLUSIVE_PORT, resolve));
  }

  /**
   * S3_ADDRESS `:PORT` where `::` could not be listened on: IPv4 alone (Config.hostFallback), if
   * that is because the machine has no IPv6. Else false, and listen() reports why `::` failed.
   */
  private async listenFallback(app: TemplatedApp): Promise<us_listen_socket | false> {
    const { config, log } = this.deps;
    if (config.hostFallback === undefined) return false;
    const code = await bindError(this.host, config.port);
    if (!noIpv6(code)) return false;
    log.warn({ code }, `S3_ADDRESS :${config.port}: IPv6 is not available here, so s3d listens on ${config.hostFallback} (IPv4 only)`);
    this.host = config.hostFallback;
    return this.listenApp(app, config.port);
  }

  /** Loads the certificates (when TLS is configured) and listens; resolves with the port. */
  async listen(): Promise<number> {
    const uws = loadUws();
    const { config } = this.deps;
    let set: CheckedTlsSet | undefined;
    if (config.tls) {
      set = checkTlsSet(config.tls);
      this.tls = set;
      this.deps.log.info({ certFile: config.tls.certFile, ...set.main.certificate }, 'TLS certificate loaded');
      for (const d of domainSummaries(set)) this.deps.log.info(d, 'TLS certificate for server names loaded');
      this.reportTlsValidity();
    }
    const app = this.createApp(set);
    let socket = (await this.listenApp(app, config.port)) || (await this.listenFallback(app));
    if (!socket) throw await listenFailure(this.host, config.port);
    this.port = uws.us_socket_local_port(socket);
    if (config.port === 0) {
      // A port the kernel picked cannot be bound again while connections use it; bound by number,
      // it can (what a TLS reload does). Rebind by number now, before any connection exists.
      uws.us_listen_socket_close(socket);
      socket = await this.listenApp(app, this.port);
      if (!socket) throw new Error(`cannot listen on ${this.host}:${this.port} (S3_ADDRESS)`);
    }
    this.app = app;
    this.listenSocket = socket;
    return this.port;
  }

  /**
   * Reloads the TLS certificates and keys from S3_CERTS_DIR, the default one and the per-domain
   * ones of its sub-directories (SIGHUP, `systemctl reload s3d`), without dropping a connection: a
   * new listener serves new connections with the new certificates, open connections finish on the
   * old ones. A certificate that cannot be used, or an expired one replacing a valid one, is
   * reported and all the old ones stay. Resolves with what was loaded, or throws with the reason
   * nothing changed.
   */
  async reloadTls(): Promise<{ subject: string; validTo: string; fingerprint: string; unchanged?: true; domains?: ReturnType<typeof domainSummaries> }> {
    const uws = loadUws();
    const { config, log } = this.deps;
    if (!config.tls) throw new Error('TLS is not configured (S3_CERTS_DIR): nothing to reload');
    if (this.stopped || !this.listenSocket || !this.app) throw new Error('the server is not listening');
    const set = checkTlsSet(config.tls);
    const { certificate } = set.main;
    // The same files: the listener stays (replacing it resets connections arriving that instant).
    if (set.files === this.tls?.files) {
      this.reportTlsValidity();
      return { ...certificate, unchanged: true };
    }
    refuseExpiredSet(set, this.tls);
    const app = this.createApp(set);
    // The port is exclusive: release it and take it again at once (both calls are synchronous, so
    // no connection attempt lands in between); if that fails, the old listener comes back.
    uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
    const socket = await this.listenApp(app, this.port);
    if (!socket) {
      const again = await this.listenApp(this.app, this.port);
      if (!again) {
        // Without a listener the daemon serves nobody: exit so systemd restarts it (what was in
        // flight is crash-safe and swept at the next start).
        log.fatal({ port: this.port }, 'TLS reload: the port could be taken neither with the new certificate nor again with the old one: exiting');
        process.exit(1);
      }
      this.listenSocket = again;
      throw new Error(`cannot listen on port ${this.port} with the new certificate: kept the old one`);
    }
    // The old app keeps serving its open connections until they close.
    this.retiredApps.push(this.app);
    this.app = app;
    this.listenSocket = socket;
    this.tls = set;
    this.reportTlsValidity();
    return { ...certificate, ...(set.domains.length > 0 ? { domains: domainSummaries(set) } : {}) };
  }

  /**
   * The served certificates' notAfter in Unix seconds (s3d_tls_certificate_expiry_timestamp_seconds):
   * the default one's, and each sub-directory's by its name; undefined without TLS.
   */
  get tlsCertificateExpiry(): { default: number; domains: Array<[dir: string, notAfter: number]> } | undefined {
    if (this.tls === undefined) return undefined;
    const seconds = (v: { notAfterMs: number }): number => Math.floor(v.notAfterMs / 1000);
    return { default: seconds(this.tls.main.validity), domains: this.tls.domains.map((d) => [d.dir, seconds(d.checked.validity)]) };
  }

  /**
   * Logs an expired, not yet valid or soon expiring certificate (error, error, warn), a private
   * key every user may read and an RSA key too small: at each load or reload, and twice a day (cli.ts).
   */
  reportTlsValidity(): void {
    if (this.tls === undefined || !this.deps.config.tls) return;
    reportTlsSet(this.deps.log, this.tls, this.deps.config.tls);
  }

  /** Closes the listening socket: new connections are refused. */
  stop(): void {
    this.stopped = true;
    if (this.listenSocket) {
      loadUws().us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
  }
}

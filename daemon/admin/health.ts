// Health probes (MinIO paths): live = the process serves; ready = it can take traffic, which
// includes a data directory that takes writes and a reachable KMS when one is configured; the
// cluster probes, as MinIO answers them for a single node. Also the
// Prometheus scrape endpoint, behind a bearer token (of the root user or a user allowed
// admin:Prometheus) unless S3_PROMETHEUS_AUTH_TYPE=public.

import type { KeyProvider } from '../kms/provider.js';
import type { Result } from '../ops/types.js';
import type { WriteVerdict } from '../storage/write-probe.js';
import { S3Error } from '../errors.js';
import { metricsTokenUser, type PrometheusAuth } from './metrics-auth.js';
import type { Metrics } from './metrics.js';

export async function handleHealthLive(): Promise<Result> {
  return { status: 200 };
}

/** How long one KMS readiness verdict is reused: the probe is anonymous and fans out to every KES endpoint. */
export const READY_MEMO_MS = 1_000;

export interface KmsReadiness {
  ready: boolean;
  reason?: string;
}

/**
 * Readiness of the KMS, asked at most once per `memoMs` however many probes arrive (concurrent
 * probes share one check). KES: ready once the default key is known to exist and at least one
 * endpoint answers `/v1/status` with a reachable keystore; not ready ('KMS access denied') while
 * KES refuses s3d's identity.
 */
export function kmsReadiness(kms: KeyProvider | null, opts: { memoMs?: number; now?: () => number } = {}): () => Promise<KmsReadiness> {
  const memoMs = opts.memoMs ?? READY_MEMO_MS;
  // Monotonic: after the wall clock stepped back, a verdict would stay memoised as long as the step.
  const now = opts.now ?? (() => performance.now());
  let last: { at: number; verdict: KmsReadiness } | undefined;
  let flight: Promise<KmsReadiness> | undefined;
  const check = async (): Promise<KmsReadiness> => {
    if (!kms) return { ready: true };
    try {
      const s = await kms.status({ anyOnline: true });
      if (s.ready) return { ready: true };
      // Refused by KES (403): as unusable as unreachable, and no retry by clients will fix it.
      if (s.denied !== undefined) return { ready: false, reason: 'KMS access denied' };
      const offline = s.endpoints.filter((e) => !e.online);
      if (offline.length === s.endpoints.length) return { ready: false, reason: 'KMS unreachable' };
      return { ready: false, reason: 'KMS default key not ready' };
    } catch {
      return { ready: false, reason: 'KMS unreachable' };
    }
  };
  return () => {
    if (last && now() - last.at < memoMs) return Promise.resolve(last.verdict);
    flight ??= check().then((verdict) => {
      last = { at: now(), verdict };
      flight = undefined;
      return verdict;
    });
    return flight;
  };
}

export async function handleHealthReady(kms: (() => Promise<KmsReadiness>) | KeyProvider | null, shuttingDown: () => boolean, dataDir?: () => Promise<WriteVerdict>): Promise<Result> {
  if (shuttingDown()) return { status: 503, headers: { 'x-s3d-not-ready': 'shutting down' } };
  const data = await dataDir?.();
  if (data !== undefined && !data.writable) return { status: 503, headers: { 'x-s3d-not-ready': `data directory not writable (${data.code})` } };
  const readiness = typeof kms === 'function' ? kms : kmsReadiness(kms, { memoMs: 0 });
  const verdict = await readiness();
  if (!verdict.ready) return { status: 503, headers: { 'x-s3d-not-ready': verdict.reason ?? 'KMS unreachable' } };
  return { status: 200 };
}

/**
 * MinIO's cluster probes: `/minio/health/cluster` (write quorum: what ready checks) and
 * `/minio/health/cluster/read` (read quorum: as ready, but a data directory that takes no writes
 * still serves reads). With `?maintenance=true` the question is whether this node may be taken
 * down without losing service: MinIO counts the other nodes' drives alone, so a single node
 * answers 412 Precondition Failed whatever its state, and so does s3d, which has no other node.
 */
export async function handleHealthCluster(kms: (() => Promise<KmsReadiness>) | KeyProvider | null, shuttingDown: () => boolean, dataDir: (() => Promise<WriteVerdict>) | undefined, opts: { maintenance: boolean; read: boolean }): Promise<Result> {
  if (opts.maintenance) return { status: 412, headers: { 'x-s3d-not-ready': 'single node: taking it down stops the service' } };
  return handleHealthReady(kms, shuttingDown, opts.read ? undefined : dataDir);
}

/** What the metrics ask of a scrape under S3_PROMETHEUS_AUTH_TYPE=jwt. */
export interface MetricsAuth {
  readonly type: PrometheusAuth;
  readonly authorization: string | undefined;
  /** The access key that signed the request for AWS (checked before the handler runs); '' unsigned. */
  readonly signer: string;
  /** The secret key of the root user or an S3_IAM_FILE user (not temporary credentials), else undefined. */
  secretOf(accessKey: string): string | undefined;
  /** Whether the access key's policies allow admin:Prometheus (the root user's always do). */
  mayScrape(accessKey: string): boolean;
}

/**
 * The Prometheus scrape. With S3_PROMETHEUS_AUTH_TYPE=jwt (the default), as MinIO's AuthMiddleware
 * (cmd/metrics.go): a bearer token (metrics-auth.ts), or a request signed for AWS (`signer`), of
 * the root user or of a user whose policies allow `admin:Prometheus`; anything else is 403
 * AccessDenied, saying why. Judged at each scrape: a user removed from S3_IAM_FILE, or whose
 * policy no longer allows it, is refused from the next reload on, whatever token it was given.
 */
export async function handleMetrics(metrics: Metrics, auth: MetricsAuth): Promise<Result> {
  if (auth.type === 'jwt') {
    let accessKey = auth.signer;
    if (accessKey === '') {
      const who = metricsTokenUser(auth.authorization, (k) => auth.secretOf(k));
      if ('problem' in who) throw new S3Error('AccessDenied', `The metrics need a bearer token of the root user or of a user allowed admin:Prometheus (S3_PROMETHEUS_AUTH_TYPE=jwt; s3d metrics-token prints one): ${who.problem}.`);
      accessKey = who.accessKey;
    }
    if (!auth.mayScrape(accessKey)) throw new S3Error('AccessDenied', `The metrics need a bearer token of the root user or of a user allowed admin:Prometheus (S3_PROMETHEUS_AUTH_TYPE=jwt): no policy of ${JSON.stringify(accessKey)} allows admin:Prometheus.`);
  }
  const { contentType, body } = await metrics.render();
  return { status: 200, headers: { 'content-type': contentType }, body };
}

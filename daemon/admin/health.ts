// Health probes (MinIO paths): live = the process serves; ready = it can take traffic, which
// includes a reachable KMS when one is configured. Also the Prometheus scrape endpoint.

import type { KeyProvider } from '../kms/provider.js';
import type { Result } from '../ops/types.js';
import type { Metrics } from './metrics.js';

export async function handleHealthLive(): Promise<Result> {
  return { status: 200 };
}

export async function handleHealthReady(kms: KeyProvider | null, shuttingDown: () => boolean): Promise<Result> {
  if (shuttingDown()) return { status: 503, headers: { 'x-s3d-not-ready': 'shutting down' } };
  if (kms) {
    try {
      const s = await kms.status();
      if (!s.ready) return { status: 503, headers: { 'x-s3d-not-ready': 'KMS unreachable' } };
    } catch {
      return { status: 503, headers: { 'x-s3d-not-ready': 'KMS unreachable' } };
    }
  }
  return { status: 200 };
}

export async function handleMetrics(metrics: Metrics): Promise<Result> {
  const { contentType, body } = await metrics.render();
  return { status: 200, headers: { 'content-type': contentType }, body };
}

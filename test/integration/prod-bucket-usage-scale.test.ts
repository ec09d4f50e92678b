// The per-bucket usage metrics of a store of many buckets: a scrape renders five series per
// bucket, and must give the event loop back while it does (admin/metrics.ts). Through prom-client
// a scrape held every request back ~20 µs a bucket (100,000 buckets: ~2 s at each scrape). Proved
// by probes answered while one scrape is in flight, not by timing.

import t from 'tap';
import http from 'node:http';
import { join } from 'node:path';
import { MetaStore } from '../../daemon/meta/store.js';
import { startDaemon } from '../helpers/daemon.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { pollUntil } from '../helpers/wait.js';

const N = 20_000;

/** GET `path` on a kept-alive connection of its own; the body's length. */
function get(port: number, path: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

t.test(`a scrape of ${N} buckets' usage serves other requests meanwhile`, async (t) => {
  const first = await startDaemon({ env: { S3_USAGE_SCAN_INTERVAL: 'off' } });
  t.teardown(() => first.cleanup());
  await first.stop();
  const fill = new MetaStore(join(first.dataDir, '.s3d'));
  for (let i = 0; i < N; i += 2000) await Promise.all(Array.from({ length: 2000 }, (_, j) => fill.createBucket(`b-${String(i + j).padStart(5, '0')}`)));
  await fill.close();
  const d = await startDaemon({ dataDir: first.dataDir, env: { S3_USAGE_SCAN_INTERVAL: '1h' } });
  t.teardown(() => d.stop());
  // The first scan runs 5 s after start-up.
  const text = await pollUntil(() => scrape(d.endpoint), (text) => (metricSample(text, 's3d_usage_scan_timestamp_seconds') ?? 0) > 0, 20_000, 200);
  t.equal(metricSample(text, 's3d_bucket_objects', { bucket: `b-${String(N - 1).padStart(5, '0')}` }), 0, 'the last bucket has its series');
  t.equal(text.match(/^s3d_bucket_delete_markers\{/gm)?.length, N, 'one series per bucket and gauge');
  t.match(text, /\n\n# HELP s3d_bucket_objects Current objects \(not delete markers\) per bucket, as of the last usage scan \(S3_USAGE_SCAN_INTERVAL\)\n# TYPE s3d_bucket_objects gauge\ns3d_bucket_objects\{bucket="b-00000"\} 0\n/, 'in the exposition format, a family after the others');

  // Probes sent one after another, each on the answer to the last, while one scrape runs.
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const scrapeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => (probeAgent.destroy(), scrapeAgent.destroy()));
  await get(d.port, '/minio/health/live', probeAgent);
  let scraping = true;
  let during = 0;
  const probes = (async () => {
    while (scraping) {
      await get(d.port, '/minio/health/live', probeAgent);
      if (scraping) during++;
    }
  })();
  const bytes = await get(d.port, '/metrics', scrapeAgent);
  scraping = false;
  await probes;
  t.ok(bytes > N * 5 * 30, `the scrape answered (${bytes} bytes)`);
  // One synchronous render answered none of them until it was done (two at most, around its
  // awaits, such as the disk's statfs).
  t.ok(during >= 5, `requests were answered while the scrape ran (${during})`);
});

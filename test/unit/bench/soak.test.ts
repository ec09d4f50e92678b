// The soak's reading of the daemon's metrics: a scrape without request counts (failed, refused)
// is no evidence of no 5xx answers, so the soak cannot say PASSED on it; and its latency percentiles.
import t from 'tap';
import { percentile, status5xxOf } from '../../../bench/soak.js';

t.test('5xx answers are counted from a scrape, unknown without one', async (t) => {
  const scrape = [
    '# TYPE s3d_requests_total counter',
    's3d_requests_total{op="GetObject",status="200"} 41',
    's3d_requests_total{op="PutObject",status="503"} 2',
    's3d_requests_total{op="GetObject",status="500"} 1',
    's3d_requests_total_other 9',
  ].join('\n');
  t.equal(status5xxOf(scrape), 3);
  t.equal(status5xxOf('s3d_requests_total{op="GetObject",status="200"} 41\n'), 0, 'only 2xx: none');
  t.equal(status5xxOf(''), null, 'a failed scrape: unknown');
  t.equal(status5xxOf('<Error><Code>AccessDenied</Code></Error>'), null, 'a refused scrape: unknown');
});

t.test('percentile: nearest rank, as the bench histograms read theirs', async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
  t.equal(percentile(hundred, 0.99), 99, 'p99 of 1..100 is 99, not the maximum');
  t.equal(percentile(hundred, 0.5), 50, 'p50 of 1..100 is 50');
  t.equal(percentile(hundred, 1), 100, 'p100 is the maximum');
  t.equal(percentile([7], 0.99), 7, 'one sample is every percentile');
  t.equal(percentile([1, 2, 3], 0.5), 2, 'p50 of three is the middle one');
  t.equal(percentile([], 0.99), 0, 'no samples: 0');
});

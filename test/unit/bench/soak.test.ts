// The soak's reading of the daemon's metrics: a scrape without request counts (failed, refused)
// is no evidence of no 5xx answers, so the soak cannot say PASSED on it.
import t from 'tap';
import { status5xxOf } from '../../../bench/soak.js';

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

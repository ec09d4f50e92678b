// More buckets than one ListBuckets page holds (10,000, S3's largest max-buckets and its default
// bucket quota). s3d sets no quota, so a ListBuckets without paging parameters must still name
// every bucket: clients that never page (boto3's list_buckets, mc ls, minio-js listBuckets,
// backup tools enumerating buckets) would otherwise miss the rest without a sign of it.

import t from 'tap';
import { ListBucketsCommand, paginateListBuckets } from '@aws-sdk/client-s3';
import { Agent } from 'node:http';
import { startDaemonFor } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const N = 10_003;
const names = Array.from({ length: N }, (_, i) => `many-${String(i).padStart(5, '0')}`);

// The buckets are made by hand-signed CreateBucket requests on kept-alive connections, not the
// SDK: its middleware stack cost ~1.3 ms of CPU a request here (13 of the file's 19 s), a signed
// request of our own ~0.25 ms, and the daemon's side halved too. The listings under test stay
// the SDK's.
t.before(async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const r = await raw(d.port, { method: 'PUT', path: `/${name}`, agent });
        if (r.status !== 200) throw new Error(`CreateBucket ${name}: HTTP ${r.status} ${r.body.toString()}`);
      }
    }),
  );
  agent.destroy();
});

t.test('ListBuckets without max-buckets or continuation-token names every bucket, past 10,000', async (t) => {
  const all = await s3.send(new ListBucketsCommand({}));
  t.equal(all.Buckets?.length, N, `all ${N} buckets in one answer`);
  t.equal(all.Buckets?.at(-1)?.Name, names.at(-1), 'the last by name included');
  t.equal(all.ContinuationToken, undefined, 'and no continuation token');
  const prefixed = await s3.send(new ListBucketsCommand({ Prefix: 'many-' }));
  t.same([prefixed.Buckets?.length, prefixed.ContinuationToken], [N, undefined], 'so does one with a prefix alone');
});

t.test('paged ListBuckets: pages of max-buckets, every bucket once', async (t) => {
  const first = await s3.send(new ListBucketsCommand({ MaxBuckets: 10_000 }));
  t.equal(first.Buckets?.length, 10_000, 'MaxBuckets 10000: a full page');
  t.ok(first.ContinuationToken, 'with a continuation token');
  const rest = await s3.send(new ListBucketsCommand({ ContinuationToken: first.ContinuationToken }));
  t.same(rest.Buckets?.map((b) => b.Name), names.slice(10_000), 'a token alone continues with pages of 10,000: the rest');
  const seen: string[] = [];
  for await (const page of paginateListBuckets({ client: s3, pageSize: 4000 }, {})) seen.push(...(page.Buckets ?? []).map((b) => b.Name!));
  t.same(seen, names, 'the SDK paginator visits each bucket once, in name order');
});

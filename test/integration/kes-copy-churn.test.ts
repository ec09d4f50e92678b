// A CopyObject whose SSE-KMS source is overwritten (and its old data file reaped) during each KES
// unwrap looks its source up again, up to four times, then answers 503 SlowDown (copy.ts
// withDataPlace). A source deleted by then answers as a fresh copy would: 404 NoSuchKey (it was
// 503 SlowDown, which an SDK retried into the same 404), as a churning GET answers
// (kes-get-churn.test.ts). The interleaving is forced (helpers/kes-churn.ts).

import t from 'tap';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { churnSetup } from '../helpers/kes-churn.js';

for (const last of ['overwritten', 'deleted'] as const)
t.test(`a copy whose SSE-KMS source is replaced and reaped during each KMS unwrap (last ${last})`, async (t) => {
  const c = await churnSetup(t, 'copychurn', 60);
  const r = await c.during(() => c.s3.send(new CopyObjectCommand({ Bucket: c.bucket, Key: 'dst', CopySource: `${c.bucket}/${c.key}` })), last);
  t.ok('err' in r, 'the copy fails: its source was replaced before each lookup could read it');
  if (!('err' in r)) return;
  const want = last === 'deleted' ? '404 NoSuchKey' : '503 SlowDown';
  t.equal(`${r.err.$metadata?.httpStatusCode} ${r.err.name}`, want, `answered ${want}`);
});

// A GET whose object is overwritten while the GET waits on KES for its key, and whose old data file
// the reaper deletes meanwhile (its 5 s grace outlasted by the unwrap), looks its object up again,
// up to four times. When the key was overwritten again before each of those lookups could open
// their files, the GET answered the fourth ENOENT as 500 InternalError, logged as an internal
// error: nothing was lost, the key was churning. It is 503 SlowDown now, as CopyObject and
// UploadPartCopy answer the same race, which the SDKs retry; a key deleted by the last lookup is
// 404 NoSuchKey, as a fresh GET would answer; a data file missing under an unchanged record stays a
// 500 (sse-file-reads.test.ts). The interleaving is forced (helpers/kes-churn.ts).

import t from 'tap';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { churnSetup, LOOKUPS } from '../helpers/kes-churn.js';
import { bodyBytes, getBytes } from '../helpers/s3.js';

for (const last of ['overwritten', 'deleted'] as const)
t.test(`a GET whose SSE-KMS object is overwritten and reaped during each KMS unwrap answers 503 SlowDown, not 500 (last ${last})`, async (t) => {
  const c = await churnSetup(t, 'getchurn', 50);
  const r = await c.during(async () => bodyBytes(await c.s3.send(new GetObjectCommand({ Bucket: c.bucket, Key: c.key }))), last);
  t.ok('err' in r, 'the GET fails: its key was replaced before each lookup could read it');
  t.notOk(c.d.logs.some((l) => l.includes('internal error')), 'no internal error logged');
  if (!('err' in r)) return;
  if (last === 'deleted') {
    // Gone by the last lookup: answered as a fresh GET would be (it was 503 SlowDown, retried into the same 404).
    t.equal(`${r.err.$metadata?.httpStatusCode} ${r.err.name}`, '404 NoSuchKey', 'the key deleted meanwhile: 404 NoSuchKey');
    return;
  }
  t.equal(r.err.$metadata?.httpStatusCode, 503, `503, not 500 (got ${r.err.$metadata?.httpStatusCode} ${r.err.name})`);
  t.equal(r.err.name, 'SlowDown', 'SlowDown, which the SDKs retry');
  t.ok((await getBytes(c.s3, { Bucket: c.bucket, Key: c.key })).equals(c.bodies[LOOKUPS - 1]!), 'a GET now reads the last version');
});

// notify/event.ts on its own: the webhook body MinIO sends (EventName, Key, one Records entry with
// every field MinIO fills), the key escaped as Go's url.QueryEscape does, removed events without
// object details. The stored headers MinIO puts in userMetadata (Cache-Control here) go there too.
import t from 'tap';
import { eventRecord, queryEscape, webhookBody } from '../../../../daemon/notify/event.js';

const origin = { requestId: 'REQ1', hostId: 'HOST1', principalId: 'admin', sourceIp: '10.0.0.7', userAgent: 'MinIO (linux; amd64) minio-go/v7' };
const T = Date.parse('2026-12-01T10:20:30.456Z');

t.test('url.QueryEscape', async (t) => {
  // Go: url.QueryEscape("a b/c+d!'()*~_-.é") == "a+b%2Fc%2Bd%21%27%28%29%2A~_-.%C3%A9"
  t.equal(queryEscape("a b/c+d!'()*~_-.é"), 'a+b%2Fc%2Bd%21%27%28%29%2A~_-.%C3%A9');
  t.equal(queryEscape('photos/2026/cat.jpg'), 'photos%2F2026%2Fcat.jpg');
  t.equal(queryEscape('%&=?#'), '%25%26%3D%3F%23');
});

t.test('a created event', async (t) => {
  const body = JSON.parse(
    webhookBody({
      name: 's3:ObjectCreated:Put',
      region: 'us-east-1',
      bucket: 'photos',
      key: 'img/a b.jpg',
      configurationId: 'jpg-rule',
      origin,
      object: { size: 1234, etag: 'd41d8cd98f00b204e9800998ecf8427e', mtime: T, headers: { 'content-type': 'image/jpeg', 'cache-control': 'no-cache' }, userMeta: { 'x-amz-meta-color': 'blue', 'x-amz-meta-taken-by': 'me' } },
      time: T + 5,
    }),
  ) as Record<string, unknown>;
  t.strictSame(body, {
    EventName: 's3:ObjectCreated:Put',
    Key: 'photos/img/a b.jpg',
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'minio:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-12-01T10:20:30.461Z',
        eventName: 's3:ObjectCreated:Put',
        userIdentity: { principalId: 'admin' },
        requestParameters: { principalId: 'admin', region: 'us-east-1', sourceIPAddress: '10.0.0.7' },
        responseElements: { 'x-amz-request-id': 'REQ1', 'x-amz-id-2': 'HOST1' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'jpg-rule',
          bucket: { name: 'photos', ownerIdentity: { principalId: 'admin' }, arn: 'arn:aws:s3:::photos' },
          object: {
            key: 'img%2Fa+b.jpg',
            size: 1234,
            eTag: 'd41d8cd98f00b204e9800998ecf8427e',
            contentType: 'image/jpeg',
            userMetadata: { 'content-type': 'image/jpeg', 'cache-control': 'no-cache', 'X-Amz-Meta-Color': 'blue', 'X-Amz-Meta-Taken-By': 'me' },
            sequencer: (BigInt(T) * 1_000_000n).toString(16).toUpperCase(),
          },
        },
        source: { host: '10.0.0.7', port: '', userAgent: 'MinIO (linux; amd64) minio-go/v7' },
      },
    ],
  });
});

t.test('a removed event names the key only; a zero-byte object still has its size', async (t) => {
  const r = eventRecord({ name: 's3:ObjectRemoved:Delete', region: 'r', bucket: 'b', key: 'k', configurationId: 'Config', origin, time: T });
  t.strictSame((r.s3 as { object: unknown }).object, { key: 'k', sequencer: (BigInt(T) * 1_000_000n).toString(16).toUpperCase() });
  const c = eventRecord({ name: 's3:ObjectCreated:Post', region: 'r', bucket: 'b', key: 'k', configurationId: 'Config', origin, object: { size: 0, etag: 'e', mtime: T, headers: {}, userMeta: {} }, time: T });
  t.match((c.s3 as { object: unknown }).object, { size: 0, eTag: 'e' });
  // (An empty object in a t.match pattern matches any object: the empty metadata is compared whole.)
  t.strictSame((c.s3 as { object: { userMetadata?: unknown } }).object.userMetadata, {}, 'no headers and no user metadata: an empty userMetadata');
  t.notOk('contentType' in (c.s3 as { object: object }).object);
});

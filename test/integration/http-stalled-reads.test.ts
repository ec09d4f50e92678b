// Response backpressure with a client that stops reading: a raw-socket GET that pauses for a while
// before it reads must still receive the whole body, for plain and SSE-S3 objects, bodies sent in
// one end() or streamed in several chunks (with a small chunk mid-stream for a multipart object,
// and a range), with and without `connection: close`, alone and in parallel. A kept-alive
// connection must then answer its next request correctly.
//
// The SSE-S3 case of 8 MiB used to stall for good: the next chunk, already opened by the crypto
// pool, resumed the writer inside uWS's writable callback, and the writable handler it registered
// there was replaced by the previous one, which had nothing left to write.
//
// A client that reads steadily but slowly must get the whole body however long it takes (it was
// cut after ~10 s: uWS restarts its timeout only on writable events, which the kernel signals only
// once half its send buffer is free), while one that stops reading is still cut after ~10 s.
import t from 'tap';
import type { Test } from 'tap';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { connect, type Socket } from 'node:net';
import { startDaemonFor, testBytes } from '../helpers/daemon.js';
import { encodeKey, signedRequestText } from '../helpers/http.js';
import { clientFor, createBucket } from '../helpers/s3.js';
import { parseHttpResponse, readSlowly } from '../helpers/tcp.js';

const MiB = 1024 * 1024;
const STALL_MS = 700;

const d = await startDaemonFor(t, { env: { S3_KMS_SECRET_KEY: `stall-key:${Buffer.alloc(32, 9).toString('base64')}` } });
const s3 = clientFor(d);
const bucket = await createBucket(s3, 'stall');

interface Obj {
  key: string;
  body: Buffer;
}
const objects: Obj[] = [];
for (const sse of [false, true]) {
  for (const size of [MiB, 8 * MiB + 4321, 300_000]) {
    const key = `${sse ? 'sse' : 'plain'}-${size}`;
    const body = testBytes(size, size % 97);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(sse ? { ServerSideEncryption: 'AES256' as const } : {}) }));
    objects.push({ key, body });
  }
  // Two parts: the first ends with a 1000-byte chunk, so a small write lands between full ones.
  const key = `${sse ? 'sse' : 'plain'}-multipart`;
  const parts = [testBytes(5 * MiB + 1000, 31), testBytes(3 * MiB + 17, 37)];
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...(sse ? { ServerSideEncryption: 'AES256' as const } : {}) }));
  const done = [];
  for (const [i, part] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body: part }));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  objects.push({ key, body: Buffer.concat(parts) });
}

interface Response {
  status: number;
  /** Content-Length as sent. */
  want: number;
  body: Buffer;
}

interface Got extends Response {
  /** The second response on the kept-alive connection, when one was asked for. */
  next?: Response;
  /** The server closed the connection. */
  closed: boolean;
  error?: string;
}

function getRequest(key: string, extra: Record<string, string>): string {
  return signedRequestText(d.port, { method: 'GET', path: `/${bucket}/${encodeKey(key)}`, headers: extra });
}

/**
 * A GET on a raw socket that does not read for STALL_MS, then reads as fast as it can; with
 * `follow`, a second GET on the same connection once the first response is complete.
 */
function stalledGet(key: string, opts: { close: boolean; range?: string; follow?: string }): Promise<Got> {
  const extra: Record<string, string> = {};
  if (opts.range !== undefined) extra.range = opts.range;
  if (opts.close) extra.connection = 'close';
  return new Promise((resolve) => {
    const sock: Socket = connect(d.port, '127.0.0.1');
    const responses: Response[] = [];
    let chunks: Buffer[] = [];
    let received = 0;
    let need = -1; // bytes of the current response (head and body), once its head is in
    let head: { status: number; length: number; headEnd: number } | undefined;
    let settled = false;
    const finish = (closed: boolean, error?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(hard);
      sock.destroy();
      if (head !== undefined || received > 0) {
        // An incomplete response: report what arrived of it.
        const data = Buffer.concat(chunks);
        const res = parseHttpResponse(data);
        responses.push({ status: res?.status ?? 0, want: Number(res?.headers['content-length'] ?? -1), body: res?.body ?? Buffer.alloc(0) });
      }
      const first = responses[0] ?? { status: 0, want: -1, body: Buffer.alloc(0) };
      resolve({ ...first, ...(responses[1] ? { next: responses[1] } : {}), closed, ...(error !== undefined ? { error } : {}) });
    };
    // 8 s without a byte, well below uWS's 10 s idle timeout: a stall shows as a short body, not as
    // a cut connection. Restarted by every chunk (below), not a deadline for the whole response:
    // twelve readers in parallel on a loaded machine can take longer than 8 s and still progress.
    const hard = setTimeout(() => finish(false, 'timeout'), 8000);
    const take = (): void => {
      for (;;) {
        if (head === undefined) {
          const data = Buffer.concat(chunks);
          chunks = [data];
          const end = data.indexOf('\r\n\r\n');
          if (end < 0) return;
          const res = parseHttpResponse(data.subarray(0, end + 4));
          head = { status: res?.status ?? 0, length: Number(res?.headers['content-length'] ?? 0), headEnd: end + 4 };
          need = head.headEnd + head.length;
        }
        if (received < need) return;
        const data = Buffer.concat(chunks);
        responses.push({ status: head.status, want: head.length, body: data.subarray(head.headEnd, need) });
        chunks = [data.subarray(need)];
        received = data.length - need;
        head = undefined;
        if (responses.length === 1 && opts.follow !== undefined && !opts.close) {
          sock.write(getRequest(opts.follow, {}));
          continue;
        }
        // With connection: close, wait for the server to close (it must, once the body is out).
        if (!opts.close) finish(false);
        return;
      }
    };
    sock.on('connect', () => {
      sock.write(getRequest(key, extra));
      sock.pause();
      setTimeout(() => sock.resume(), STALL_MS);
    });
    sock.on('data', (c: Buffer) => {
      if (!settled) hard.refresh();
      chunks.push(c);
      received += c.length;
      take();
    });
    sock.on('close', () => finish(true));
    sock.on('error', (e: NodeJS.ErrnoException) => finish(true, e.code ?? e.message));
  });
}

function check(t: Test, got: Got, want: Buffer, what: string, opts: { close: boolean; status?: number; follow?: Buffer }): void {
  const status = opts.status ?? 200;
  t.ok(
    got.status === status && got.want === want.length && got.body.equals(want),
    `${what}: ${got.status}, ${got.body.length} of ${got.want} bytes (${want.length} expected)${got.error !== undefined ? `, ${got.error}` : ''}`,
  );
  if (opts.close) t.ok(got.closed && got.error === undefined, `${what}: the server closed the connection after the body`);
  if (opts.follow !== undefined) {
    t.ok(got.next?.status === 200 && got.next.body.equals(opts.follow), `${what}: the next request on the connection is answered (${got.next?.status}, ${got.next?.body.length} bytes)`);
  }
}

const small = objects.find((o) => o.key === 'sse-300000')!;
const cases = objects.flatMap((o) => [true, false].map((close) => ({ o, close })));

t.test('one stalled reader at a time', async (t) => {
  for (const { o, close } of cases) {
    const got = await stalledGet(o.key, { close, follow: close ? undefined : small.key });
    check(t, got, o.body, `${o.key} close=${close}`, { close, follow: close ? undefined : small.body });
  }
});

t.test('stalled readers in parallel', async (t) => {
  const all = await Promise.all(cases.map(({ o, close }) => stalledGet(o.key, { close, follow: close ? undefined : small.key })));
  all.forEach((got, i) => {
    const { o, close } = cases[i]!;
    check(t, got, o.body, `${o.key} close=${close}`, { close, follow: close ? undefined : small.body });
  });
});

t.test('stalled ranged reads', async (t) => {
  const big = objects.filter((o) => o.key.endsWith(String(8 * MiB + 4321)) || o.key.endsWith('multipart'));
  const all = await Promise.all(
    big.flatMap((o) =>
      [true, false].map(async (close) => {
        const from = 12_345;
        const to = o.body.length - 999;
        const got = await stalledGet(o.key, { close, range: `bytes=${from}-${to}` });
        return { got, o, close, want: o.body.subarray(from, to + 1) };
      }),
    ),
  );
  for (const { got, o, close, want } of all) check(t, got, want, `${o.key} range close=${close}`, { close, status: 206 });
});

/** A raw GET read at `rate` bytes/s for `slowMs` (see readSlowly). */
function slowGet(key: string, rate: number, slowMs: number): ReturnType<typeof readSlowly> {
  return readSlowly(connect(d.port, '127.0.0.1'), 'connect', getRequest(key, {}), rate, slowMs);
}

t.test('a slow but steady reader gets the whole body; one that stops reading is cut', async (t) => {
  // 8 MiB parts, as the aws CLI uploads a large file.
  const key = 'slow-32MiB';
  const parts = Array.from({ length: 4 }, (_, i) => testBytes(8 * MiB, 61 + i));
  const body = Buffer.concat(parts);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const done = [];
  for (const [i, part] of parts.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, PartNumber: i + 1, Body: part }));
    done.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: done } }));
  const [steady, stopped] = await Promise.all([slowGet(key, 50_000, 13_000), slowGet(key, 0, 18_000)]);
  t.equal(steady.closedAfterMs, undefined, 'the server never closed the connection of the reader at 50 KB/s for 13 s');
  t.ok(steady.body.equals(body), `and it got all ${body.length} bytes (${steady.body.length})`);
  t.ok(stopped.body.length < body.length, `the reader that stopped got ${stopped.body.length} bytes: cut, not finished`);
});

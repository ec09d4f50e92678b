// Requests that fail or are cut short give back everything they held. After a seeded, concurrent
// mix of them over TLS (clients gone mid-upload and mid-download of plain, SSE-S3, SSE-C and
// multipart objects and of copies, wrong SSE-C keys, bad digests and checksums, broken aws-chunked
// bodies, bodies longer or shorter than declared, writes into a bucket or upload deleted
// meanwhile, POST forms over their length range, tampered and missing data files, requests refused
// by the data gate or given up while waiting for it, and clients that stall until the daemon cuts
// them), the daemon's open descriptors (/proc/PID/fd), s3d_data_requests_in_flight/_waiting/_parked,
// s3d_crypto_slots_in_use, s3d_crypto_md5_streams and s3d_notify_listeners are back at their idle values, no temp file is
// left, RSS stays roughly flat, and once every object and upload is deleted every data file is
// reaped (no read left a pin, no refused part a file). Found no leak when written (a resource-leak
// sweep); it fails when a slot or a descriptor of a failed request is not given back.
// LEAK_KINDS=a,b runs only the failures whose names contain one of these; LEAK_ROUNDS=n measured
// rounds (default 1); LEAK_TLS=no plain HTTP (no SSE-C); LEAK_DEBUG=1 prints the statuses seen.
import t, { type Test } from 'tap';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, CreateMultipartUploadCommand, DeleteBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { createHmac } from 'node:crypto';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { chunkStringToSign, deriveSigningKey, signatureHex } from '../../daemon/auth/sigv4.js';
import { ACCESS_KEY, REGION, SECRET_KEY, prng, rssKiB, s3Client, startDaemon, testBytes, type TestDaemon } from '../helpers/daemon.js';
import { dataFilePaths, flipByte, inspectDataDir, tempFiles } from '../helpers/files.js';
import { md5Base64, sha256Hex } from '../helpers/hash.js';
import { signedHeaders } from '../helpers/http.js';
import { Received } from '../helpers/tcp.js';
import { metricSample, scrape } from '../helpers/kes.js';
import { createBucket } from '../helpers/s3.js';
import { ssec, ssecHeaders } from '../helpers/sse.js';
import { pollUntil, sleep } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const KEY = Buffer.alloc(32, 9);
const WRONG = Buffer.alloc(32, 10);

interface Target {
  d: TestDaemon;
  s3: S3Client;
  bucket: string;
  uploadId: string;
  tls: boolean;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function fdList(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).map((f) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${f}`);
    } catch {
      return '?';
    }
  });
}

/** A connection to the target, plain or TLS, and a promise of its end. */
function open(tg: Target): Socket {
  const s = tg.tls ? tlsConnect({ host: '127.0.0.1', port: tg.d.port, ca: tg.d.caCert!, servername: 'localhost' }) : netConnect(tg.d.port, '127.0.0.1');
  s.on('error', () => undefined);
  return s;
}

function head(tg: Target, method: string, path: string, query: string, headers: Record<string, string>, payloadHash?: string): string {
  const h = signedHeaders(tg.d.port, { method, path, query, headers, ...(payloadHash ? { payloadHash } : {}) });
  return `${method} ${query ? `${path}?${query}` : path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/**
 * Sends `text` then `body` (paced: `pieces` writes), waits `waitMs` for an answer or not, then cuts
 * the connection: resolves with the status seen (0: none).
 */
function exchange(tg: Target, text: string, body: Buffer, o: { cutAfterBody?: boolean; readBytes?: number; waitMs?: number; pieces?: number; endWrite?: boolean } = {}): Promise<number> {
  return new Promise((resolve) => {
    const s = open(tg);
    const got = new Received();
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got.all().subarray(0, 16).toString('latin1'))?.[1] ?? 0));
    };
    const timer = setTimeout(finish, o.waitMs ?? 3000);
    s.on(tg.tls ? 'secureConnect' : 'connect', () => {
      s.write(text);
      const pieces = o.pieces ?? 1;
      const step = Math.ceil(body.length / pieces);
      let i = 0;
      const next = (): void => {
        if (done) return;
        if (i * step >= body.length) {
          if (o.endWrite) s.end();
          if (o.cutAfterBody) setTimeout(finish, 5);
          return;
        }
        s.write(body.subarray(i * step, (i + 1) * step), () => setTimeout(next, 2));
        i++;
      };
      next();
    });
    s.on('data', (c: Buffer) => {
      if (!got.push(c)) return;
      if (o.readBytes !== undefined) {
        if (got.length >= o.readBytes) finish();
        got.need = o.readBytes;
        return;
      }
      const end = got.bytes.indexOf('\r\n\r\n');
      if (end >= 0) {
        const cl = Number(/\r\ncontent-length: (\d+)/i.exec(got.bytes.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        got.need = end + 4 + cl;
        if (got.length >= got.need) finish();
      }
    });
    s.on('close', finish);
  });
}

function putText(tg: Target, key: string, size: number, extra: Record<string, string> = {}, query = '', method = 'PUT'): string {
  return head(tg, method, `/${tg.bucket}/${key}`, query, { 'content-length': String(size), ...extra });
}

/** An aws-chunked body of `chunks`, signed, with chunk `corrupt`'s signature wrong or the body cut to `cut` bytes. */
function chunked(tg: Target, key: string, chunks: Buffer[], o: { corrupt?: number; cut?: number }): { text: string; body: Buffer } {
  const all = [...chunks, Buffer.alloc(0)];
  const frame = (sigs: string[]): Buffer => Buffer.concat(all.flatMap((c, i) => [Buffer.from(`${c.length.toString(16)};chunk-signature=${sigs[i]}\r\n`), c, Buffer.from('\r\n')]));
  const length = frame(all.map(() => '0'.repeat(64))).length;
  const path = `/${tg.bucket}/${key}`;
  const headers = signedHeaders(tg.d.port, {
    method: 'PUT',
    path,
    payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(chunks.reduce((n, c) => n + c.length, 0)), 'content-length': String(length) },
  });
  const amzDate = headers['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/${REGION}/s3/aws4_request`;
  const k = deriveSigningKey(SECRET_KEY, amzDate.slice(0, 8), REGION, 's3');
  let prev = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
  const sigs = all.map((c, i) => {
    let sig = signatureHex(k, chunkStringToSign(amzDate, scope, prev, sha256Hex(c)));
    prev = sig;
    if (o.corrupt === i) sig = sig.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
    return sig;
  });
  const body = frame(sigs);
  return { text: `PUT ${path} HTTP/1.1\r\n${Object.entries(headers).map(([a, v]) => `${a}: ${v}\r\n`).join('')}\r\n`, body: o.cut === undefined ? body : body.subarray(0, o.cut) };
}

const body4 = testBytes(4 * MiB, 3);
const body2 = testBytes(2 * MiB, 4);

type Failure = (tg: Target, i: number) => Promise<unknown>;

/** The failing requests, by name; each settles (never throws) once its connection is gone. */
const failures: Record<string, Failure> = {
  'PUT cut mid-body': (tg, i) => exchange(tg, putText(tg, `cut-${i}`, body4.length), body4.subarray(0, MiB + 7), { cutAfterBody: true }),
  'SSE-S3 PUT cut mid-body': (tg, i) => exchange(tg, putText(tg, `cut-${i}`, body4.length, { 'x-amz-server-side-encryption': 'AES256' }), body4.subarray(0, 2 * MiB + 5), { cutAfterBody: true, pieces: 4 }),
  'SSE-C PUT cut mid-body': (tg, i) => exchange(tg, putText(tg, `cut-${i}`, body4.length, ssecHeaders(KEY)), body4.subarray(0, 3 * MiB), { cutAfterBody: true, pieces: 3 }),
  'UploadPart cut mid-body': (tg, i) => exchange(tg, putText(tg, 'mp-up', body4.length, {}, `partNumber=${1 + (i % 5)}&uploadId=${tg.uploadId}`), body4.subarray(0, MiB + 3), { cutAfterBody: true }),
  'GET cut mid-body': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/plain`, '', {}), Buffer.alloc(0), { readBytes: 300_000 }),
  'SSE-S3 GET cut mid-body': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/sse`, '', {}), Buffer.alloc(0), { readBytes: 1_300_000 }),
  'SSE-C GET cut mid-body': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/ssec`, '', ssecHeaders(KEY)), Buffer.alloc(0), { readBytes: 100_000 }),
  'multipart GET cut mid-body': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/mp`, '', {}), Buffer.alloc(0), { readBytes: 5_500_000 }),
  'GET cut before the body': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/sse`, '', {}), Buffer.alloc(0), { readBytes: 1 }),
  'CopyObject cut': (tg, i) =>
    exchange(tg, head(tg, 'PUT', `/${tg.bucket}/copy-${i}`, '', { 'x-amz-copy-source': `/${tg.bucket}/big` }), Buffer.alloc(0), { waitMs: 20 + (i % 4) * 40 }),
  'SSE-C CopyObject cut': (tg, i) =>
    exchange(tg, head(tg, 'PUT', `/${tg.bucket}/copy-${i}`, '', { 'x-amz-copy-source': `/${tg.bucket}/ssec`, ...ssecHeaders(KEY, 'x-amz-copy-source-server-side-encryption-customer-'), ...ssecHeaders(KEY) }), Buffer.alloc(0), {
      waitMs: 10 + (i % 4) * 30,
    }),
  'UploadPartCopy cut': (tg, i) =>
    exchange(tg, head(tg, 'PUT', `/${tg.bucket}/mp-up`, `partNumber=${6 + (i % 5)}&uploadId=${tg.uploadId}`, { 'x-amz-copy-source': `/${tg.bucket}/big` }), Buffer.alloc(0), { waitMs: 20 + (i % 4) * 40 }),
  'wrong SSE-C key GET': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/ssec`, '', ssecHeaders(WRONG)), Buffer.alloc(0)),
  'wrong SSE-C key HEAD': (tg) => tg.s3.send(new HeadObjectCommand({ Bucket: tg.bucket, Key: 'ssec', ...ssec(WRONG) })).catch(() => undefined),
  'wrong SSE-C key copy': (tg, i) =>
    exchange(tg, head(tg, 'PUT', `/${tg.bucket}/copy-${i}`, '', { 'x-amz-copy-source': `/${tg.bucket}/ssec`, ...ssecHeaders(WRONG, 'x-amz-copy-source-server-side-encryption-customer-') }), Buffer.alloc(0)),
  'bad Content-MD5 PUT': (tg, i) => exchange(tg, putText(tg, `md5-${i}`, body2.length, { 'content-md5': md5Base64('other'), 'x-amz-server-side-encryption': 'AES256' }), body2),
  'bad CRC32 PUT': (tg, i) => exchange(tg, putText(tg, `crc-${i}`, body2.length, { 'x-amz-checksum-crc32': 'AAAAAA==' }), body2),
  'bad Content-MD5 UploadPart': (tg, i) => exchange(tg, putText(tg, 'mp-up', body2.length, { 'content-md5': md5Base64('other') }, `partNumber=${11 + (i % 5)}&uploadId=${tg.uploadId}`), body2),
  'bad x-amz-content-sha256 PUT': (tg, i) => exchange(tg, head(tg, 'PUT', `/${tg.bucket}/sha-${i}`, '', { 'content-length': String(body2.length) }, sha256Hex('other')), body2),
  'aws-chunked bad signature': (tg, i) => {
    const c = chunked(tg, `ch-${i}`, [body2.subarray(0, MiB), body2.subarray(MiB, 2 * MiB - 9)], { corrupt: 1 });
    return exchange(tg, c.text, c.body);
  },
  'aws-chunked truncated': (tg, i) => {
    const c = chunked(tg, `ch-${i}`, [body2.subarray(0, MiB), body2.subarray(MiB)], { cut: MiB + 500 });
    return exchange(tg, c.text, c.body, { cutAfterBody: true });
  },
  'body longer than Content-Length': (tg, i) =>
    exchange(tg, putText(tg, `long-${i}`, 1_500_000), Buffer.concat([body2.subarray(0, 1_500_000), Buffer.from('GARBAGE NOT HTTP\r\n\r\n')]), { waitMs: 1500 }),
  'body shorter than Content-Length, half-closed': (tg, i) => exchange(tg, putText(tg, `short-${i}`, body2.length), body2.subarray(0, MiB), { endWrite: true, waitMs: 1500 }),
  'tampered full GET': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/tampered`, '', {}), Buffer.alloc(0), { waitMs: 3000 }),
  'tampered ranged GET': (tg, i) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/tampered`, '', { range: `bytes=${2 * MiB + (i % 3) * 1000}-${3 * MiB}` }), Buffer.alloc(0)),
  'GET with the data file gone': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/gone`, '', {}), Buffer.alloc(0)),
  'ranged GET with the data file gone': (tg) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/gone`, '', { range: 'bytes=1000-2000' }), Buffer.alloc(0)),
  'copy with the source file gone': (tg, i) => exchange(tg, head(tg, 'PUT', `/${tg.bucket}/copy-${i}`, '', { 'x-amz-copy-source': `/${tg.bucket}/gone` }), Buffer.alloc(0)),
  'UploadPart into an upload aborted meanwhile': async (tg, i) => {
    const up = await tg.s3.send(new CreateMultipartUploadCommand({ Bucket: tg.bucket, Key: `ab-${i}`, ServerSideEncryption: 'AES256' }));
    return midway(tg, putText(tg, `ab-${i}`, body2.length, {}, `partNumber=1&uploadId=${up.UploadId}`), body2, () => tg.s3.send(new AbortMultipartUploadCommand({ Bucket: tg.bucket, Key: `ab-${i}`, UploadId: up.UploadId })));
  },
  'UploadPartCopy into an upload aborted meanwhile': async (tg, i) => {
    const up = await tg.s3.send(new CreateMultipartUploadCommand({ Bucket: tg.bucket, Key: `ab-${i}` }));
    const status = exchange(tg, head(tg, 'PUT', `/${tg.bucket}/ab-${i}`, `partNumber=1&uploadId=${up.UploadId}`, { 'x-amz-copy-source': `/${tg.bucket}/big` }), Buffer.alloc(0), { waitMs: 5000 });
    await sleep(5 + (i % 4) * 10);
    await tg.s3.send(new AbortMultipartUploadCommand({ Bucket: tg.bucket, Key: `ab-${i}`, UploadId: up.UploadId })).catch(() => undefined);
    return status;
  },
  'CopyObject into a bucket deleted meanwhile': async (tg, i) => {
    const b = await createBucket(tg.s3, 'gone');
    const status = exchange(tg, head(tg, 'PUT', `/${b}/k`, '', { 'x-amz-copy-source': `/${tg.bucket}/big` }), Buffer.alloc(0), { waitMs: 5000 });
    await sleep(5 + (i % 4) * 10);
    await deleteBucketMeanwhile(tg, b, status);
    return status;
  },
  'multipart GET of many parts cut mid-body': (tg, i) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/mp6`, '', i % 2 ? { range: `bytes=${4 * MiB}-` } : {}), Buffer.alloc(0), { readBytes: 6 * MiB + (i % 3) * MiB }),
  'multipart GET of a tampered part': (tg, i) => exchange(tg, head(tg, 'GET', `/${tg.bucket}/mp6`, i % 2 ? 'partNumber=3' : '', {}), Buffer.alloc(0), { waitMs: 3000 }),
  'aws-chunked bad trailing checksum': (tg, i) => {
    const c = trailer(tg, `tr-${i}`, body2, 'x-amz-checksum-crc32:AAAAAA==');
    return exchange(tg, c.text, c.body);
  },
  'POST Object over its content-length-range': (tg, i) => {
    const { text, body } = postForm(tg, `post-${i}`, body4, [['content-length-range', 0, MiB]]);
    return exchange(tg, text, body, { waitMs: 3000 });
  },
  'POST Object cut mid-body': (tg, i) => {
    const { text, body } = postForm(tg, `post-${i}`, body4, []);
    return exchange(tg, text, body.subarray(0, 2 * MiB), { cutAfterBody: true, pieces: 2 });
  },
  'UploadPartCopy of a range past the source': (tg, i) =>
    exchange(tg, head(tg, 'PUT', `/${tg.bucket}/mp-up`, `partNumber=${40 + (i % 3)}&uploadId=${tg.uploadId}`, { 'x-amz-copy-source': `/${tg.bucket}/big`, 'x-amz-copy-source-range': 'bytes=0-99999999' }), Buffer.alloc(0)),
  'listen stream cut': (tg, i) => exchange(tg, head(tg, 'GET', `/${tg.bucket}`, 'events=s3%3AObjectCreated%3A%2A', {}), Buffer.alloc(0), { waitMs: 100 + (i % 3) * 100 }),
  'PUT into a bucket deleted meanwhile': async (tg, i) => {
    const b = await createBucket(tg.s3, 'gone');
    const text = head(tg, 'PUT', `/${b}/k`, '', { 'content-length': String(body2.length), 'x-amz-server-side-encryption': 'AES256' });
    return midway(tg, text, body2, () => tg.s3.send(new DeleteBucketCommand({ Bucket: b })), MiB + (i % 3));
  },
};

/**
 * Deletes bucket `b` while a copy into it (answered `copied`) may still run. A copy that commits
 * first has succeeded (200, as S3 may answer it too) and its object keeps the bucket from being
 * deleted (BucketNotEmpty): then the object and the bucket are removed once the copy is answered.
 * Left, its data file stayed referenced outside the bucket emptied at the end, and the sweep took
 * it for a leak (1 run in 6 with the copy of an SSE-S3 source not hashed again, d925be2).
 */
async function deleteBucketMeanwhile(tg: Target, b: string, copied: Promise<number>): Promise<void> {
  try {
    await tg.s3.send(new DeleteBucketCommand({ Bucket: b }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'BucketNotEmpty') return;
    await copied;
    await tg.s3.send(new DeleteObjectCommand({ Bucket: b, Key: 'k' }));
    await tg.s3.send(new DeleteBucketCommand({ Bucket: b }));
  }
}

/** An upload fast enough never to be parked (64 KiB per 20 ms), so it holds its place until cut. */
function steadyPut(tg: Target, key: string): { cut(): void; done: Promise<number> } {
  let stop = false;
  const s = open(tg);
  const done = new Promise<number>((resolve) => {
    s.on('close', () => resolve(0));
    s.on(tg.tls ? 'secureConnect' : 'connect', async () => {
      s.write(putText(tg, key, 24 * MiB, { 'x-amz-server-side-encryption': 'AES256' }));
      for (let sent = 0; !stop && sent < 20 * MiB; sent += 64 * 1024) {
        s.write(body4.subarray(0, 64 * 1024));
        await sleep(20);
      }
    });
  });
  return {
    cut: () => {
      stop = true;
      s.destroy();
    },
    done,
  };
}

/** While the gate's places are all held: requests that wait and are refused (503), or whose clients give up waiting. */
async function refusedByTheGate(tg: Target, places: number, meanwhile: () => Promise<unknown>): Promise<number[]> {
  const holders = Array.from({ length: places }, (_, i) => steadyPut(tg, `steady-${i}`));
  // Every place held before anything else asks for one: a fixed pause was not always enough on a
  // loaded machine, and requests of `meanwhile` that came first took places the holders then
  // waited for and lost (503), so the waiters below were let in (200).
  await pollUntil(() => idle(tg), (s) => s.inFlight >= places, 10_000, 50);
  const also = meanwhile();
  const waiters: Array<Promise<number>> = [];
  for (let i = 0; i < 3; i++) {
    waiters.push(exchange(tg, putText(tg, `refused-${i}`, body2.length, i === 1 ? { 'x-amz-server-side-encryption': 'AES256' } : {}), body2, { waitMs: 3000 }));
    waiters.push(exchange(tg, head(tg, 'GET', `/${tg.bucket}/${i === 0 ? 'plain' : i === 1 ? 'sse' : 'mp'}`, '', {}), Buffer.alloc(0), { readBytes: 1000, waitMs: 3000 }));
    waiters.push(exchange(tg, head(tg, 'PUT', `/${tg.bucket}/copy-r${i}`, '', { 'x-amz-copy-source': `/${tg.bucket}/big` }), Buffer.alloc(0), { waitMs: 3000 }));
    waiters.push(exchange(tg, putText(tg, 'mp-up', body2.length, {}, `partNumber=${20 + i}&uploadId=${tg.uploadId}`), body2, { waitMs: 3000 }));
    // Gone while waiting for a place.
    waiters.push(exchange(tg, putText(tg, `gaveup-${i}`, body2.length), body2.subarray(0, MiB), { waitMs: 300 }));
    waiters.push(exchange(tg, head(tg, 'GET', `/${tg.bucket}/sse`, '', {}), Buffer.alloc(0), { waitMs: 300 }));
    waiters.push(exchange(tg, head(tg, 'PUT', `/${tg.bucket}/copy-g${i}`, '', { 'x-amz-copy-source': `/${tg.bucket}/big` }), Buffer.alloc(0), { waitMs: 300 }));
  }
  const statuses = await Promise.all(waiters);
  for (const h of holders) h.cut();
  await Promise.all([...holders.map((h) => h.done), also]);
  return statuses;
}

/**
 * Clients that stop reading or sending for good (parked by the daemon, then cut by its 10 s idle
 * timeout). Their sockets stay open, paused, until `close()`: only the daemon can end them.
 */
function stalled(tg: Target): { close(): void } {
  const sockets: Socket[] = [];
  const stall = (text: string, body: Buffer): void => {
    const s = open(tg);
    sockets.push(s);
    s.on(tg.tls ? 'secureConnect' : 'connect', () => s.write(Buffer.concat([Buffer.from(text), body])));
    s.once('data', () => s.pause());
  };
  // Larger than what loopback's socket buffers hold, so the responses cannot end.
  stall(head(tg, 'GET', `/${tg.bucket}/mp6`, '', {}), Buffer.alloc(0));
  stall(head(tg, 'GET', `/${tg.bucket}/mp6`, '', { range: `bytes=${MiB}-` }), Buffer.alloc(0));
  stall(head(tg, 'GET', `/${tg.bucket}/big`, '', {}), Buffer.alloc(0));
  stall(putText(tg, 'stall-a', body4.length, { 'x-amz-server-side-encryption': 'AES256' }), body4.subarray(0, MiB + 100));
  stall(putText(tg, 'stall-b', body4.length), body4.subarray(0, 300_000));
  stall(putText(tg, 'mp-up', body4.length, {}, `partNumber=30&uploadId=${tg.uploadId}`), body4.subarray(0, MiB));
  return { close: () => sockets.forEach((s) => s.destroy()) };
}

/** An upload whose body is sent in two parts (the first `split` bytes) with `between` run in the middle. */
async function midway(tg: Target, text: string, body: Buffer, between: () => Promise<unknown>, split = MiB + 1): Promise<number> {
  const s = open(tg);
  const status = new Promise<number>((resolve) => {
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('\r\n\r\n')) resolve(Number(got.slice(9, 12)));
    });
    s.on('close', () => resolve(0));
    setTimeout(() => resolve(0), 5000);
  });
  await new Promise((r) => s.once(tg.tls ? 'secureConnect' : 'connect', r));
  s.write(text);
  s.write(body.subarray(0, split));
  await sleep(50);
  await between().catch(() => undefined);
  s.write(body.subarray(split));
  const st = await status;
  s.destroy();
  return st;
}

/** An unsigned-payload aws-chunked body with a trailer (what the SDKs send with a checksum). */
function trailer(tg: Target, key: string, data: Buffer, trailerLine: string): { text: string; body: Buffer } {
  const body = Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from(`\r\n0\r\n${trailerLine}\r\n\r\n`)]);
  const path = `/${tg.bucket}/${key}`;
  const headers = signedHeaders(tg.d.port, {
    method: 'PUT',
    path,
    payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length), 'x-amz-trailer': trailerLine.split(':')[0]!, 'content-length': String(body.length) },
  });
  return { text: `PUT ${path} HTTP/1.1\r\n${Object.entries(headers).map(([a, v]) => `${a}: ${v}\r\n`).join('')}\r\n`, body };
}

/** A POST Object form (SigV4 policy allowing the key, plus `conditions`) as raw request text and body. */
function postForm(tg: Target, key: string, file: Buffer, conditions: unknown[]): { text: string; body: Buffer } {
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = date.slice(0, 8);
  const credential = `${ACCESS_KEY}/${day}/${REGION}/s3/aws4_request`;
  const policy = Buffer.from(
    JSON.stringify({ expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ key }, { bucket: tg.bucket }, ...conditions, { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date }] }),
  ).toString('base64');
  const signature = createHmac('sha256', deriveSigningKey(SECRET_KEY, day, REGION, 's3')).update(policy).digest('hex');
  const boundary = 'leakleakleak';
  const fields: Array<[string, string]> = [['key', key], ['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', date], ['policy', policy], ['x-amz-signature', signature]];
  const body = Buffer.concat([
    ...fields.map(([k, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const text = `POST /${tg.bucket} HTTP/1.1\r\nhost: 127.0.0.1:${tg.d.port}\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${body.length}\r\n\r\n`;
  return { text, body };
}

/** The daemon's idle state: what must come back after failures. */
async function idle(tg: Target): Promise<Record<'fds' | 'inFlight' | 'waiting' | 'parked' | 'slots' | 'md5Streams' | 'listeners' | 'allocated' | 'heapMiB' | 'extMiB' | 'rssMiB' | 'data' | 'temp', number>> {
  const m = await scrape(tg.d.endpoint, tg.d.caCert);
  return {
    fds: fdCount(tg.d.proc.pid!),
    inFlight: metricSample(m, 's3d_data_requests_in_flight') ?? -1,
    waiting: metricSample(m, 's3d_data_requests_waiting') ?? -1,
    parked: metricSample(m, 's3d_data_requests_parked') ?? -1,
    slots: metricSample(m, 's3d_crypto_slots_in_use') ?? -1,
    md5Streams: metricSample(m, 's3d_crypto_md5_streams') ?? -1,
    listeners: metricSample(m, 's3d_notify_listeners') ?? -1,
    allocated: metricSample(m, 's3d_crypto_slots_allocated') ?? -1,
    heapMiB: Math.round((metricSample(m, 's3d_nodejs_heap_size_used_bytes') ?? 0) / MiB),
    extMiB: Math.round((metricSample(m, 's3d_nodejs_external_memory_bytes') ?? 0) / MiB),
    rssMiB: Math.round(rssKiB(tg.d.proc.pid!) / 1024),
    data: dataFilePaths(tg.d.dataDir).length,
    temp: tempFiles(tg.d.dataDir).length,
  };
}

async function setup(t: Test, tls: boolean, env: Record<string, string>): Promise<Target> {
  const d = await startDaemon({ tls, env });
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  // The SDK only sets up and tidies (the failures are raw sockets), so it retries as it does by
  // default: a pooled connection reused just as uWS closes it after 10 s idle is reset
  // (docs/operations.md, Known limitations), which failed this test once on a loaded machine (an SDK call:
  // socket hang up).
  const s3 = s3Client(d.endpoint, d.caCert, true);
  const bucket = await createBucket(s3, 'leak');
  const put = async (Key: string, Body: Buffer, extra: Record<string, string> = {}): Promise<string[]> => {
    const before = new Set(dataFilePaths(d.dataDir));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ...extra }));
    return dataFilePaths(d.dataDir).filter((p) => !before.has(p));
  };
  await put('plain', body4);
  await put('sse', body4, { ServerSideEncryption: 'AES256' });
  if (tls) await put('ssec', body4, ssec(KEY));
  await put('big', testBytes(12 * MiB, 6), { ServerSideEncryption: 'AES256' });
  const [tampered] = await put('tampered', body4, { ServerSideEncryption: 'AES256' });
  flipByte(tampered!, 2 * MiB + 70_000);
  const [gone] = await put('gone', body4, { ServerSideEncryption: 'AES256' });
  rmSync(gone!);
  const mp = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp', ServerSideEncryption: 'AES256' }));
  const p1 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: mp.UploadId, PartNumber: 1, Body: testBytes(5 * MiB, 7) }));
  const p2 = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp', UploadId: mp.UploadId, PartNumber: 2, Body: testBytes(MiB, 8) }));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp', UploadId: mp.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
  const mp6 = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp6', ServerSideEncryption: 'AES256' }));
  const parts: Array<{ PartNumber: number; ETag: string }> = [];
  let third: string | undefined;
  for (let n = 1; n <= 6; n++) {
    const before = new Set(dataFilePaths(d.dataDir));
    const r = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp6', UploadId: mp6.UploadId, PartNumber: n, Body: testBytes(n < 6 ? 5 * MiB : 100_000, 20 + n) }));
    if (n === 3) third = dataFilePaths(d.dataDir).find((p) => !before.has(p));
    parts.push({ PartNumber: n, ETag: r.ETag! });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp6', UploadId: mp6.UploadId, MultipartUpload: { Parts: parts } }));
  flipByte(third!, 3 * MiB);
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp-up' }));
  return { d, s3, bucket, uploadId: up.UploadId!, tls };
}

/** Statuses seen per failure ("name: status"), to check the failures failed as meant. */
const seen = new Map<string, number>();
t.teardown(() => {
  if (process.env.LEAK_DEBUG) console.error([...seen].sort().map(([k, n]) => `${k} ×${n}`).join('\n'));
});

/** What some of the failures are answered (at least once each: others may meet a full data gate, 503). */
const EXPECTED: Record<string, number> = {
  'wrong SSE-C key GET': 403,
  'wrong SSE-C key copy': 403,
  'bad Content-MD5 PUT': 400,
  'bad CRC32 PUT': 400,
  'bad Content-MD5 UploadPart': 400,
  'bad x-amz-content-sha256 PUT': 400,
  'aws-chunked bad signature': 403,
  'aws-chunked bad trailing checksum': 400,
  'tampered ranged GET': 500,
  'GET with the data file gone': 500,
  'copy with the source file gone': 500,
  'POST Object over its content-length-range': 400,
  'UploadPartCopy of a range past the source': 400,
  'PUT into a bucket deleted meanwhile': 404,
  'UploadPart into an upload aborted meanwhile': 404,
};

async function burst(tg: Target, names: string[], rounds: number, concurrency: number, seed: number): Promise<void> {
  const rnd = prng(seed);
  const jobs = Array.from({ length: rounds * names.length }, (_, i) => ({ name: names[i % names.length]!, i }));
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1);
    [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        const r = await failures[job.name]!(tg, job.i);
        const k = `${job.name}: ${typeof r === 'number' ? r : 'sdk'}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    }),
  );
}

const only = process.env.LEAK_KINDS?.split(',');
const names = Object.keys(failures).filter((n) => only === undefined || only.some((o) => n.includes(o)));

// TLS: SSE-C needs it. LEAK_TLS=no runs the same over plain HTTP (without SSE-C).
const tls = process.env.LEAK_TLS !== 'no';
t.test(`failing requests give everything back (${tls ? 'TLS' : 'plain HTTP'})`, async (t) => {
  const t0 = Date.now();
  const at = (what: string): void => void (process.env.LEAK_DEBUG && t.comment(`${what} at ${Date.now() - t0} ms`));
  const tg = await setup(t, tls, { S3_DATA_REQUESTS_MAX: '4', S3_DATA_REQUESTS_WAIT: '1s' });
  at('set up');
  const kinds = tls ? names : names.filter((n) => !n.includes('SSE-C'));
  // A first round warms up what the daemon keeps (threads, hashing lanes, slots, fan-out directories).
  await burst(tg, kinds, 1, 6, 1);
  await sleep(1000);
  const base = await idle(tg);
  const baseFds = fdList(tg.d.proc.pid!);
  t.comment(`idle after the first round: ${JSON.stringify(base)}`);
  at('warmed up');
  const stalls = stalled(tg);
  t.teardown(() => stalls.close());
  for (let round = 0; round < Number(process.env.LEAK_ROUNDS ?? 1); round++) await burst(tg, kinds, 2, 8, 100 + round);
  const refused = await refusedByTheGate(tg, 4, () => burst(tg, kinds, 1, 3, 7));
  t.ok(refused.filter((s) => s === 503).length >= 6, `requests refused by the data gate: ${refused.join(' ')}`);
  for (const [name, status] of Object.entries(EXPECTED)) if (kinds.includes(name)) t.ok(seen.has(`${name}: ${status}`), `${name}: ${status}`);
  at('bursts done');
  // Everything deleted: once the reads pinning files are over (the stalled ones cut), no data file may remain.
  const listed = await tg.s3.send(new ListObjectsV2Command({ Bucket: tg.bucket }));
  await tg.s3.send(new DeleteObjectsCommand({ Bucket: tg.bucket, Delete: { Objects: (listed.Contents ?? []).map((o) => ({ Key: o.Key! })) } }));
  const uploads = await tg.s3.send(new ListMultipartUploadsCommand({ Bucket: tg.bucket }));
  for (const u of uploads.Uploads ?? []) await tg.s3.send(new AbortMultipartUploadCommand({ Bucket: tg.bucket, Key: u.Key!, UploadId: u.UploadId! }));
  const leftFiles = pollUntil(() => dataFilePaths(tg.d.dataDir), (f) => f.length === 0, 25_000, 250);
  // The stalled clients still hold their sockets: the daemon must have cut them (over TLS a stalled
  // read is seen as such up to ~16 s after it stopped: its first 16 KiB slices still move the write offset).
  const end = await pollUntil(() => idle(tg), (s) => s.fds <= base.fds && s.inFlight === 0 && s.waiting === 0 && s.parked === 0 && s.slots === 0 && s.md5Streams === 0 && s.listeners === 0 && s.temp === 0, 20_000, 250);
  at('idle');
  t.comment(`idle at the end: ${JSON.stringify(end)}`);
  if (end.fds > base.fds) t.comment(`descriptors beyond the baseline's: ${fdList(tg.d.proc.pid!).filter((f) => !baseFds.includes(f)).join(' ')}`);
  t.ok(end.fds <= base.fds, `open descriptors back to the baseline (${end.fds}, ${base.fds} before)`);
  t.same({ inFlight: end.inFlight, waiting: end.waiting, parked: end.parked }, { inFlight: 0, waiting: 0, parked: 0 }, 'data gate idle');
  t.equal(end.slots, 0, 'no crypto slot held');
  t.equal(end.md5Streams, 0, 'no upload left hashing through an MD5 lane (cut-short SSE-S3 PUTs finished theirs)');
  t.equal(end.listeners, 0, 'no listen stream left');
  t.equal(end.temp, 0, 'no temp file');
  // The slots' peak is kept for reuse; what else the failures held must not stay.
  t.ok(end.rssMiB < base.rssMiB + 96, `RSS roughly flat (${base.rssMiB} → ${end.rssMiB} MiB)`);
  t.equal(tg.d.proc.exitCode, null, 'daemon alive');
  // The buckets made to be deleted during a write are all gone (one a copy landed in first too).
  const buckets = await tg.s3.send(new ListBucketsCommand({}));
  t.strictSame((buckets.Buckets ?? []).map((b) => b.Name), [tg.bucket], 'only the bucket emptied above is left');
  t.strictSame(await leftFiles, [], 'every data file reaped once its object or upload is gone (no read left a pin, no refused part or upload left a file)');
  at('reaped');
  t.equal(await tg.d.stop(), 0, 'clean stop');
  const state = await inspectDataDir(tg.d.dataDir);
  t.strictSame(state.orphans, [], 'no data file without a record');
});

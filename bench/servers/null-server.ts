// The null server (child process): raw uWS with no S3 logic. PUT bodies are counted and dropped
// (sink); GET answers as many bytes as the object name's size label says (source). It is both the
// ceiling every daemon figure is compared with and the load generator's own ceiling.
// Usage: node null-server.js [--cert FILE --key FILE]; prints {"msg":"listening","port":N}.

import { randomFillSync } from 'node:crypto';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { loadUws } from '../../daemon/http/uws.js';
import { sizeFromPath } from '../sizes.js';

const uws = loadUws();
const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const cert = arg('--cert');
const key = arg('--key');
const app: TemplatedApp = cert !== undefined && key !== undefined ? uws.SSLApp({ cert_file_name: cert, key_file_name: key }) : uws.App();

const SOURCE = randomFillSync(Buffer.allocUnsafeSlow(1 << 20));
const ETAG = '"d41d8cd98f00b204e9800998ecf8427e"';
const LIST_KEYS = 1000;
const LIST_XML = Buffer.from(
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bench</Name><Prefix></Prefix>` +
    `<KeyCount>${LIST_KEYS}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
    Array.from(
      { length: LIST_KEYS },
      (_, i) => `<Contents><Key>4KiB/none/${i}</Key><LastModified>2025-01-01T00:00:00.000Z</LastModified><ETag>${ETAG.replaceAll('"', '&quot;')}</ETag><Size>4096</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    ).join('') +
    '</ListBucketResult>',
);
let bytesIn = 0;

/** Reads and drops the body, then answers. */
function sink(res: HttpResponse, answer: () => void): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  res.onData((chunk, last) => {
    bytesIn += chunk.byteLength;
    if (last && !aborted) res.cork(answer);
  });
}

/** Streams `size` bytes with tryEnd/onWritable backpressure (content is irrelevant). */
function source(res: HttpResponse, size: number): void {
  if (size <= SOURCE.length) {
    res.cork(() => res.writeHeader('ETag', ETAG).end(SOURCE.subarray(0, size)));
    return;
  }
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const pump = (): boolean => {
    // Bounded: each pass writes up to 1 MiB or stops on backpressure.
    for (let i = 0; i < 1 + size / SOURCE.length && !aborted; i++) {
      const offset = res.getWriteOffset();
      const n = Math.min(SOURCE.length, size - offset);
      if (n <= 0) return true;
      const [ok, done] = res.tryEnd(SOURCE.subarray(0, n), size);
      if (done) return true;
      if (!ok) return false;
    }
    return true;
  };
  res.onWritable(() => pump());
  res.cork(() => {
    res.writeStatus('200 OK').writeHeader('ETag', ETAG);
    pump();
  });
}

app.put('/*', (res) => {
  sink(res, () => res.writeHeader('ETag', ETAG).end());
});
app.post('/*', (res, req) => {
  const query = req.getQuery() ?? '';
  sink(res, () => {
    if (query.startsWith('uploads') || query.includes('&uploads')) {
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><UploadId>null-upload</UploadId></InitiateMultipartUploadResult>');
    } else {
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Bucket>bench</Bucket><Key>k</Key><ETag>${ETAG.replaceAll('"', '&quot;')}</ETag></CompleteMultipartUploadResult>`);
    }
  });
});
app.get('/*', (res, req) => {
  const url = req.getUrl();
  const size = sizeFromPath(url);
  if (size === undefined) {
    // a bucket-level GET: ListObjectsV2 (or health probes)
    res.cork(() => res.end(url.startsWith('/minio/') ? '' : LIST_XML));
    return;
  }
  source(res, size);
});
app.head('/*', (res, req) => {
  // In this uWS build (20.30-unofficial) endWithoutBody(length) aborts a synchronous handler and,
  // when deferred, breaks keep-alive for the next request; a written Content-Length does neither.
  const size = sizeFromPath(req.getUrl()) ?? 0;
  res.cork(() => res.writeHeader('ETag', ETAG).writeHeader('Content-Length', String(size)).endWithoutBody());
});
app.del('/*', (res) => {
  res.cork(() => res.writeStatus('204 No Content').end());
});

app.listen('127.0.0.1', 0, (listenSocket) => {
  if (!listenSocket) {
    process.stderr.write('null-server: listen failed\n');
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: uws.us_socket_local_port(listenSocket as unknown as Parameters<typeof uws.us_socket_local_port>[0]) })}\n`);
  const stop = (): void => {
    uws.us_listen_socket_close(listenSocket);
    process.stderr.write(`null-server: ${bytesIn} body bytes received\n`);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
});

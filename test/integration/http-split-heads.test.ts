// A request head that reaches the daemon in pieces (a network that splits it, a TLS client that
// writes it in two records) is read whole up to 16 KiB, over HTTP and HTTPS (found by a sweep: past
// 4 KiB such a request got its connection closed without an answer, while the same bytes in one
// piece were served). Past S3's 8 KB header bound the answer is S3's error, not a closed connection.
import t from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startDaemonFor } from '../helpers/daemon.js';
import { signedRequestText } from '../helpers/http.js';
import { clientFor, createBucket } from '../helpers/s3.js';
import { sendInTwoPieces } from '../helpers/tcp.js';
import { chooseBinding, nativeBindingPath } from '../../daemon/http/uws.js';

const chosen = chooseBinding(nativeBindingPath());

/** `head` written in two pieces (cut after `cut` bytes): the status code and the body, or 'no answer'. */
async function splitRequest(open: () => Socket, ready: 'connect' | 'secureConnect', head: string, cut: number): Promise<{ status: string; body: string }> {
  const data = await sendInTwoPieces(open(), ready, Buffer.from(head), cut, 15_000);
  return { status: data.startsWith('HTTP/1.1 ') ? data.slice(9, 12) : 'no answer', body: data.slice(data.indexOf('\r\n\r\n') + 4) };
}

for (const tls of [false, true]) {
  t.test(`over ${tls ? 'HTTPS' : 'HTTP'}`, { skip: chosen.parserPatched ? false : `no patched binary here (${chosen.unpatchedReason})` }, async (t) => {
    const d = await startDaemonFor(t, { tls });
    const s3 = clientFor(d);
    const bucket = await createBucket(s3, 'split');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'split heads' }));
    const open = (): Socket => (tls ? tlsConnect({ host: '127.0.0.1', port: d.port, ca: d.caCert, servername: 'localhost' }) : netConnect(d.port, '127.0.0.1'));
    const ready = tls ? 'secureConnect' : 'connect';
    const head = (junk: number): string => signedRequestText(d.port, { method: 'GET', path: `/${bucket}/k`, headers: { 'x-junk': 'j'.repeat(junk) } });
    for (const [junk, cut] of [[5000, 100], [5000, 4000], [7000, 2000]] as const) {
      const r = await splitRequest(open, ready, head(junk), cut);
      t.same([r.status, r.body], ['200', 'split heads'], `a ${head(junk).length}-byte head in two pieces (cut at ${cut}): served`);
    }
    const big = await splitRequest(open, ready, head(9000), 3000);
    t.equal(big.status, '400', `a ${head(9000).length}-byte head in two pieces: 400`);
    t.match(big.body, /<Code>RequestHeaderSectionTooLarge<\/Code>/, "S3's error for a head past 8 KB, not a closed connection");
  });
}

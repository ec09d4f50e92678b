// workers/crypto.ts's MD5 tasks on their own: a stream's updates say how many bytes came before
// them, and a thread without that state (a replacement Piscina started after its predecessor
// died in a task) refuses them instead of hashing on from a fresh MD5 (a wrong ETag, silently).
import t from 'tap';
import { createHash } from 'node:crypto';
import run from '../../../workers/crypto.js';
import type { CryptoTask } from '../../../workers/protocol.js';

const data = Buffer.from('0123456789abcdef'.repeat(64));
const buf = new SharedArrayBuffer(data.length);
Buffer.from(buf).set(data);

function task(t: CryptoTask): { digest?: Uint8Array } {
  return run(t) as { digest?: Uint8Array };
}

t.test('updates in order give the MD5 of the whole stream', async (t) => {
  task({ op: 'md5-update', stream: 1, buf, offset: 0, length: 100, at: 0 });
  task({ op: 'md5-update', stream: 1, buf, offset: 100, length: data.length - 100, at: 100 });
  const r = task({ op: 'md5-digest', stream: 1, hashed: data.length });
  t.equal(Buffer.from(r.digest!).toString('hex'), createHash('md5').update(data).digest('hex'));
  const empty = task({ op: 'md5-digest', stream: 2, hashed: 0 });
  t.equal(Buffer.from(empty.digest!).toString('hex'), createHash('md5').digest('hex'), 'a stream of no bytes');
});

t.test('a thread without the stream\u2019s state refuses to go on from a fresh MD5', async (t) => {
  t.throws(() => task({ op: 'md5-update', stream: 3, buf, offset: 100, length: 100, at: 100 }), /MD5 state of stream 3 lost/, 'an update that is not the first');
  t.throws(() => task({ op: 'md5-digest', stream: 4, hashed: 100 }), /MD5 state of stream 4 lost/, 'a digest of bytes this thread never saw');
  task({ op: 'md5-update', stream: 5, buf, offset: 0, length: 10, at: 0 });
  t.throws(() => task({ op: 'md5-update', stream: 5, buf, offset: 20, length: 10, at: 20 }), /lost/, 'an update that skips bytes');
  t.throws(() => task({ op: 'md5-digest', stream: 5, hashed: 30 }), /lost/, 'a digest of more than was hashed');
});

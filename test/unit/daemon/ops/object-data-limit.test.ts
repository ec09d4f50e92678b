// writeData's body limit (daemon/ops/object-data.ts): a body of unknown length (chunked, no
// Content-Length) is refused with the caller's error once it passes the limit, and its data file is
// removed, instead of being stored whole; a declared length is the caller's to check, and a body
// at the limit is written. Real FileStore on disk, no crypto pool (plain objects).
import t from 'tap';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Error } from '../../../../daemon/errors.js';
import { capped, writeData, type BodyLimit } from '../../../../daemon/ops/object-data.js';
import { FileStore } from '../../../../daemon/storage/files.js';

const KiB = 1024;
const dir = mkdtempSync(join(tmpdir(), 's3d-body-limit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const files = new FileStore(dir, { warmBytes: 0 });
const env = { pool: null, files, inlineThreshold: 4 * KiB };

const limit: BodyLimit = { maxBytes: 256 * KiB, tooLarge: (seen) => new S3Error('EntityTooLarge', undefined, { fields: { ProposedSize: String(seen) } }) };
/** `n` bytes in chunks of 64 KiB (the last shorter), counting what was asked for. */
function body(n: number): AsyncIterable<Buffer> & { pulled: number } {
  const out = {
    pulled: 0,
    async *[Symbol.asyncIterator]() {
      for (let off = 0; off < n; off += 64 * KiB) {
        const chunk = Buffer.alloc(Math.min(64 * KiB, n - off), 7);
        out.pulled += chunk.length;
        yield chunk;
      }
    },
  };
  return out;
}
/** Data files on disk (objects/xx/id). */
const dataFiles = (): string[] => readdirSync(join(dir, '.s3d', 'objects'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);

t.before(() => files.init());

t.test('unknown length past the limit: the caller’s error, no data file left, reading stops', async (t) => {
  const src = body(1024 * KiB);
  const err = await writeData(env, src, { md5: true, declaredLength: undefined, limit }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof S3Error && err.code === 'EntityTooLarge', `EntityTooLarge (${String(err)})`);
  t.equal((err as S3Error).fields?.ProposedSize, String(256 * KiB + 64 * KiB), 'naming the bytes read so far');
  t.ok(src.pulled <= 256 * KiB + 64 * KiB, `stopped reading at the chunk past the limit (${src.pulled} bytes read of 1 MiB)`);
  t.same(dataFiles(), [], 'the data file was removed');
});

t.test('unknown length at the limit is written; a declared length is not capped here', async (t) => {
  const at = await writeData(env, body(256 * KiB), { md5: true, declaredLength: undefined, limit });
  t.equal(at.size, 256 * KiB, 'exactly the limit: written');
  const declared = await writeData(env, body(300 * KiB), { md5: true, declaredLength: 300 * KiB, limit });
  t.equal(declared.size, 300 * KiB, 'a declared length (the caller refuses one over the limit before reading) is written');
  const none = await writeData(env, body(300 * KiB), { md5: true, declaredLength: undefined });
  t.equal(none.size, 300 * KiB, 'no limit given: written');
});

t.test('capped keeps a lent body lent', async (t) => {
  let lent = false;
  const source = {
    async *[Symbol.asyncIterator]() {
      yield Buffer.alloc(10);
    },
    lend() {
      lent = true;
      return this[Symbol.asyncIterator]() as unknown as AsyncIterable<Buffer>;
    },
  };
  const out = capped(source as AsyncIterable<Buffer>, { maxBytes: 5, tooLarge: () => new S3Error('EntityTooLarge') }) as AsyncIterable<Buffer> & { lend?: () => AsyncIterable<Buffer> };
  t.type(out.lend, 'function', 'the lend mode is kept');
  await t.rejects(
    (async () => {
      for await (const _ of out.lend!()) void _;
    })(),
    { code: 'EntityTooLarge' },
    'and the lent read is capped too',
  );
  t.ok(lent, 'through the source’s own lend()');
});

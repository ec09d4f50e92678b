import t from 'tap';
import { STATUS_CODES } from 'node:http';
import { discardBody, statusLine } from '../../../../daemon/http/respond.js';
import { S3_ERRORS } from '../../../../daemon/errors.js';

t.test('every status s3d answers with has its reason phrase (507 went out as "507 Status")', async (t) => {
  const errors = new Set(Object.values(S3_ERRORS).map(([status]) => status));
  // The statuses handlers return besides the error table's (ops/*: a Result's status).
  const ok = [200, 201, 204, 206, 303, 304];
  for (const status of [...errors, ...ok].sort()) {
    const line = statusLine(status);
    t.not(line, `${status} Status`, `${status} has a reason phrase`);
    t.match(line, new RegExp(`^${status} [A-Z][A-Za-z -]+$`), line);
  }
  t.equal(statusLine(507), `507 ${STATUS_CODES[507]}`, '507 Insufficient Storage (XMinioStorageFull), as MinIO sends it');
});

t.test('discardBody: a body source that fails as it closes is told, not an unhandled rejection (which ends the daemon)', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => void process.off('unhandledRejection', onUnhandled));
  const failing = (how: 'rejects' | 'throws'): AsyncIterable<Buffer> => ({
    [Symbol.asyncIterator]: () => ({
      next: async () => ({ done: true, value: undefined }),
      return: how === 'rejects'
        ? async () => {
            throw new Error('close failed');
          }
        : () => {
            throw new Error('close threw');
          },
    }),
  });
  const told: string[] = [];
  discardBody({ length: 10, chunks: failing('rejects') }, (err) => told.push((err as Error).message));
  discardBody({ length: 10, chunks: failing('throws') }, (err) => told.push((err as Error).message));
  discardBody({ length: 10, chunks: (async function* () {})() }, (err) => told.push(String(err)));
  await new Promise((r) => setTimeout(r, 50));
  t.same(unhandled, [], 'no unhandled rejection');
  t.same(told.sort(), ['close failed', 'close threw'], 'both failures are told; a source that closes cleanly is not');
});

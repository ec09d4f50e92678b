import t from 'tap';
import { STATUS_CODES } from 'node:http';
import { statusLine } from '../../../../daemon/http/respond.js';
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

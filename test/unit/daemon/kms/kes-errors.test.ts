// kes-client.ts's mapping of KES error responses to KmsError codes (by status and exact message, as
// MinIO's client does) and of error bodies to messages: what decides whether an S3 client sees 403,
// 503 or 500, and what the log and readiness name.

import t from 'tap';
import { kesError, kesErrorMessage } from '../../../../daemon/kms/kes-client.js';

const JSON_TYPE = 'application/json';

t.test('KES error responses map to codes by status and message', async (t) => {
  const cases: Array<[number, string, string]> = [
    [404, 'key does not exist', 'KeyNotFound'],
    [400, 'key already exists', 'KeyExists'],
    [400, 'key does already exist', 'KeyExists'],
    [403, 'not authorized: insufficient permissions', 'Forbidden'],
    [403, 'prohibited by policy', 'Forbidden'],
    [400, 'decryption failed: ciphertext is not authentic', 'NotAuthentic'],
    [502, '', 'Unavailable'],
    [503, 'sealed', 'Unavailable'],
    [504, '', 'Unavailable'],
    // A failure of KES (or a proxy in front of it) is an outage to clients, not s3d's own error.
    [500, 'boom', 'Unavailable'],
    [507, '', 'Unavailable'],
    [501, 'not implemented', 'Internal'],
    // A rate limit (a proxy's) passes as an outage does: retryable, not the request's fault.
    [429, 'too many requests', 'Unavailable'],
    [400, 'invalid key name', 'BadRequest'],
    [404, 'not found', 'BadRequest'],
  ];
  for (const [status, message, code] of cases) t.equal(kesError(status, message).code, code, `${status} ${JSON.stringify(message)} → ${code}`);
});

t.test('a 403 from something in front of KES (a proxy, a gateway) is Forbidden too, naming what it said', async (t) => {
  const body = Buffer.from('<html><body><h1>403 Forbidden</h1>Request denied by proxy policy</body></html>\n');
  const message = kesErrorMessage('text/html', body);
  const err = kesError(403, message);
  t.equal(err.code, 'Forbidden', 'Forbidden: clients get 403 AccessDenied, readiness "KMS access denied"');
  t.match(err.message, /denied by proxy policy/, 'the message keeps the body');
  t.equal(kesError(403, '').message, 'kes: HTTP 403', 'an empty body names the status');
});

t.test('error bodies: JSON message, legacy error, else the text', async (t) => {
  t.equal(kesErrorMessage(JSON_TYPE, Buffer.from('{"message":"key does not exist"}')), 'key does not exist');
  t.equal(kesErrorMessage(`${JSON_TYPE}; charset=utf-8`, Buffer.from('{"error":"prohibited by policy"}')), 'prohibited by policy', 'the legacy field');
  t.equal(kesErrorMessage(JSON_TYPE, Buffer.from('not json ')), 'not json', 'broken JSON: the text');
  t.equal(kesErrorMessage('text/plain', Buffer.from(' sealed\n')), 'sealed', 'plain text, trimmed');
});

t.test('an error page is cut to 200 characters for the log', async (t) => {
  const page = `<html>${'x'.repeat(5000)}</html>`;
  const message = kesErrorMessage('text/html', Buffer.from(page));
  t.equal(message.length, 201, '200 characters and an ellipsis');
  t.ok(message.endsWith('…'));
});

// Request text that is not UTF-8 is refused, never read with U+FFFD in place of the bytes: a
// replaced name is another name (the copy source `src\uFFFD` for `src%E9`, a form's key), and
// many different requests would mean one. Covered: the query (hoisted x-amz-* headers, listing
// parameters), header values (uWS hands them over decoded, a bad byte as U+FFFD), the SSE-KMS
// encryption context, and POST form fields, names and filenames (binary data sent as a form's
// text field cannot be read back as sent, and is refused; as a file part it is stored exactly).
import t from 'tap';
import { createHmac } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { deriveSigningKey } from '../../daemon/auth/sigv4.js';
import { ACCESS_KEY, REGION, SECRET_KEY, startDaemonFor } from '../helpers/daemon.js';
import { md5Hex } from '../helpers/hash.js';
import { assertXmlError, raw } from '../helpers/http.js';
import { sendPost } from '../helpers/post-object.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';
import { parseHttpResponse, tcpExchange } from '../helpers/tcp.js';

const d = await startDaemonFor(t);
const s3 = d.s3();
const bucket = await createBucket(s3, 'utf8req');
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src', Body: 'the source' }));
// The keys a lossy reading would name instead.
await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'src\uFFFD', Body: 'U+FFFD source' }));
const exists = async (key: string): Promise<boolean> => (await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))) === 'ok';

t.test('a query that is not percent-encoded UTF-8 is InvalidArgument, and nothing is copied or stored', async (t) => {
  const copy = await raw(d.port, { method: 'PUT', path: `/${bucket}/copied`, query: `x-amz-copy-source=%2F${bucket}%2Fsrc%E9` });
  assertXmlError(t, copy, 400, 'InvalidArgument', 'a copy source in the query with %E9');
  t.notOk(await exists('copied'), 'src\\uFFFD was not copied');
  const overlong = await raw(d.port, { method: 'PUT', path: `/${bucket}/copied`, query: `x-amz-copy-source=%2F${bucket}%2Fsrc%C0%AF` });
  assertXmlError(t, overlong, 400, 'InvalidArgument', 'an overlong form');
  const meta = await raw(d.port, { method: 'PUT', path: `/${bucket}/meta`, query: 'x-amz-meta-foo=a%E9b', body: 'x' });
  assertXmlError(t, meta, 400, 'InvalidArgument', 'a metadata value in the query with %E9');
  t.notOk(await exists('meta'), 'nothing stored');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&prefix=src%FF' }), 400, 'InvalidArgument', 'a listing prefix with %FF');
  assertXmlError(t, await raw(d.port, { method: 'GET', path: `/${bucket}/src`, query: 'response-content-disposition=x%E9y' }), 400, 'InvalidArgument', 'a response override with %E9');

  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&prefix=100%' })).status, 200, 'a % that starts no escape is a %, as before');
  const fine = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&prefix=src%EF%BF%BD' });
  t.equal(fine.status, 200, 'U+FFFD itself, percent-encoded, is a prefix like any other');
  t.match(fine.body.toString(), /<Key>src\uFFFD<\/Key>/);
  t.notMatch(fine.body.toString(), /<Key>src<\/Key>/);
  const copied = await raw(d.port, { method: 'PUT', path: `/${bucket}/copied`, query: `x-amz-copy-source=%2F${bucket}%2Fsrc%C3%A9%2B` });
  assertXmlError(t, copied, 404, 'NoSuchKey', 'valid UTF-8 names the key it spells (src\u00e9+, which does not exist)');
});

t.test('a header value holding a byte that is not UTF-8 is InvalidArgument', async (t) => {
  const request = Buffer.concat([
    Buffer.from(`PUT /${bucket}/hdr HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\nx-amz-copy-source: /${bucket}/src`),
    Buffer.from([0xe9]),
    Buffer.from('x\r\nContent-Length: 0\r\n\r\n'),
  ]);
  const r = parseHttpResponse((await tcpExchange(d.port, request, { untilResponse: true })).data);
  t.equal(r?.status, 400, 'answered 400 before anything else is judged');
  t.match(r?.body.toString() ?? '', /<Code>InvalidArgument<\/Code>/);
  t.match(r?.body.toString() ?? '', /x-amz-copy-source header is not valid UTF-8/);
  t.notOk(await exists('hdr'), 'nothing copied');
  // A browser's cookie or user agent may hold such bytes; s3d never acts on them.
  const anon = Buffer.concat([
    Buffer.from(`GET /${bucket}/src HTTP/1.1\r\nHost: 127.0.0.1:${d.port}\r\nCookie: a=`),
    Buffer.from([0xe9]),
    Buffer.from('b\r\n\r\n'),
  ]);
  const refusedAnon = parseHttpResponse((await tcpExchange(d.port, anon, { untilResponse: true })).data);
  t.equal(refusedAnon?.status, 403, 'an anonymous GET with such a cookie is judged as any other (AccessDenied), not refused for the cookie');
});

t.test('the SSE-KMS encryption context must be strict base64 of UTF-8 JSON', async (t) => {
  const put = (context: string) =>
    raw(d.port, { method: 'PUT', path: `/${bucket}/kms`, body: 'x', headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-context': context } });
  const latin1 = Buffer.concat([Buffer.from('{"k":"v'), Buffer.from([0xe9]), Buffer.from('"}')]).toString('base64');
  assertXmlError(t, await put(latin1), 400, 'InvalidArgument', 'JSON that is not UTF-8');
  assertXmlError(t, await put(`${Buffer.from('{"k":"v"}').toString('base64')}!!!***`), 400, 'InvalidArgument', 'base64 with junk after it');
  t.notOk(await exists('kms'), 'nothing stored');
  const ok = await put(Buffer.from('{"k":"v\u00e9"}').toString('base64'));
  t.equal(ok.status, 200, 'UTF-8 JSON in base64 is taken');
  const head = await raw(d.port, { method: 'HEAD', path: `/${bucket}/kms` });
  t.equal(head.headers['x-amz-server-side-encryption-context'], Buffer.from('{"k":"v\u00e9"}').toString('base64'), 'and returned as sent');
});

t.test('POST forms: text is strict UTF-8; a file sent as a text field is stored byte for byte', async (t) => {
  const now = new Date();
  const date = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = date.slice(0, 8);
  const credential = `${ACCESS_KEY}/${day}/${REGION}/s3/aws4_request`;
  const policy = Buffer.from(JSON.stringify({
    expiration: new Date(now.getTime() + 600_000).toISOString(),
    conditions: [{ bucket }, ['starts-with', '$key', ''], { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' }, { 'x-amz-credential': credential }, { 'x-amz-date': date }],
  })).toString('base64');
  const signature = createHmac('sha256', deriveSigningKey(SECRET_KEY, day, REGION, 's3')).update(policy).digest('hex');
  const fields: Array<[string, Buffer | string]> = [['x-amz-algorithm', 'AWS4-HMAC-SHA256'], ['x-amz-credential', credential], ['x-amz-date', date], ['policy', policy], ['x-amz-signature', signature]];
  const boundary = 'utf8-boundary-41';
  const post = (parts: Array<{ name: Buffer | string; value: Buffer | string; filename?: Buffer | string; type?: string }>) => {
    const out: Buffer[] = [];
    for (const p of parts) {
      out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="`), Buffer.from(p.name), Buffer.from('"'));
      if (p.filename !== undefined) out.push(Buffer.from('; filename="'), Buffer.from(p.filename), Buffer.from('"'));
      if (p.type !== undefined) out.push(Buffer.from(`\r\nContent-Type: ${p.type}`));
      out.push(Buffer.from('\r\n\r\n'), Buffer.from(p.value), Buffer.from('\r\n'));
    }
    out.push(Buffer.from(`--${boundary}--\r\n`));
    return sendPost(d, `/${bucket}`, Buffer.concat(out), { 'content-type': `multipart/form-data; boundary=${boundary}` });
  };
  const signed = fields.map(([name, value]) => ({ name, value }));

  // curl -F 'file=<bytes.bin' sends the file as a field without a filename: read as text, its
  // bytes that are not UTF-8 would be lost, so it is refused (it was stored changed).
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const asField = await post([{ name: 'key', value: 'as-field.bin' }, ...signed, { name: 'file', value: bytes }]);
  assertXmlError(t, asField, 400, 'InvalidArgument', 'binary data sent as a text field');
  t.notOk(await exists('as-field.bin'), 'nothing stored');
  const asPart = await post([{ name: 'key', value: 'as-part.bin' }, ...signed, { name: 'file', value: bytes, filename: 'bytes.bin' }]);
  t.equal(asPart.status, 204, 'the same bytes as a file part');
  t.equal(md5Hex(await getBytes(s3, { Bucket: bucket, Key: 'as-part.bin' })), md5Hex(bytes), 'stored byte for byte (all 256 byte values)');
  const textField = await post([{ name: 'key', value: 'as-field.txt' }, ...signed, { name: 'file', value: 'caf\u00e9 \u20ac', type: 'text/plain; charset=utf-8' }]);
  t.equal(textField.status, 204, 'UTF-8 text as a text field (with charset=utf-8, as .NET StringContent sends it)');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'as-field.txt' })).toString('hex'), Buffer.from('caf\u00e9 \u20ac').toString('hex'), 'stored as sent');

  const latin1Key = await post([{ name: 'key', value: Buffer.from([0x70, 0x6b, 0xe9]) }, ...signed, { name: 'file', value: 'x', filename: 'f.txt' }]);
  assertXmlError(t, latin1Key, 400, 'InvalidArgument', 'a key field holding 0xE9');
  t.notOk(await exists('pk\uFFFD'), 'no key with U+FFFD was made');
  const declared = await post([{ name: 'key', value: 'caf\u00e9', type: 'text/plain; charset=utf-8' }, ...signed, { name: 'file', value: 'x', filename: 'f.txt' }]);
  t.equal(declared.status, 204, 'a key field declaring charset=utf-8 is read as UTF-8');
  t.ok(await exists('caf\u00e9'), 'under the key it spells');
  const latin1Name = await post([{ name: 'key', value: 'up/${filename}' }, ...signed, { name: 'file', value: 'x', filename: Buffer.from([0x66, 0xe9, 0x2e, 0x62]) }]);
  assertXmlError(t, latin1Name, 400, 'InvalidArgument', 'a filename holding 0xE9 in ${filename}');
  const utf8 = await post([{ name: 'key', value: 'up/${filename}' }, ...signed, { name: 'file', value: 'r\u00e9sum\u00e9', filename: 'r\u00e9sum\u00e9.txt' }]);
  t.equal(utf8.status, 204, 'a UTF-8 filename is taken');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'up/r\u00e9sum\u00e9.txt' })).toString(), 'r\u00e9sum\u00e9', 'under its name, with its bytes');
  const trailing = await post([{ name: 'key', value: 'trailing.txt' }, ...signed, { name: 'file', value: 'kept', filename: 'f.txt' }, { name: 'other', value: 'x', filename: Buffer.from([0xe9, 0x2e, 0x74]) }]);
  t.equal(trailing.status, 204, 'a part after the file is dropped unread, whatever its name');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'trailing.txt' })).toString(), 'kept');
});

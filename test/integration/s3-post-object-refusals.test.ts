// Browser-form uploads (POST Object) refused, against the real daemon, with POST policies signed
// here by hand (test/helpers/post-object.ts): every refusal (signature, access key, expiry,
// conditions, uncovered fields, content-length-range, missing key or file, anonymous, malformed
// policy or body, missing bucket) gets the right S3 error, stores nothing and leaves an existing
// object untouched. What is accepted: s3-post-object-handmade.test.ts.

import t from 'tap';
import { request as httpRequest } from 'node:http';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, bucketName, startDaemon, testBytes } from '../helpers/daemon.js';
import { md5Base64, md5Hex } from '../helpers/hash.js';
import { assertXmlError, raw, xmlField } from '../helpers/http.js';
import { createBucket } from '../helpers/s3.js';
import { b64, encodeForm, formData, getObject, headCode, multipart, policyFields, postForm, quoted, sendPost, signedForm, type Field, type FilePart, type Part, type PolicySpec } from '../helpers/post-object.js';

const MiB = 1024 * 1024;

const plain = await startDaemon({ env: { S3_DOMAIN: 's3.test' } });
t.teardown(async () => {
  await plain.stop();
  plain.cleanup();
});
const s3 = plain.s3();

t.test('refusals: the right S3 error, nothing stored, an existing object untouched', async (t) => {
  const bucket = await createBucket(s3, 'post');
  const original = Buffer.from('the original object');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'guarded.txt', Body: original, ContentType: 'text/x-original' }));
  const payload = testBytes(500, 41);

  interface Case {
    what: string;
    status: number;
    codes: string[];
    form: (key: string) => FormData;
  }
  const plainForm = (key: string, spec: Partial<PolicySpec> = {}, fields: Field[] = [], file: FilePart | null = { data: payload }): FormData =>
    signedForm(bucket, key, fields, spec, file ?? undefined);
  const cases: Case[] = [
    {
      what: 'SigV4 signature with one hex digit changed',
      status: 403,
      codes: ['SignatureDoesNotMatch'],
      form: (key) => {
        const f = policyFields({ bucket, conditions: [{ key }] });
        const sig = f.find(([k]) => k === 'x-amz-signature')!;
        sig[1] = (sig[1][0] === 'a' ? 'b' : 'a') + sig[1].slice(1);
        return formData([['key', key], ...f], { data: payload });
      },
    },
    {
      what: 'policy edited after signing (the old signature kept)',
      status: 403,
      codes: ['SignatureDoesNotMatch'],
      form: (key) => plainForm(key, { conditions: [['starts-with', '$key', 'nothing/']], swapPolicy: b64(JSON.stringify({ expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [['starts-with', '$key', '']] })) }),
    },
    { what: 'signed with a wrong secret', status: 403, codes: ['SignatureDoesNotMatch'], form: (key) => plainForm(key, { secret: `${SECRET_KEY}x` }) },
    { what: 'Signature V2 with a wrong secret', status: 403, codes: ['SignatureDoesNotMatch'], form: (key) => plainForm(key, { v2: true, secret: 'not-the-secret' }) },
    { what: 'SigV4 with an unknown access key', status: 403, codes: ['InvalidAccessKeyId'], form: (key) => plainForm(key, { accessKey: 'AKIANOSUCHUSER00000', secret: 'whatever' }) },
    { what: 'Signature V2 with an unknown access key', status: 403, codes: ['InvalidAccessKeyId'], form: (key) => plainForm(key, { v2: true, accessKey: 'AKIANOSUCHUSER00000', secret: 'whatever' }) },
    { what: 'expired policy', status: 403, codes: ['AccessDenied'], form: (key) => plainForm(key, { expiration: new Date(Date.now() - 60_000) }) },
    { what: 'key outside starts-with', status: 403, codes: ['AccessDenied'], form: (key) => plainForm(key, { conditions: [['starts-with', '$key', 'allowed/']] }) },
    // The bucket (the URL's) needs its condition as every field does: S3 refuses the policy.
    { what: 'no bucket condition', status: 403, codes: ['AccessDenied'], form: (key) => plainForm(key, { bucket: null }) },
    { what: 'no bucket condition (Signature V2)', status: 403, codes: ['AccessDenied'], form: (key) => plainForm(key, { bucket: null, v2: true }) },
    {
      what: 'Content-Type not the one the policy wants',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => plainForm(key, { conditions: [{ key }, { 'Content-Type': 'image/png' }] }, [['Content-Type', 'text/html']]),
    },
    {
      // S3 reads a Content-Type with commas as a list under starts-with: every member must match.
      what: 'a Content-Type list with a member outside the starts-with prefix',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => plainForm(key, { conditions: [{ key }, ['starts-with', '$Content-Type', 'image/']] }, [['Content-Type', 'image/jpg,text/html']]),
    },
    {
      what: 'eq compares exactly (case of the value matters)',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => plainForm(key, { conditions: [{ key }, ['eq', '$x-amz-meta-color', 'blue']] }, [['x-amz-meta-color', 'Blue']]),
    },
    { what: 'policy for another bucket', status: 403, codes: ['AccessDenied'], form: (key) => plainForm(key, { bucket: `${bucket}-other` }) },
    {
      what: 'a field no condition covers (x-amz-meta-*)',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => plainForm(key, {}, [['x-amz-meta-sneaky', '1']]),
    },
    {
      what: 'a field no condition covers (success_action_status)',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => plainForm(key, {}, [['success_action_status', '201']]),
    },
    {
      what: 'a field no condition covers (Content-Type)',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => plainForm(key, {}, [['Content-Type', 'text/html']]),
    },
    {
      what: 'SSE-C fields over plain HTTP',
      status: 400,
      codes: ['InvalidRequest'],
      form: (key) => {
        const k = Buffer.alloc(32, 9);
        const fields: Field[] = [
          ['x-amz-server-side-encryption-customer-algorithm', 'AES256'],
          ['x-amz-server-side-encryption-customer-key', k.toString('base64')],
          ['x-amz-server-side-encryption-customer-key-MD5', md5Base64(k)],
        ];
        return plainForm(key, { conditions: [{ key }, ...fields.map(([n]) => ['starts-with', `$${n}`, ''])] }, fields);
      },
    },
    {
      what: 'an acl field granting others (ACLs are disabled, as on PutObject)',
      status: 400,
      codes: ['AccessControlListNotSupported'],
      form: (key) => plainForm(key, { conditions: [{ key }, { acl: 'public-read' }] }, [['acl', 'public-read']]),
    },
    {
      what: 'a Content-MD5 field the file does not match',
      status: 400,
      codes: ['BadDigest'],
      form: (key) => plainForm(key, { conditions: [{ key }, ['starts-with', '$Content-MD5', '']] }, [['Content-MD5', md5Base64('other bytes')]]),
    },
    { what: 'file over content-length-range', status: 400, codes: ['EntityTooLarge'], form: (key) => plainForm(key, { conditions: [{ key }, ['content-length-range', 0, 499]] }) },
    { what: 'file under content-length-range', status: 400, codes: ['EntityTooSmall'], form: (key) => plainForm(key, { conditions: [{ key }, ['content-length-range', 501, 1000]] }) },
    { what: 'no file', status: 400, codes: ['InvalidArgument'], form: (key) => plainForm(key, {}, [], null) },
    {
      // A file input with `multiple` and two files chosen: S3 refuses the form, whatever follows.
      what: 'two files',
      status: 400,
      codes: ['InvalidArgument'],
      form: (key) => {
        const fd = plainForm(key);
        fd.append('file', new Blob([Buffer.from('a second file')]), 'second.bin');
        return fd;
      },
    },
    {
      what: 'a file, then a text field named File',
      status: 400,
      codes: ['InvalidArgument'],
      form: (key) => {
        const fd = plainForm(key);
        fd.append('File', 'typed text');
        return fd;
      },
    },
    { what: 'anonymous form (no policy, no signature)', status: 403, codes: ['AccessDenied'], form: (key) => formData([['key', key]], { data: payload }) },
    {
      what: 'a policy without a signature',
      status: 400,
      codes: ['InvalidArgument'],
      form: (key) => formData([['key', key], ['AWSAccessKeyId', ACCESS_KEY], ['policy', b64(JSON.stringify({ expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ bucket }, { key }] }))]], { data: payload }),
    },
    {
      // No signer named at all: an anonymous form, as S3 (recorded by LocalStack) answers it.
      what: 'a policy naming no signer',
      status: 403,
      codes: ['AccessDenied'],
      form: (key) => formData([['key', key], ['policy', b64(JSON.stringify({ expiration: new Date(Date.now() + 600_000).toISOString(), conditions: [{ bucket }, { key }] }))]], { data: payload }),
    },
    { what: 'policy not base64 (signed)', status: 400, codes: ['MalformedPOSTRequest', 'InvalidPolicyDocument'], form: (key) => plainForm(key, { rawPolicy: '%%% not base64 %%%' }) },
    { what: 'policy base64 of something not JSON (signed)', status: 400, codes: ['MalformedPOSTRequest', 'InvalidPolicyDocument'], form: (key) => plainForm(key, { rawPolicy: b64('{"expiration": "2099-01-01T00:00:00Z", "conditions": [') }) },
    { what: 'policy without an expiration (signed)', status: 400, codes: ['MalformedPOSTRequest', 'InvalidPolicyDocument'], form: (key) => plainForm(key, { rawPolicy: b64(JSON.stringify({ conditions: [{ bucket }, { key }] })) }) },
  ];

  for (const [i, c] of cases.entries()) {
    for (const key of [`fresh/${i}.bin`, 'guarded.txt']) {
      const res = await postForm(plain, bucket, c.form(key));
      t.equal(res.status, c.status, `${c.what} (${key}): HTTP ${c.status}`);
      const code = xmlField(res.body, 'Code');
      t.ok(code !== undefined && c.codes.includes(code), `${c.what} (${key}): ${c.codes.join(' or ')} (got ${code ?? res.body.toString().slice(0, 200)})`);
      t.match(res.headers['x-amz-request-id'], /^[0-9A-F]{16}$/, `${c.what}: x-amz-request-id`);
    }
    t.equal(await headCode(s3, bucket, `fresh/${i}.bin`), 'NotFound/404', `${c.what}: nothing stored`);
  }

  // S3's words, naming the bucket (aws/aws-sdk-php#3292).
  const noBucketCondition = await postForm(plain, bucket, plainForm('fresh/no-bucket.bin', { bucket: null }));
  t.equal(xmlField(noBucketCondition.body, 'Message'), 'Invalid according to Policy: Extra input fields: bucket', 'no bucket condition: the bucket is the extra field');

  // S3 names the field and how many files the form had.
  const noFile = await postForm(plain, bucket, plainForm('fresh/no-file.bin', {}, [], null));
  t.same([xmlField(noFile.body, 'Message'), xmlField(noFile.body, 'ArgumentName'), xmlField(noFile.body, 'ArgumentValue')], ['POST requires exactly one file upload per request.', 'file', '0'], 'no file: S3\'s message, naming the field');
  const two = plainForm('fresh/two-files.bin');
  two.append('file', new Blob([Buffer.from('second')]), 'second.bin');
  const twoFiles = await postForm(plain, bucket, two);
  t.same([xmlField(twoFiles.body, 'Message'), xmlField(twoFiles.body, 'ArgumentName'), xmlField(twoFiles.body, 'ArgumentValue')], ['POST requires exactly one file upload per request.', 'file', '2'], 'two files: S3\'s message, naming the field');

  // Missing key: no key field, or the key only after the file (ignored there).
  const noKey = await postForm(plain, bucket, signedForm(bucket, null, [], { conditions: [] }, { data: payload }));
  assertXmlError(t, noKey, 400, 'InvalidArgument', 'no key field (policy without key conditions)');
  const noKeySigned = await postForm(plain, bucket, formData(policyFields({ bucket, conditions: [['starts-with', '$key', '']] }), { data: payload }));
  assertXmlError(t, noKeySigned, 400, 'InvalidArgument', 'no key field (policy has a starts-with $key "" condition)');
  const keyAfterFile = await postForm(plain, bucket, formData(policyFields({ bucket, conditions: [['starts-with', '$key', '']] }), { data: payload }, [['key', 'after/file.bin']]));
  assertXmlError(t, keyAfterFile, 400, 'InvalidArgument', 'key only after the file');
  t.same([xmlField(keyAfterFile.body, 'Message')?.replace(/&apos;/g, "'"), xmlField(keyAfterFile.body, 'ArgumentName')], ["Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", 'key'], "… S3's message, naming the field");
  const emptyKey = await postForm(plain, bucket, formData([['key', ''], ...policyFields({ bucket, conditions: [['starts-with', '$key', '']] })], { data: payload }));
  assertXmlError(t, emptyKey, 400, 'InvalidArgument', 'an empty key field');
  t.equal(xmlField(emptyKey.body, 'Message'), 'User key must have a length greater than 0.', "… S3's message for it");

  // A signed form without its policy field is S3's missing field (versitygw's AWS-checked
  // PostObject_partial_auth_fields), not AccessDenied; an empty policy field is a policy S3
  // cannot parse (PostObject_invalid_policy_document).
  const v4Fields = (key: string): Field[] => [['key', key], ...policyFields({ bucket, conditions: [{ key }] })];
  const noPolicy = await postForm(plain, bucket, formData(v4Fields('fresh/no-policy.bin').filter(([n]) => n !== 'policy'), { data: payload }));
  assertXmlError(t, noPolicy, 400, 'InvalidArgument', 'a signed form without a policy field');
  t.same([xmlField(noPolicy.body, 'Message')?.replace(/&apos;/g, "'"), xmlField(noPolicy.body, 'ArgumentName')], ["Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.", 'policy'], "… S3's message, naming the field");
  const emptyPolicy = await postForm(plain, bucket, formData(v4Fields('fresh/empty-policy.bin').map(([n, v]): Field => [n, n === 'policy' ? '' : v]), { data: payload }));
  assertXmlError(t, emptyPolicy, 400, 'InvalidPolicyDocument', 'a signed form with an empty policy field');
  t.equal(await headCode(s3, bucket, 'fresh/no-policy.bin'), 'NotFound/404');
  t.equal(await headCode(s3, bucket, 'fresh/empty-policy.bin'), 'NotFound/404');
  t.equal(await headCode(s3, bucket, 'after/file.bin'), 'NotFound/404');

  // A bucket that does not exist.
  const missing = bucketName('nope');
  const noBucket = await postForm(plain, missing, signedForm(missing, 'k.bin', [], {}, { data: payload }));
  assertXmlError(t, noBucket, 404, 'NoSuchBucket', 'form for a missing bucket');

  // Not a form at all: an S3 error, never a 5xx.
  for (const [what, res] of [
    ['anonymous text/plain POST', await raw(plain.port, { method: 'POST', path: `/${bucket}`, sign: false, headers: { 'content-type': 'text/plain' }, body: 'key=guarded.txt' })],
    ['signed octet-stream POST', await raw(plain.port, { method: 'POST', path: `/${bucket}`, headers: { 'content-type': 'application/octet-stream' }, body: payload })],
    ['urlencoded POST', await raw(plain.port, { method: 'POST', path: `/${bucket}`, sign: false, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'key=guarded.txt&file=x' })],
  ] as const) {
    t.ok(res.status >= 400 && res.status < 500, `${what}: a 4xx (got ${res.status})`);
    t.ok(xmlField(res.body, 'Code'), `${what}: an S3 error code (${xmlField(res.body, 'Code')})`);
  }

  // Malformed multipart: no boundary; body cut before the closing delimiter (complete request).
  const fields = [{ name: 'key', value: 'guarded.txt' }, ...policyFields({ bucket, conditions: [{ key: 'guarded.txt' }] }).map(([name, value]): Part => ({ name, value }))];
  const noBoundary = await sendPost(plain, `/${bucket}`, multipart('b0undary', [...fields, { name: 'file', value: payload, filename: 'x.bin' }]), { 'content-type': 'multipart/form-data' });
  t.equal(noBoundary.status, 400, `multipart/form-data without a boundary: 400 (${xmlField(noBoundary.body, 'Code')})`);
  const cut = multipart('b0undary', [...fields, { name: 'file', value: payload, filename: 'x.bin' }], { unterminated: true });
  const unterminated = await sendPost(plain, `/${bucket}`, cut.subarray(0, cut.length - 2 - 100), { 'content-type': 'multipart/form-data; boundary=b0undary' });
  t.equal(unterminated.status, 400, `multipart body without its closing delimiter: 400 (${xmlField(unterminated.body, 'Code')})`);
  t.ok(['MalformedPOSTRequest', 'IncompleteBody', 'InvalidArgument'].includes(xmlField(unterminated.body, 'Code') ?? ''), `unterminated: MalformedPOSTRequest/IncompleteBody/InvalidArgument (got ${xmlField(unterminated.body, 'Code')})`);

  // The fields before the file are bounded as on S3 (MaxPostPreDataLengthBytes 20480): they are
  // held before the policy is checked, so an unauthenticated form must not fill the heap.
  const bigFields: Part[] = [{ name: 'key', value: 'guarded.txt' }, ...Array.from({ length: 30 }, (_, i) => ({ name: `x-ignore-${i}`, value: 'f'.repeat(1000) }))];
  const preData = await sendPost(plain, `/${bucket}`, multipart('b0undary', [...bigFields, { name: 'file', value: payload, filename: 'x.bin' }]), { 'content-type': 'multipart/form-data; boundary=b0undary' });
  assertXmlError(t, preData, 400, 'MaxPostPreDataLengthExceeded', '30 KB of fields before the file');
  t.equal(xmlField(preData.body, 'MaxPostPreDataLengthBytes'), '20480', '… naming the bound');
  // A form that keeps sending fields is answered once past the bound, not after its whole body
  // (before, 200 fields of up to 64 KiB each were read and held: 13 MiB per connection).
  const endless = await new Promise<{ status: number; code: string | undefined; ms: number }>((resolve, reject) => {
    const started = Date.now();
    const req = httpRequest(
      { host: '127.0.0.1', port: plain.port, method: 'POST', path: `/${bucket}`, agent: false, headers: { host: `127.0.0.1:${plain.port}`, 'content-type': 'multipart/form-data; boundary=b0undary', 'content-length': String(20 * MiB) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, code: xmlField(Buffer.concat(chunks), 'Code'), ms: Date.now() - started });
          req.destroy();
        });
      },
    );
    req.on('error', () => undefined);
    req.write(multipart('b0undary', Array.from({ length: 16 }, (_, i) => ({ name: `x-ignore-${i}`, value: 'g'.repeat(60_000) })), { unterminated: true }));
    setTimeout(() => reject(new Error('no answer within 10 s to a form that sent 1 MB of fields and paused')), 10_000).unref();
  });
  t.same([endless.status, endless.code], [400, 'MaxPostPreDataLengthExceeded'], `1 MB of fields, body unfinished: answered at once (${endless.ms} ms)`);

  // Parameters in the URL: S3's answer, naming the first (the form alone carries a POST's fields).
  const { body: goodForm, contentType } = await encodeForm(plainForm('guarded.txt'));
  const withQuery = await sendPost(plain, `/${bucket}?invalidParam=true`, goodForm, { 'content-type': contentType });
  assertXmlError(t, withQuery, 400, 'InvalidArgument', 'a form POST with a query parameter');
  t.equal(xmlField(withQuery.body, 'Message'), 'Query String Parameters not allowed on POST requests.', "… S3's message");
  t.same([xmlField(withQuery.body, 'ArgumentName'), xmlField(withQuery.body, 'ArgumentValue')], ['invalidParam', 'true'], '… naming the parameter');

  // A part may name its charset, and busboy decodes UTF-16 without checking it: a lone surrogate
  // in the key (or in a file name for ${filename}) made a key that is no Unicode text. Stored as
  // UTF-8 it became U+FFFD, a key other than the one the policy judged and one many forms name,
  // and the answer (its Location) was a 500 after the object was committed.
  {
    const prefixPolicy = policyFields({ bucket, conditions: [['starts-with', '$key', 'surrogate/']] }).map(([name, value]): Part => ({ name, value }));
    const lone = Buffer.from('surrogate/a\uD800b', 'utf16le');
    const inKey = multipart('b0undary', [{ name: 'key', value: lone, type: 'text/plain; charset=utf-16le' }, ...prefixPolicy, { name: 'file', value: payload, filename: 'x.bin' }]);
    const inFilename = Buffer.concat([
      multipart('b0undary', [{ name: 'key', value: 'surrogate/${filename}' }, ...prefixPolicy], { unterminated: true }),
      Buffer.from("--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename*=utf-16le''a%00%00%D8b%00\r\n\r\n"),
      payload,
      Buffer.from('\r\n--b0undary--\r\n'),
    ]);
    for (const [what, body] of [['a lone surrogate in a UTF-16 key field', inKey], ['a lone surrogate in a UTF-16 file name', inFilename]] as const) {
      const res = await sendPost(plain, `/${bucket}`, body, { 'content-type': 'multipart/form-data; boundary=b0undary' });
      assertXmlError(t, res, 400, 'InvalidArgument', what);
    }
  }

  // After all that: the guarded object is the original, and nothing else appeared.
  const { out, body } = await getObject(s3, bucket, 'guarded.txt');
  t.same(body, original, 'the existing object keeps its bytes');
  t.equal(out.ContentType, 'text/x-original', 'and its Content-Type');
  t.equal(out.ETag, quoted(md5Hex(original)), 'and its ETag');
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  t.same((listed.Contents ?? []).map((o) => o.Key), ['guarded.txt'], 'no other object was stored');
});

// A policy S3 cannot read is 400 InvalidPolicyDocument in S3's words ("Invalid Policy: …"), as
// versitygw's AWS-checked PostObject_invalid_policy_document has them ("Invalid JSON.", the
// expiration's and a Simple-Condition's are in answers recorded from S3 too); s3d said "The
// policy is not base64-encoded JSON.", "Invalid policy condition: […]" and the like.
t.test('policies S3 cannot read: InvalidPolicyDocument in its words, nothing stored', async (t) => {
  const bucket = await createBucket(s3, 'postdoc');
  const later = new Date(Date.now() + 86_400_000).toISOString();
  const json = (doc: unknown): string => b64(JSON.stringify(doc));
  const withConditions = (...conds: unknown[]): string => json({ expiration: later, conditions: [{ bucket }, { key: 'k.bin' }, ...conds] });
  const cases: Array<[string, string, string]> = [
    ['not base64', 'invalid_base64', 'invalid Base64 encoding.'],
    ['base64 of no JSON', b64('invalid json'), 'Invalid JSON.'],
    ['no expiration', json({ conditions: [] }), 'Policy missing expiration.'],
    ['an expiration that is no string', json({ expiration: true, conditions: [{ hello: 'world' }] }), 'Invalid JSON.'],
    ['an expiration that is no date', json({ expiration: 'invalid', conditions: [{ hello: 'world' }] }), "Invalid 'expiration' value: 'invalid'"],
    ['no conditions', json({ expiration: '2144-11-08T04:19:33Z' }), 'Policy missing conditions.'],
    ['conditions that are no list', json({ expiration: '2144-11-08T04:19:33Z', conditions: true }), "Invalid 'conditions' value: must be a List."],
    ['a condition neither list nor object', json({ expiration: '2144-11-08T04:19:33Z', conditions: [true] }), 'Invalid condition test: must be a List or Object.'],
    ['an empty condition list', withConditions([]), 'Invalid Condition: missing operation identifier.'],
    ['an unknown operation', withConditions(['invalid', '$content-type', 'application/json']), "Invalid Condition: unknown operation 'invalid'."],
    ['four arguments to eq', withConditions(['eq', '$content-type', 'application/json', 'something']), 'Invalid eq: wrong number of arguments.'],
    ['a field that is no string', withConditions(['eq', false, 'application/json']), 'Invalid JSON.'],
    ['a value that is no string', withConditions(['eq', '$content-type', true]), 'Invalid JSON.'],
    ['a content-length-range bound that is no number', withConditions(['content-length-range', 12, false]), 'Invalid JSON.'],
    ['content-length-range bounds that are no digits', withConditions(['content-length-range', 'invalid', '14']), 'Invalid JSON.'],
    ['a simple condition of two properties', withConditions({ expires: 'exp', cache: 'smth' }), 'Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.'],
    ['a simple condition whose value is no string', withConditions({ expires: true }), 'Invalid Simple-Condition: value must be a string.'],
  ];
  for (const [what, rawPolicy, reason] of cases) {
    const res = await postForm(plain, bucket, formData([['key', 'k.bin'], ...policyFields({ bucket, rawPolicy })], { data: Buffer.from('data') }));
    t.same([res.status, xmlField(res.body, 'Code'), xmlField(res.body, 'Message')?.replace(/&apos;/g, "'")], [400, 'InvalidPolicyDocument', `Invalid Policy: ${reason}`], what);
  }
  // A field named without its `$` is a condition that fails (403), as S3 answers it.
  const noDollar = await postForm(plain, bucket, formData([['key', 'k.bin'], ...policyFields({ bucket, rawPolicy: withConditions(['eq', 'content-type', 'binary/octet-stream']) })], { data: Buffer.from('data') }));
  t.same([noDollar.status, xmlField(noDollar.body, 'Code'), xmlField(noDollar.body, 'Message')?.replace(/&quot;/g, '"')], [403, 'AccessDenied', 'Invalid according to Policy: Policy Condition failed: ["eq","content-type","binary/octet-stream"]'], 'a field without its $');
  // A policy wrapped by its encoder (Ruby's encode64 breaks lines; a form sends them as CRLF) is still read.
  const signer = ['x-amz-algorithm', 'x-amz-credential', 'x-amz-date'].map((f) => ['starts-with', `$${f}`, '']);
  const wrapped = withConditions(...signer).replace(/(.{60})/g, '$1\r\n');
  const ok = await postForm(plain, bucket, formData([['key', 'k.bin'], ...policyFields({ bucket, rawPolicy: wrapped })], { data: Buffer.from('data') }));
  t.equal(ok.status, 204, `a policy with line breaks in its base64 is taken (${ok.body.toString()})`);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  t.same(listed.Contents?.map((o) => o.Key), ['k.bin'], 'only the accepted form stored an object');
});

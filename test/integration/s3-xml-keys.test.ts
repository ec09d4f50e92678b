// Keys inside XML bodies, both ways. Requests: DeleteObjects keys are read exactly as sent —
// spaces at either end kept, character references (&#x0D; &#x0A; &#x85; &#x2028;, which the AWS
// SDKs write for CR, LF, NEL and LS) decoded — so the key named is the key deleted; an empty
// <VersionId/> (minio-js writes one for every key) names no version, one of white space a version
// that cannot exist (never the key itself); entities XML does not define
// are refused, and so are character references that denote no character (&#0;, surrogates);
// references to control characters (&#1;) decode to them. Responses: a key holding CR or another control character comes back from a listing
// as sent (CR as &#13;, which XML end-of-line handling would otherwise turn into LF).
import t from 'tap';
import { createHash } from 'node:crypto';
import { DeleteObjectsCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startDaemonFor } from '../helpers/daemon.js';
import { raw } from '../helpers/http.js';
import { minioClient } from '../helpers/minio.js';
import { createBucket, getBytes, s3Code } from '../helpers/s3.js';

t.test('DeleteObjects deletes exactly the keys named, and listings give every key back as stored', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'xmlkeys');
  const exists = async (key: string): Promise<boolean> => (await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))) === 'ok';
  const odd = ['line1\nline2.txt', 'cr\r.txt', 'crlf\r\n.txt', 'nel\u0085.txt', 'sep\u2028.txt', 'ctl\u0001\u001f.txt', 'tab\t.txt', 'amp&#x41;.txt', ' lead', 'trail '];
  for (const key of [...odd, 'lead', 'trail']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${JSON.stringify(key)}` }));

  // Listed (not url-encoded) and fetched by the listed name.
  const listed = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key) ?? [];
  t.strictSame([...listed].sort(), [...odd, 'lead', 'trail'].sort(), 'ListObjectsV2 gives every key back byte for byte');
  const versions = (await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }))).Versions?.map((v) => v.Key) ?? [];
  t.strictSame([...versions].sort(), [...odd, 'lead', 'trail'].sort(), 'so does ListObjectVersions');
  t.equal((await getBytes(s3, { Bucket: bucket, Key: 'cr\r.txt' })).toString(), 'body of "cr\\r.txt"', 'the listed CR key is the stored one');
  const rawList = await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2' });
  t.notOk(rawList.body.includes(0x0d), 'no raw CR byte in the listing XML');
  t.ok(rawList.body.toString().includes('cr&#13;.txt'), 'CR written as &#13;');

  // encoding-type=url, the way clients avoid those references: S3's encoding (control characters
  // and '&' percent-encoded, a space '+'), and decoded as botocore and minio-js decode it.
  const encoded = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, EncodingType: 'url' }))).Contents?.map((o) => o.Key!) ?? [];
  t.strictSame(
    encoded.filter((k) => /^(ctl|line1|amp|tab|%20lead|\+lead)/.test(k)).sort(),
    ['+lead', 'amp%26%23x41%3B.txt', 'ctl%01%1F.txt', 'line1%0Aline2.txt', 'tab%09.txt'],
    'control characters, & # ; percent-encoded, a space as +',
  );
  t.strictSame(encoded.map((k) => decodeURIComponent(k.replace(/\+/g, ' '))).sort(), [...odd, 'lead', 'trail'].sort(), 'unquote_plus gives every key back');
  const viaMinio: string[] = [];
  for await (const o of minioClient(d).listObjectsV2(bucket, '', true)) viaMinio.push((o as { name: string }).name);
  t.strictSame(viaMinio.sort(), [...odd, 'lead', 'trail'].sort(), 'so does minio-js (which asks for encoding-type=url)');

  // Deleting the odd keys deletes them, and only them.
  const res = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: odd.map((Key) => ({ Key })) } }));
  t.strictSame((res.Deleted ?? []).map((x) => x.Key).sort(), [...odd].sort(), 'every key reported deleted');
  t.strictSame(res.Errors ?? [], [], 'no errors');
  t.strictSame(await Promise.all(odd.map(exists)), odd.map(() => false), 'and every one of them is gone');
  t.ok(await exists('lead'), '"lead" is kept (" lead" was named)');
  t.ok(await exists('trail'), '"trail" is kept ("trail " was named)');
});

t.test('minio-js removeObjects with listed objects (<VersionId/> on each) deletes them', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'rmobjs');
  const keys = ['tmp/0', 'tmp/1', 'tmp/2'];
  for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }));
  const mc = minioClient(d);
  await mc.removeObjects(bucket, keys.map((name) => ({ name })));
  t.strictSame((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount, 0, 'all three deleted');
});

t.test('a VersionId of white space names a version that cannot exist, never the key itself', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'wsversion');
  const versioned = await createBucket(s3, 'wsversionv');
  await s3.send(new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }));
  for (const Bucket of [bucket, versioned]) await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'keep' }));
  const del = (b: string, xml: string): ReturnType<typeof raw> =>
    raw(d.port, { method: 'POST', path: `/${b}`, query: 'delete', body: Buffer.from(xml), headers: { 'content-type': 'application/xml', 'content-md5': createHash('md5').update(xml).digest('base64') }, sign: { payloadHash: 'hash' } });
  for (const [b, what] of [[bucket, 'unversioned'], [versioned, 'versioned']] as const) {
    for (const ws of [' ', '\n  ', '\t']) {
      // MinIO reads the id as sent (" " is no UUID: NoSuchVersion); s3d read it as no id at all and
      // deleted the object (a delete marker on it in a versioned bucket).
      const r = await del(b, `<Delete><Object><Key>k</Key><VersionId>${ws}</VersionId></Object></Delete>`);
      t.equal(r.status, 200, `${what}, VersionId ${JSON.stringify(ws)}: 200`);
      t.match(r.body.toString(), /<Error><Key>k<\/Key><VersionId>[^<]*<\/VersionId><Code>NoSuchVersion<\/Code>/, 'an error entry for the key: NoSuchVersion');
      t.notMatch(r.body.toString(), /<Deleted>/, 'nothing reported deleted');
      t.equal((await getBytes(s3, { Bucket: b, Key: 'k' })).toString(), 'keep', 'the object is still there, current');
    }
  }
  const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: versioned }));
  t.equal(versions.DeleteMarkers, undefined, 'no delete marker was made');
});

t.test('request XML: undefined entities are MalformedXML; character references decode', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'xmlent');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a\u00a0b', Body: 'x' }));
  const del = (xml: string): ReturnType<typeof raw> =>
    raw(d.port, { method: 'POST', path: `/${bucket}`, query: 'delete', body: Buffer.from(xml), headers: { 'content-type': 'application/xml', 'content-md5': createHash('md5').update(xml).digest('base64') }, sign: { payloadHash: 'hash' } });
  const refused = await del('<Delete><Object><Key>a&nbsp;b</Key></Object></Delete>');
  t.equal(refused.status, 400, '&nbsp; (an HTML entity) is refused');
  t.match(refused.body.toString(), /<Code>MalformedXML<\/Code>/);
  t.ok((await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a\u00a0b' })))) === 'ok', 'and nothing was deleted');
  const ok = await del('<Delete><Object><Key>a&#xA0;b</Key></Object></Delete>');
  t.equal(ok.status, 200, 'the same key as a character reference');
  t.match(ok.body.toString(), /<Deleted><Key>a\u00a0b<\/Key><\/Deleted>/);
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'a\u00a0b' }))), 'NotFound/404', 'is deleted');
});

t.test('request bodies that are not UTF-8 are refused, never read with replacement characters', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'xmlutf8');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x\u00e9y', Body: 'x' }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'x\ufffdy', Body: 'x' }));
  const send = (query: string, body: Buffer, method = 'POST'): ReturnType<typeof raw> =>
    raw(d.port, { method, path: `/${bucket}`, query, body, headers: { 'content-type': 'application/xml', 'content-md5': createHash('md5').update(body).digest('base64') }, sign: { payloadHash: 'hash' } });
  // Net::Amazon::S3 writes a Latin-1 key's é as the one byte 0xE9 under encoding="UTF-8".
  const latin1 = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet><Object><Key>x'), Buffer.from([0xe9]), Buffer.from('y</Key></Object></Delete>')]);
  const del = await send('delete', latin1);
  t.equal(del.status, 400, 'DeleteObjects with a byte that is not UTF-8: 400');
  t.match(del.body.toString(), /<Code>MalformedXML<\/Code>/);
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'x\u00e9y' }))), 'ok', 'x\u00e9y is still there');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'x\ufffdy' }))), 'ok', 'and so is the key holding U+FFFD, which a lossy reading named');
  const utf8 = await send('delete', Buffer.from('<Delete><Object><Key>x\u00e9y</Key></Object></Delete>'));
  t.equal(utf8.status, 200, 'the same key in UTF-8 is deleted');
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'x\u00e9y' }))), 'NotFound/404');

  const lifecycle = Buffer.concat([Buffer.from('<LifecycleConfiguration><Rule><ID>r1</ID><Filter><Prefix>caf'), Buffer.from([0xe9]), Buffer.from('/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>')]);
  const lc = await send('lifecycle', lifecycle, 'PUT');
  t.equal(lc.status, 400, 'PutBucketLifecycleConfiguration with a byte that is not UTF-8: 400');
  t.match(lc.body.toString(), /<Code>MalformedXML<\/Code>/);
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'lifecycle' })).status, 404, 'no lifecycle configuration was stored');

  const policy = Buffer.concat([Buffer.from(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::${bucket}/caf`), Buffer.from([0xe9]), Buffer.from('/*"}]}')]);
  const pol = await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'policy', body: policy, headers: { 'content-type': 'application/json' }, sign: { payloadHash: 'hash' } });
  t.equal(pol.status, 400, 'PutBucketPolicy with a byte that is not UTF-8: 400');
  t.match(pol.body.toString(), /<Code>MalformedPolicy<\/Code>/);
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'policy' })).status, 404, 'no policy was stored');
});

t.test('request XML: a reference to a control character names it (never dropped); one to no character is MalformedXML', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'xmlctl');
  const exists = async (key: string): Promise<boolean> => (await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })))) === 'ok';
  for (const Key of ['a\u0001b', 'ab', 'c\u001fd', 'cd']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
  const post = (query: string, path: string, xml: string): ReturnType<typeof raw> =>
    raw(d.port, { method: query === 'delete' ? 'POST' : 'PUT', path, query, body: Buffer.from(xml), headers: { 'content-type': 'application/xml', 'content-md5': createHash('md5').update(xml).digest('base64') }, sign: { payloadHash: 'hash' } });

  // The listing writes the key as &#1; (XML 1.0 has no other way); that text names it back.
  const listing = (await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'list-type=2&prefix=a' })).body.toString();
  const listedKey = /<Key>([^<]*)<\/Key>/.exec(listing)?.[1];
  t.equal(listedKey, 'a&#1;b', 'ListObjectsV2 writes U+0001 as &#1;');
  const del = await post('delete', `/${bucket}`, `<Delete><Object><Key>${listedKey}</Key></Object><Object><Key>c&#x1F;d</Key></Object></Delete>`);
  t.equal(del.status, 200);
  t.match(del.body.toString(), /<Deleted><Key>a&#1;b<\/Key><\/Deleted>/, 'the deleted key is reported as named');
  t.match(del.body.toString(), /<Deleted><Key>c&#31;d<\/Key><\/Deleted>/, 'a hexadecimal reference too');
  t.strictSame(await Promise.all(['a\u0001b', 'ab', 'c\u001fd', 'cd'].map(exists)), [false, true, false, true], '"a\\x01b" and "c\\x1fd" deleted, "ab" and "cd" kept');

  for (const ref of ['&#0;', '&#x0;', '&#xD800;', '&#56320;', '&#x110000;', '&#x;', '&#;']) {
    const r = await post('delete', `/${bucket}`, `<Delete><Object><Key>a${ref}b</Key></Object><Object><Key>ab</Key></Object></Delete>`);
    t.equal(r.status, 400, `DeleteObjects naming a${ref}b: 400`);
    t.match(r.body.toString(), /<Code>MalformedXML<\/Code>/, `${ref} is MalformedXML`);
  }
  t.ok(await exists('ab'), 'and nothing was deleted ("ab" was named next to them)');

  // Tag values: a control character is not a tag character, so the set is refused, not stored without it.
  const tagged = await post('tagging', `/${bucket}/ab`, '<Tagging><TagSet><Tag><Key>k</Key><Value>x&#1;y</Value></Tag></TagSet></Tagging>');
  t.equal(tagged.status, 400, 'PutObjectTagging with &#1; in a value: 400');
  t.match(tagged.body.toString(), /<Code>InvalidTag<\/Code>/, 'InvalidTag');
  t.strictSame((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'ab' }))).TagSet, [], 'no tag was stored ("xy" least of all)');
});

t.test('bodies that are not well-formed, or nest past any policy, are refused with S3 errors and change nothing', async (t) => {
  const d = await startDaemonFor(t);
  const s3 = d.s3();
  const bucket = await createBucket(s3, 'xmlhostile');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
  const send = (method: string, query: string, body: Buffer): ReturnType<typeof raw> =>
    raw(d.port, { method, path: `/${bucket}`, query, body, headers: { 'content-type': 'application/xml', 'content-md5': createHash('md5').update(body).digest('base64') }, sign: { payloadHash: 'hash' } });
  // The parser read `<!ENTITY …>` in an element as an element named "!ENTITY".
  const del = await send('POST', 'delete', Buffer.from('<Delete><Object><Key>k</Key></Object><!ENTITY e "x"></Delete>'));
  t.equal(del.status, 400, 'DeleteObjects with an entity declaration in an element: 400');
  t.match(del.body.toString(), /<Code>MalformedXML<\/Code>/);
  const versioning = await send('PUT', 'versioning', Buffer.from('<VersioningConfiguration/>Enabled'));
  t.equal(versioning.status, 400, 'text after a self-closing root: 400');
  t.match(versioning.body.toString(), /<Code>MalformedXML<\/Code>/);
  t.equal(await s3Code(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'k' }))), 'ok', 'k is still there');
  // JSON.stringify overflowed the call stack on it: 500 InternalError.
  const policy = Buffer.from(`{"Version":"2012-10-17","Statement":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
  const pol = await raw(d.port, { method: 'PUT', path: `/${bucket}`, query: 'policy', body: policy, headers: { 'content-type': 'application/json' }, sign: { payloadHash: 'hash' } });
  t.equal(pol.status, 400, 'PutBucketPolicy nested 30,000 deep: 400');
  t.match(pol.body.toString(), /<Code>MalformedPolicy<\/Code>/);
  t.equal((await raw(d.port, { method: 'GET', path: `/${bucket}`, query: 'policy' })).status, 404, 'no policy was stored');
});

// `s3d verify` against damage the other verify tests do not make, on a data directory the real
// daemon wrote: data files of the same size swapped between objects (each SSE-S3/SSE-KMS object
// has a key of its own, so its DARE packages do not authenticate under another's; a plain one's
// MD5 differs), flipped bytes in each field of DARE package headers (version, cipher suite, length,
// final flag, nonce) and a tag, all found by a deep run that changes no file of the store; and data
// files the service user cannot read (restored as root, a disk error): each found by name, the
// rest of the store still checked, where the run stopped with a stack trace at the first.

import t from 'tap';
import { chmodSync, chownSync, renameSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MAIN, nodeChild, runS3d, startDaemonFor, TEST_KMS_SECRET, testBytes } from '../helpers/daemon.js';
import { dataFilePaths, filesUnder, flipByte } from '../helpers/files.js';
import { createBucket } from '../helpers/s3.js';
import { KMS_KEY_ID } from '../helpers/sse.js';
import { encryptedSize } from '../../workers/format/index.js';

const ENV = { S3_CRYPTO_WORKERS: '1', S3_KMS_SECRET_KEY: TEST_KMS_SECRET };
const PACKAGE = 65536 + 32;

const d = await startDaemonFor(t);
const s3: S3Client = d.s3();
const bucket = await createBucket(s3, 'vdmg');
const put = (Key: string, size: number, seed: number, extra: Record<string, unknown> = {}) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: testBytes(size, seed), ...extra }));
const SSE_S3 = { ServerSideEncryption: 'AES256' as const };
const SSE_KMS = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: KMS_KEY_ID };

// Pairs of one size each (above the inline threshold): their files are swapped.
await put('s3-a', 200_000, 1, SSE_S3);
await put('s3-b', 200_000, 2, SSE_S3);
await put('kms-a', 200_001, 3, SSE_KMS);
await put('kms-b', 200_001, 4, SSE_KMS);
await put('plain-a', 200_002, 5);
await put('plain-b', 200_002, 6);
// Four DARE packages each (the last short), one byte of one header or tag flipped in each.
const FLIPS: ReadonlyArray<readonly [key: string, offset: number, mask: number]> = [
  ['version', 0, 0x01],
  ['cipher', 1, 0x01],
  ['length', 2, 0x01],
  ['final-flag', 4, 0x80],
  ['nonce-2nd', PACKAGE + 6, 0x01],
  ['length-last', 3 * PACKAGE + 3, 0x10],
  ['final-flag-last', 3 * PACKAGE + 4, 0x80],
  ['tag-last', -1, 0x01],
];
const flipSize = (i: number): number => 3 * 65536 + 1000 + i;
for (const [i, [key]] of FLIPS.entries()) await put(key, flipSize(i), 10 + i, SSE_S3);
// Left alone: the unreadable files below.
await put('fine', 200_003, 7);
await put('fine-sse', 200_004, 8, SSE_S3);

function filesOfSize(size: number): string[] {
  return dataFilePaths(d.dataDir).filter((p) => statSync(p).size === size);
}

const norm = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('PROBLEM '))
    .map((l) => l.replace(` ${bucket}/`, ' ').replace(' version null', '').replace(/\((NotAuthentic|InvalidSize|Truncated|UnsupportedVersion|UnsupportedCipher|NonceMismatch)\)/, '(X)').replace(/[0-9a-f]{32}/, 'FILE'))
    .sort();

t.test('swapped files and flipped DARE headers and tags: each found by a deep run, which changes no file', async (t) => {
  const clean = await runS3d(['verify', d.dataDir, '--deep'], ENV);
  t.equal(clean.code, 0, `a clean store first (${clean.stdout.trim()})`);
  for (const size of [encryptedSize(200_000), encryptedSize(200_001), 200_002]) {
    const [a, b] = filesOfSize(size);
    renameSync(a!, `${a!}.swap`);
    renameSync(b!, a!);
    renameSync(`${a!}.swap`, b!);
  }
  for (const [i, [, offset, mask]] of FLIPS.entries()) {
    const [f] = filesOfSize(encryptedSize(flipSize(i)));
    flipByte(f!, offset < 0 ? statSync(f!).size + offset : offset, mask);
  }
  const shallow = await runS3d(['verify', d.dataDir], ENV);
  t.equal(shallow.code, 0, 'sizes are unchanged: shallow finds nothing');
  const mtimes = new Map(filesUnder(join(d.dataDir, '.s3d', 'objects')).map((p) => [p, statSync(p).mtimeMs]));
  const mdb = statSync(join(d.dataDir, '.s3d', 'meta', 'data.mdb')).mtimeMs;
  const deep = await runS3d(['verify', d.dataDir, '--deep'], ENV);
  t.equal(deep.code, 1, 'deep: exit 1');
  const tampered = (k: string): string => `PROBLEM ${k}: tampered: the data fails authentication (X): modified or damaged on disk`;
  t.same(
    norm(deep.stdout).filter((l) => !/ (md5|checksum): /.test(l)),
    [...['kms-a', 'kms-b', 's3-a', 's3-b'], ...FLIPS.map(([k]) => k)].map(tampered).sort(),
    'each swapped SSE file fails under the key of the object that names it; each flipped header field or tag fails',
  );
  const digests = norm(deep.stdout).filter((l) => / (md5|checksum): /.test(l)).map((l) => l.replace(/: (md5|checksum): .*/, ': $1'));
  t.same(digests, ['PROBLEM plain-a: checksum', 'PROBLEM plain-a: md5', 'PROBLEM plain-b: checksum', 'PROBLEM plain-b: md5'], 'a swapped plain file: its MD5 and CRC32 are the other object\'s');
  t.same(new Map(filesUnder(join(d.dataDir, '.s3d', 'objects')).map((p) => [p, statSync(p).mtimeMs])), mtimes, 'no data file was changed');
  t.equal(statSync(join(d.dataDir, '.s3d', 'meta', 'data.mdb')).mtimeMs, mdb, 'nor the metadata store');
});

/** Why the check as another user skips (false: it runs): not root, or runuser cannot start node as nobody. */
function cannotRunAsNobody(): false | string {
  if (process.getuid?.() !== 0) return 'needs root to play both users';
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? false : `runuser cannot start node as nobody here: ${(r.error?.message ?? r.stderr).trim()}`;
}

/** `s3d verify` as the service user (`nobody` here, owning the store). */
function verifyAsNobody(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = nodeChild([MAIN, 'verify', d.dataDir, ...args], { NODE_OPTIONS: '' });
  const r = spawnSync('runuser', ['-u', 'nobody', '--', cmd, ...argv], { env: { PATH: process.env.PATH, ...ENV }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('data files the service user cannot read: each a finding, the rest still checked', { skip: cannotRunAsNobody() }, async (t) => {
  t.equal(await d.stop(), 0);
  // The store is the service user's; one file restored as root (0600), and a directory of data
  // files it may not enter: the daemon, as that user, could read neither object.
  t.equal(spawnSync('chown', ['-R', '65534:65534', d.dataDir]).status, 0);
  const [fine] = filesOfSize(200_003);
  const [fineSse] = filesOfSize(encryptedSize(200_004));
  chownSync(fine!, 0, 0);
  chmodSync(fine!, 0o600);
  const shallowBefore = verifyAsNobody([]);
  // Shallow looks at sizes only (the damage above kept them): a file it may stat passes.
  t.equal(shallowBefore.code, 0, `shallow: exit 0 (${shallowBefore.stderr.trim()})`);
  const deep = verifyAsNobody(['--deep']);
  t.notMatch(deep.stderr, /fatal|\n\s+at /, `no stack trace (${deep.stderr.trim()})`);
  t.equal(deep.code, 1, 'exit 1: problems');
  const lines = norm(deep.stdout);
  t.ok(lines.includes('PROBLEM fine: unreadable: data file FILE cannot be read (open: EACCES)'), 'the file it may not open is named');
  t.ok(lines.includes('PROBLEM s3-a: tampered: the data fails authentication (X): modified or damaged on disk'), 'and the run went on to the other objects');
  t.equal(lines.length, 17, 'the 16 findings of the damage before, and this one');
  t.match(deep.stdout, /: 17 problem\(s\)$/m, 'which the summary counts');
  // A directory it may not enter: stat fails too (shallow and deep alike).
  chmodSync(fine!, 0o644);
  chownSync(dirname(fineSse!), 0, 0);
  chmodSync(dirname(fineSse!), 0o700);
  for (const args of [[], ['--deep']]) {
    const r = verifyAsNobody(args);
    t.notMatch(r.stderr, /fatal|\n\s+at /, `${args.join('') || 'shallow'}: no stack trace (${r.stderr.trim()})`);
    t.equal(r.code, 1, 'exit 1');
    t.ok(norm(r.stdout).includes('PROBLEM fine-sse: unreadable: data file FILE cannot be read (stat: EACCES)'), 'the file it may not reach is named');
  }
});

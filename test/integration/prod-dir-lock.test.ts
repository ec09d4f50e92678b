// One s3d per data directory. A second daemon started on a directory in use (by hand beside the
// service, a second container on the same volume) used to run its start-up sweep first, which
// deleted the data file of an upload the first daemon was still receiving (its record not yet
// committed): the upload was then answered 200 and could never be read. Now the second daemon
// stops at once with exit 2 and touches nothing; after the first one dies, even by SIGKILL, the
// directory is free again.
import t from 'tap';
import { execFile } from 'node:child_process';
import { MAIN, nodeChild, runS3d, startDaemon, testBytes, testPki, type S3dRun } from '../helpers/daemon.js';
import { createBucket, getBytes } from '../helpers/s3.js';
import { md5Hex } from '../helpers/hash.js';
import { raw } from '../helpers/http.js';
import { descendantsOf } from '../helpers/proc.js';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';

/**
 * An upload body that stays in flight until `until` settles: `body` in `step`-byte pieces, every
 * `ms`, then, with a quarter left, 32 KiB pieces every 250 ms (enough for uWS's 16 KiB/s
 * minimum) until `until` has settled, then the rest. A second daemon's start can take seconds on a
 * loaded machine: the upload must still be in flight when it looks at the lock, else the first
 * daemon may have finished (and, draining, exited) before it and the test proves nothing.
 */
async function* heldOpen(body: Buffer, step: number, ms: number, until: Promise<unknown>, sent: { bytes: number }): AsyncGenerator<Buffer> {
  let settled = false;
  void until.finally(() => (settled = true));
  const hold = body.length - Math.floor(body.length / 4);
  let off = 0;
  for (; off < hold; off += step) {
    sent.bytes = off;
    yield body.subarray(off, Math.min(off + step, hold));
    await new Promise((r) => setTimeout(r, ms));
  }
  off = hold;
  while (!settled && off + 32 * 1024 < body.length) {
    sent.bytes = off;
    yield body.subarray(off, off + 32 * 1024);
    off += 32 * 1024;
    await new Promise((r) => setTimeout(r, 250));
  }
  sent.bytes = off;
  yield body.subarray(off);
  sent.bytes = body.length;
}

const runSecond = (dataDir: string): Promise<S3dRun> => runS3d(['server', dataDir, '--dev'], { S3_ADDRESS: '127.0.0.1:0' }, 20_000);

t.test('a second daemon on a directory in use stops with exit 2 and harms no upload in flight', async (t) => {
  const a = await startDaemon();
  t.teardown(() => a.cleanup());
  const s3 = a.s3();
  const bucket = await createBucket(s3, 'lock');
  // A 24 MiB upload still in flight when the second daemon has ended.
  const body = testBytes(24 * 1024 * 1024, 7);
  let secondDone!: () => void;
  const ended = new Promise<void>((r) => (secondDone = r));
  const sent = { bytes: 0 };
  const upload = raw(a.port, { method: 'PUT', path: `/${bucket}/in-flight`, body: heldOpen(body, 1024 * 1024, 40, ended, sent), headers: { 'content-length': String(body.length) }, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  await new Promise((r) => setTimeout(r, 150));
  const second = await runSecond(a.dataDir);
  t.ok(sent.bytes < body.length, 'the upload was still in flight when the second daemon ended');
  secondDone();
  t.equal(second.code, 2, 'the second daemon exits 2 (a configuration matter: systemd does not restart it)');
  t.match(second.stderr, /data directory .* is in use by another s3d/, 'and says why');
  const put = await upload;
  t.equal(put.status, 200, 'the upload in flight completes');
  t.equal(put.headers.etag, `"${md5Hex(body)}"`, 'with its MD5 ETag');
  t.ok((await getBytes(s3, { Bucket: bucket, Key: 'in-flight' })).equals(body), 'and reads back whole: its file was not swept');

  // SIGKILL: no stale lock is left behind.
  await a.stop('SIGKILL');
  const b = await startDaemon({ dataDir: a.dataDir });
  t.teardown(() => b.stop());
  t.ok((await getBytes(b.s3(), { Bucket: bucket, Key: 'in-flight' })).equals(body), 'after the first one died, a daemon starts on the directory and serves it');
  const third = await runSecond(a.dataDir);
  t.equal(third.code, 2, 'and holds the lock in turn');
});

t.test('a signal to the whole process group (Ctrl-C) does not free the lock while the daemon drains', async (t) => {
  // The lock's flock child shared the daemon's process group: Ctrl-C killed it at once, and a
  // second daemon started during the drain swept the file of an upload the first then acknowledged.
  const a = await startDaemon({ group: true, env: { S3_SHUTDOWN_TIMEOUT: '30' } });
  t.teardown(() => a.cleanup());
  const s3 = a.s3();
  const bucket = await createBucket(s3, 'grp');
  const body = testBytes(8 * 1024 * 1024, 11);
  let secondDone!: () => void;
  const ended = new Promise<void>((r) => (secondDone = r));
  const sent = { bytes: 0 };
  const exited = new Promise((resolve) => a.proc.once('exit', (code) => resolve(code)));
  const upload = raw(a.port, { method: 'PUT', path: `/${bucket}/drained`, body: heldOpen(body, 512 * 1024, 100, ended, sent), headers: { 'content-length': String(body.length) }, sign: { payloadHash: 'UNSIGNED-PAYLOAD' } });
  await new Promise((r) => setTimeout(r, 300));
  process.kill(-a.proc.pid!, 'SIGINT');
  await a.waitForLog((l) => /shutting down|draining/i.test(String(l.msg)), 5000);
  t.ok(sent.bytes < body.length, 'the upload is still in flight while the daemon drains');
  const second = await runSecond(a.dataDir);
  t.ok(sent.bytes < body.length, 'and still when the second daemon has ended');
  secondDone();
  t.equal(second.code, 2, 'a second daemon started during the drain exits 2');
  t.match(second.stderr, /in use by another s3d/, 'the directory is still locked');
  const put = await upload;
  t.equal(put.status, 200, 'the upload in flight completes during the drain');
  t.equal(await exited, 0, 'the first daemon exits 0 after the drain');
  const b = await startDaemon({ dataDir: a.dataDir });
  t.teardown(() => b.stop());
  t.ok((await getBytes(b.s3(), { Bucket: bucket, Key: 'drained' })).equals(body), 'the acknowledged upload reads back whole');
});

t.test('a lock child that dies anyway is logged as an error: the directory is no longer protected', async (t) => {
  const a = await startDaemon();
  t.teardown(async () => {
    await a.stop();
    a.cleanup();
  });
  const cat = descendantsOf(a.proc.pid!).filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'cat');
  t.equal(cat.length, 1, 'the lock is held by one cat under flock');
  process.kill(cat[0]!, 'SIGKILL');
  const line = await a.waitForLog((l) => /lock .* was lost/.test(String(l.msg)), 5000);
  t.equal(line.level, 50, 'logged at error');
  t.match(String(line.msg), /a second s3d could start/, 'saying what it means');
});

t.test('a data directory s3d cannot write is a configuration error: exit 2 with the reason, nothing created', async (t) => {
  const { mkdtempSync, writeFileSync, mkdirSync, chmodSync, existsSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const work = mkdtempSync(join(tmpdir(), 's3d-dirs-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  const notDir = await runSecond(file);
  t.equal(notDir.code, 2, 'a file in place of the directory: exit 2');
  t.match(notDir.stderr, /data directory .*a-file is not a directory/, 'and says so');
  t.notMatch(notDir.stderr, /\n\s+at /, 'without a stack trace');

  // A symbolic link whose target is not there (a disk not mounted under it): exit 1 with a stack
  // trace in the log and nothing on stderr, and systemd restarted into it.
  const { symlinkSync } = await import('node:fs');
  const dangling = join(work, 'dangling');
  symlinkSync(join(work, 'unmounted', 's3d'), dangling);
  const noTarget = await runSecond(dangling);
  t.equal(noTarget.code, 2, 'a symbolic link to nothing: exit 2');
  t.match(noTarget.stderr, /data directory .*dangling cannot be created: a symbolic link on its path points to nothing/, 'and says so');
  t.notOk(existsSync(join(work, 'unmounted')), 'nothing made where the link points');

  if (process.getuid?.() === 0) {
    // root writes anywhere; a read-only bind would need a mount. Check the permission case as
    // an unprivileged user when the machine has one (runuser, the nobody account).
    const locked = join(work, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    chmodSync(work, 0o755);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile('runuser', ['-u', 'nobody', '--', ...nodeChild([MAIN, 'server', join(locked, 'd'), '--dev']).flat()], { env: { PATH: process.env.PATH, S3_ADDRESS: '127.0.0.1:0' }, timeout: 20_000 }, (err, _o, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
      });
    });
    if (r.code === 1 && /runuser|user nobody does not exist|cannot/.test(r.stderr) && !/s3d/.test(r.stderr)) {
      t.comment(`runuser not usable here: ${r.stderr.trim()}`);
    } else {
      t.equal(r.code, 2, 'an unwritable directory (as nobody): exit 2');
      t.match(r.stderr, /is not writable by this user \(uid \d+\)/, 'and says so');
      t.notOk(existsSync(join(locked, 'd')), 'nothing was created');
      // An S3_CERTS_DIR the user may not search: named as such (it said the files were missing).
      const certs = join(work, 'certs');
      mkdirSync(certs, { mode: 0o700 });
      writeFileSync(join(certs, 'public.crt'), 'x');
      writeFileSync(join(certs, 'private.key'), 'x');
      const c = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile('runuser', ['-u', 'nobody', '--', ...nodeChild([MAIN, 'server', join(work, 'nobody-data'), '--dev']).flat()], { env: { PATH: process.env.PATH, S3_ADDRESS: '127.0.0.1:0', S3_CERTS_DIR: certs }, timeout: 20_000 }, (err, _o, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
        });
      });
      t.equal(c.code, 2, 'an S3_CERTS_DIR nobody may not read: exit 2');
      t.match(c.stderr, /S3_CERTS_DIR \(.*certs\) may not be read by this user \(EACCES\)/, 'and says so');
    }
  }
});

t.test('other start-up configuration errors exit 2 with the reason (systemd does not restart into them)', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const work = mkdtempSync(join(tmpdir(), 's3d-startup-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const run = (env: Record<string, string>): Promise<S3dRun> => runS3d(['server', join(work, 'data'), '--dev'], { S3_ADDRESS: '127.0.0.1:0', ...env }, 20_000);
  const garbage = join(work, 'garbage');
  (await import('node:fs')).mkdirSync(garbage);
  writeFileSync(join(garbage, 'public.crt'), 'not a certificate');
  writeFileSync(join(garbage, 'private.key'), 'not a key');
  // The test PKI's server certificate (EC P-256) beside a key that is not its own: an RSA key (what
  // one certbot renewal with another --key-type leaves; it exited 1, "App construction failed") and
  // another P-256 key.
  const { generateKeyPairSync } = await import('node:crypto');
  const pki = await testPki();
  const foreignKeys: Array<[string, string]> = [
    ['rsa', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['ec', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
  ];
  for (const [type, pem] of foreignKeys) {
    (await import('node:fs')).mkdirSync(join(work, `foreign-${type}`));
    writeFileSync(join(work, `foreign-${type}`, 'public.crt'), pki.server.cert);
    writeFileSync(join(work, `foreign-${type}`, 'private.key'), pem, { mode: 0o600 });
  }
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['a certificate beside an RSA key not its own', { S3_CERTS_DIR: join(work, 'foreign-rsa') }, /S3_CERTS_DIR: .* are not a usable certificate and key: the private key does not belong to the certificate/],
    ['a certificate beside an EC key not its own', { S3_CERTS_DIR: join(work, 'foreign-ec') }, /S3_CERTS_DIR: .* are not a usable certificate and key/],
    ['S3_CERTS_DIR that does not exist (it used to serve plain HTTP)', { S3_CERTS_DIR: join(work, 'no-such-dir') }, /S3_CERTS_DIR .* holds no public\.crt and private\.key \(it does not exist\)/],
    ['S3_CERTS_DIR that is empty', { S3_CERTS_DIR: work }, /S3_CERTS_DIR .* holds no public\.crt and private\.key; unset it/],
    ['a certificate that is not one (it exited 1: a restart loop)', { S3_CERTS_DIR: garbage }, /S3_CERTS_DIR: .* are not a usable certificate and key/],
    ['S3_ADDRESS on an address this machine does not have', { S3_ADDRESS: '192.0.2.1:9000' }, /192\.0\.2\.1 is not an address of this machine/],
    // A typo in a host name: exit 2 (no restart loop under Restart=on-failure), not 1 with a stack trace.
    ['S3_ADDRESS with a host name that does not resolve', { S3_ADDRESS: 'nosuchhost.invalid:9000' }, /nosuchhost\.invalid is not a host name that resolves/],
    // Both were exit 1 with "EINVAL": a restart loop on a configuration mistake.
    ['S3_ADDRESS with a link-local IPv6 address and no zone id', { S3_ADDRESS: '[fe80::1]:9000' }, /S3_ADDRESS: fe80::1 is a link-local IPv6 address; name its interface with a zone id, e\.g\. \[fe80::1%eth0\]:9000/],
    ['S3_ADDRESS with a zone id that is no interface', { S3_ADDRESS: '[fe80::1%nosuchif0]:9000' }, /nosuchif0 is not a network interface of this machine/],
  ];
  for (const [what, env, pattern] of cases) {
    const r = await run(env);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr, pattern, `${what}: says why`);
    t.notMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
});

t.test('an IPv6 S3_ADDRESS: served there, and the listening line brackets the address', async (t) => {
  const d = await startDaemon({ env: { S3_ADDRESS: '[::1]:0' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const line = d.jsonLogs().find((l) => l.msg === 'listening');
  t.equal(line?.address, `http://[::1]:${d.port}`, 'a URL a client can use (it read http://::1:PORT)');
  const res = await fetch(`http://[::1]:${d.port}/minio/health/live`);
  t.equal(res.status, 200, 'the daemon answers on ::1');
});

/** A link-local IPv6 address of this machine with its zone id (`fe80::…%eth0`), if it has one. */
function linkLocal(): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    const a = addrs?.find((x) => x.family === 'IPv6' && /^fe[89ab][0-9a-f]:/i.test(x.address));
    if (a) return `${a.address}%${name}`;
  }
  return undefined;
}

t.test('a link-local IPv6 S3_ADDRESS with its zone id is served', { skip: linkLocal() === undefined ? 'no link-local IPv6 address here' : false }, async (t) => {
  const host = linkLocal()!;
  const d = await startDaemon({ env: { S3_ADDRESS: `[${host}]:0` } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const status = await new Promise<number | undefined>((resolve, reject) => {
    const req = httpRequest({ host, port: d.port, path: '/minio/health/live' }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('error', reject);
    req.end();
  });
  t.equal(status, 200, `the daemon answers on ${host}`);
  // In a URL the zone id's % is written %25 (RFC 6874): http://[fe80::1%eth0]:9000 is no valid URL.
  const address = d.jsonLogs().find((l) => l.msg === 'listening')?.address;
  t.equal(address, `http://[${host.replace('%', '%25')}]:${d.port}`, 'the listening line writes the zone id as %25');
});

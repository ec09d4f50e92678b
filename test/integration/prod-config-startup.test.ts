// Start-up refusals of configuration mistakes an operator makes in the EnvironmentFile: each must
// end the start with exit 2 (systemd does not restart into it) and a stderr line naming the
// variable, never exit 1 with a bare errno, nor a start with the setting silently dropped.
import t from 'tap';
import type { Test } from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAIN, nodeChild, runS3d, startDaemon, testPki } from '../helpers/daemon.js';

/** A KES API key (any 32 bytes): s3d makes its client certificate without reaching KES. */
const KES_API_KEY = `kes:v1:${Buffer.concat([Buffer.from([0]), Buffer.alloc(32, 9)]).toString('base64')}`;

/** Runs `s3d server DIR` as the nobody account with `env` (and PATH) as its whole environment. */
function runAsNobody(dir: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, args] = nodeChild([MAIN, 'server', dir]);
    execFile('runuser', ['-u', 'nobody', '--', cmd, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (err, _o, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

/** A directory `nobody` may enter, removed when the test ends, with a data directory it may write. */
function nobodyWorkspace(t: Test): { work: string; data: string } {
  const work = mkdtempSync(join(tmpdir(), 's3d-capath-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  chmodSync(work, 0o755);
  const data = join(work, 'data');
  mkdirSync(data, { mode: 0o777 });
  chmodSync(data, 0o777);
  return { work, data };
}

/** A configuration with a KES endpoint whose CA path is `ca` (no KES answers: start-up checks the path first). */
function kesWithCaPath(ca: string): Record<string, string> {
  return {
    S3_ROOT_USER: 'admin',
    S3_ROOT_PASSWORD: 'password123',
    S3_ADDRESS: '127.0.0.1:0',
    S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373',
    S3_KMS_KES_KEY_NAME: 's3d-key',
    S3_KMS_KES_API_KEY: KES_API_KEY,
    S3_KMS_KES_CAPATH: ca,
  };
}

const nobodyUsable = process.getuid?.() === 0 && spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0;

t.test('S3_KMS_KES_CAPATH: a directory the service user may not list is refused by name (exit 2)', { skip: nobodyUsable ? false : 'needs root and runuser -u nobody' }, async (t) => {
  const { work, data } = nobodyWorkspace(t);
  // Searchable (stat works) but not readable (readdir fails): it was exit 1, "start-up failed:
  // EACCES: permission denied, scandir '…'", naming no variable.
  const ca = join(work, 'ca');
  mkdirSync(ca);
  writeFileSync(join(ca, 'ca.crt'), (await testPki()).caCert);
  chmodSync(ca, 0o311);
  const r = await runAsNobody(data, kesWithCaPath(ca));
  t.equal(r.code, 2, 'exit 2');
  t.match(r.stderr, /S3_KMS_KES_CAPATH: cannot list .*\/ca: EACCES/, `names the variable and the reason (${r.stderr.trim()})`);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

t.test('S3_KMS_KES_CAPATH: a file of the directory the service user may not read is named in a warning (its CA was silently not trusted)', { skip: nobodyUsable ? false : 'needs root and runuser -u nobody' }, async (t) => {
  const { work } = nobodyWorkspace(t);
  const ca = join(work, 'ca');
  mkdirSync(ca, { mode: 0o755 });
  chmodSync(ca, 0o755);
  const pki = await testPki();
  writeFileSync(join(ca, 'a.crt'), pki.caCert, { mode: 0o644 });
  writeFileSync(join(ca, 'b.crt'), pki.caCert, { mode: 0o600 });
  // The KES configuration as the service user loads it, in a process of its own.
  const code = 'const m = await import(process.argv[1]); const c = await m.loadKesConfig(JSON.parse(process.argv[2])); process.stdout.write(JSON.stringify(c.warnings));';
  const env = { S3_KMS_KES_ENDPOINT: 'https://127.0.0.1:7373', S3_KMS_KES_KEY_NAME: 's3d-key', S3_KMS_KES_API_KEY: KES_API_KEY, S3_KMS_KES_CAPATH: ca };
  const [cmd, args] = nodeChild(['--input-type=module', '-e', code, pathToFileURL(join(dirname(MAIN), 'kms', 'kes-config.js')).href, JSON.stringify(env)]);
  const r = spawnSync('runuser', ['-u', 'nobody', '--', cmd, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 20_000 });
  t.equal(r.status, 0, `loads (${r.stderr.trim()})`);
  const warnings = JSON.parse(r.stdout || '[]') as string[];
  t.ok(warnings.some((w) => w === `S3_KMS_KES_CAPATH: cannot read ${join(ca, 'b.crt')} (EACCES): its certificates are not trusted for KES`), `b.crt is named (${JSON.stringify(warnings)})`);
  t.notOk(warnings.some((w) => w.includes('a.crt')), 'the readable one is not');
});

t.test('S3_NOTIFY_WEBHOOK_CLIENT_CERT/KEY that TLS cannot load stop the start by name (exit 2)', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-webhook-tls-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const pki = await testPki();
  writeFileSync(join(work, 'client.crt'), pki.app.cert);
  writeFileSync(join(work, 'garbage.key'), 'not a key');
  const webhook = { S3_NOTIFY_WEBHOOK_ENABLE_T: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_T: 'https://127.0.0.1:1/hook' };
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    // It was exit 1 (systemd restarting into it): "start-up failed: webhook target T: cannot read
    // its client certificate or key: EISDIR", naming no variable.
    ['a directory as the certificate', { S3_NOTIFY_WEBHOOK_CLIENT_CERT_T: work, S3_NOTIFY_WEBHOOK_CLIENT_KEY_T: join(work, 'garbage.key') }, /S3_NOTIFY_WEBHOOK_CLIENT_CERT_T: cannot read .* \(EISDIR\)/],
    // It started, and every delivery to the target failed its TLS handshake.
    ['a file that is no key', { S3_NOTIFY_WEBHOOK_CLIENT_CERT_T: join(work, 'client.crt'), S3_NOTIFY_WEBHOOK_CLIENT_KEY_T: join(work, 'garbage.key') }, /S3_NOTIFY_WEBHOOK_CLIENT_KEY_T: .*garbage\.key holds no unencrypted PEM private key/],
  ];
  for (const [what, env, pattern] of cases) {
    const r = await runS3d(['server', join(work, 'data'), '--dev'], { S3_ADDRESS: '127.0.0.1:0', ...webhook, ...env }, 20_000);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr, pattern, `${what}: names the variable (${r.stderr.trim()})`);
  }
});

t.test('KES-only cache settings with the built-in key are named in a start-up warning (they were silently ignored)', async (t) => {
  const d = await startDaemon({ env: { S3_KMS_CACHE_GRACE: '5', S3_KMS_BATCH_WINDOW_MS: '10', S3_KMS_CACHE_TTL: '60' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const lines = d.jsonLogs().filter((l) => l.level === 40 && typeof l.msg === 'string' && /KES only/.test(l.msg));
  t.strictSame(lines.map((l) => l.msg), ['S3_KMS_CACHE_GRACE, S3_KMS_BATCH_WINDOW_MS apply to KES only: ignored with the built-in key (S3_KMS_SECRET_KEY)'], 'S3_KMS_CACHE_TTL (every KMS) is not named');
});

t.test('KES-only cache settings under --dev name the development key file, not S3_KMS_SECRET_KEY (which is not set)', async (t) => {
  const d = await startDaemon({ dev: true, kms: false, env: { S3_KMS_CACHE_GRACE: '5' } });
  t.teardown(async () => {
    await d.stop();
    d.cleanup();
  });
  const lines = d.jsonLogs().filter((l) => l.level === 40 && typeof l.msg === 'string' && /KES only/.test(l.msg));
  t.strictSame(lines.map((l) => l.msg), ['S3_KMS_CACHE_GRACE applies to KES only: ignored with the development key file of --dev (.s3d/kms-dev.key)']);
});

t.test('S3_KMS_KES_CAPATH: a directory whose only CA file the service user may not read says so (it said the directory held no certificate)', { skip: nobodyUsable ? false : 'needs root and runuser -u nobody' }, async (t) => {
  const { work, data } = nobodyWorkspace(t);
  const ca = join(work, 'ca');
  mkdirSync(ca, { mode: 0o755 });
  chmodSync(ca, 0o755);
  writeFileSync(join(ca, 'ca.crt'), (await testPki()).caCert, { mode: 0o600 });
  const r = await runAsNobody(data, kesWithCaPath(ca));
  t.equal(r.code, 2, 'exit 2');
  t.match(r.stderr, /S3_KMS_KES_CAPATH: no PEM certificate found in .*\/ca; cannot read .*\/ca\/ca\.crt \(EACCES\)/, `names the file it cannot read (${r.stderr.trim()})`);
});

t.test('a refused configuration still names the misspelt variables (S3_ROOT_PASWORD: the hint was lost with the start)', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 's3d-typo-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const r = await runS3d(['server', join(work, 'data')], { S3_ROOT_USER: 'admin', S3_ROOT_PASWORD: 'password123', MINIO_KMS_SECRET_KEY: `k:${Buffer.alloc(32).toString('base64')}` }, 20_000);
  t.equal(r.code, 2, 'exit 2');
  t.match(r.stderr, /S3_ROOT_PASSWORD must be set when S3_ROOT_USER is set/, 'the error');
  t.match(r.stderr, /S3_ROOT_PASWORD is not a variable s3d reads: it is ignored \(did you mean S3_ROOT_PASSWORD\?\)/, 'and the misspelt name');
  t.match(r.stderr, /MINIO_KMS_SECRET_KEY is MinIO's name, which s3d does not read: it is ignored \(s3d reads S3_KMS_SECRET_KEY\)/, 'and the MinIO one');
  t.notMatch(r.stderr, /password123|AAAAAAAA/, 'no value printed');
});

// `s3d --version` (and `s3d version`) prints package.json's version, the store format it writes
// and the runtime; the `listening` log line and the s3d_build_info metric carry the same version,
// so an operator can tell which build answers. `s3d --help` prints the usage on stdout (exit 0),
// a usage error on stderr (exit 2), an empty DIR included (it meant the working directory).

import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runS3d, startDaemon, startDaemonFor, type S3dRun } from '../helpers/daemon.js';
import { send } from '../helpers/http.js';
import { projectPath } from '../helpers/root.js';
import { STORE_FORMAT } from '../../daemon/meta/state.js';
import { EXAMPLE_ROOT_PASSWORD } from '../../daemon/config.js';

const version = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;

const s3d = (args: string[]): Promise<S3dRun> => runS3d(args, {}, 20_000);

t.test('s3d --version and s3d version', async (t) => {
  t.match(version, /^\d+\.\d+\.\d+/, `package.json has a version (${version})`);
  const want = `s3d ${version} (store format ${STORE_FORMAT}; Node.js ${process.version}, ${process.platform}-${process.arch})\n`;
  for (const args of [['--version'], ['version']]) {
    const r = await s3d(args);
    t.equal(r.code, 0, `s3d ${args.join(' ')}: exit 0`);
    t.equal(r.stdout, want, 'the version line on stdout');
    t.equal(r.stderr, '', 'nothing on stderr');
  }
  const extra = await s3d(['--version', 'x']);
  t.equal(extra.code, 2, 's3d --version x: a usage error (exit 2)');
  t.match(extra.stderr, /^s3d: --version takes no arguments\nusage: s3d server DIR/, 'saying so, with the usage on stderr');
});

t.test('s3d --help on stdout, a usage error on stderr', async (t) => {
  const help = await s3d(['--help']);
  t.equal(help.code, 0, '--help: exit 0');
  t.match(help.stdout, /^usage: s3d server DIR \[--dev\]\n(.*\n)*\s+s3d --version\n/, 'the usage on stdout, naming --version');
  t.equal(help.stderr, '');
  const none = await s3d([]);
  t.equal(none.code, 2, 'no command: exit 2');
  t.equal(none.stdout, '');
  t.match(none.stderr, /^usage: s3d server DIR/, 'the usage on stderr');
});

t.test("each command's --help (and -h) prints its usage on stdout, exit 0, whatever the environment holds", async (t) => {
  // `s3d metrics-token --help` was a usage error (`unknown argument "--help"`, exit 2), and
  // `s3d verify --help` run with the service's environment stopped (exit 2) on a secret file it
  // could not read before saying anything about its use. Help reads no secret.
  const brokenSecrets = { S3_ROOT_PASSWORD_FILE: '/nonexistent/s3d-root-password', S3_KMS_SECRET_KEY_FILE: '/nonexistent/s3d-kms-key' };
  const cases: Array<[string[], RegExp]> = [
    [['metrics-token', '--help'], /^usage: s3d metrics-token \[--dev\]\n\n {2}Prints a bearer token of the root user/],
    [['metrics-token', '-h'], /^usage: s3d metrics-token \[--dev\]\n/],
    [['metrics-token', '--dev', '--help'], /^usage: s3d metrics-token \[--dev\]\n/],
    [['verify', '--help'], /^usage: s3d verify DIR \[--deep\] \[--bucket NAME\] \[--dev\]\n/],
    [['verify', '/var/lib/s3d', '--deep', '-h'], /^usage: s3d verify DIR/],
    [['backup', '--help'], /^usage: s3d backup DIR DEST/],
    [['--help'], /^usage: s3d server DIR \[--dev\]\n/],
  ];
  for (const env of [{}, brokenSecrets]) {
    for (const [args, usage] of cases) {
      const r = await runS3d(args, env, 10_000);
      const what = `s3d ${args.join(' ')}${env === brokenSecrets ? ' (secret files that cannot be read)' : ''}`;
      t.equal(r.code, 0, `${what}: exit 0`);
      t.match(r.stdout, usage, 'its usage on stdout');
      t.equal(r.stderr, '', 'nothing on stderr');
    }
  }
  // Still a usage error: an argument metrics-token does not take, with its usage after it.
  const bogus = await runS3d(['metrics-token', '--bogus'], {}, 10_000);
  t.equal(bogus.code, 2, 'an unknown argument: exit 2');
  t.match(bogus.stderr, /^s3d metrics-token: unknown argument "--bogus"\nusage: s3d metrics-token \[--dev\]\n/, 'saying so, then the usage');
  t.equal(bogus.stdout, '');
});

t.test('verify, backup and metrics-token warn of S3_* variables they do not read, as the server does', async (t) => {
  // They read the daemon's env file (the verify and backup units' EnvironmentFile=): a misspelt
  // S3_MIN_FREE_DISK let a backup eat the daemon's reserve, a misspelt S3_KMS_SECRET_KEY left a
  // deep verify without its key, and neither said a word about the name.
  const cwd = mkdtempSync(join(tmpdir(), 's3d-tool-warnings-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [['backup', join(cwd, 'none'), join(cwd, 'dest')], { S3_MIN_FREE_DIS: '5%' }, /^s3d backup: warning: S3_MIN_FREE_DIS is not a variable s3d reads: it is ignored \(did you mean S3_MIN_FREE_DISK\?\)$/m],
    [['verify', join(cwd, 'none'), '--deep'], { S3_KMS_SECRET_KY: 'k:x' }, /^s3d verify: warning: S3_KMS_SECRET_KY is not a variable s3d reads: it is ignored \(did you mean S3_KMS_SECRET_KEY\?\)$/m],
    [['verify', join(cwd, 'none')], { MINIO_KMS_SECRET_KEY: 'k:x' }, /^s3d verify: warning: MINIO_KMS_SECRET_KEY is MinIO's name, which s3d does not read: it is ignored \(s3d reads S3_KMS_SECRET_KEY\)$/m],
    [['metrics-token'], { S3_ROOT_USER: 'admin', S3_ROOT_PASWORD: 'change-me-please' }, /^s3d metrics-token: warning: S3_ROOT_PASWORD is not a variable s3d reads: it is ignored \(did you mean S3_ROOT_PASSWORD\?\)$/m],
  ];
  for (const [args, env, warning] of cases) {
    const r = await runS3d(args, env, 10_000);
    t.match(r.stderr, warning, `s3d ${args[0]} with ${Object.keys(env).join(', ')}: warned`);
    t.equal(r.code, 2, 'and refused as before (no such store, no password)');
  }
  t.same(readdirSync(cwd), [], 'nothing was made');
  // Nothing to warn of: nothing said.
  const quiet = await runS3d(['metrics-token'], { S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: 'a-long-random-secret' }, 10_000);
  t.same([quiet.code, quiet.stderr], [0, ''], 'metrics-token with sound credentials: the token, no warning');
});

t.test("metrics-token passes on the root credentials' warnings, as the server logs them", async (t) => {
  // They were dropped: a token signed with the example s3d.env's placeholder password (which
  // anyone who has read that file can sign with too) was printed without a word.
  const placeholder = await runS3d(['metrics-token'], { S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: EXAMPLE_ROOT_PASSWORD }, 10_000);
  t.equal(placeholder.code, 0, 'still a token (exit 0): a warning, not a refusal, as for the server');
  t.match(placeholder.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'the token alone on stdout');
  t.equal(placeholder.stderr, 's3d metrics-token: warning: S3_ROOT_PASSWORD is still the placeholder of the example s3d.env: anyone who has read that file can sign as the root user; set a long random secret\n');
  const dev = await runS3d(['metrics-token', '--dev'], {}, 10_000);
  t.equal(dev.code, 0, '--dev alone: exit 0');
  t.match(dev.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'the token on stdout');
  t.match(dev.stderr, /^s3d metrics-token: warning: development mode: using the built-in credentials s3dadmin \/ \S+; set S3_ROOT_USER and S3_ROOT_PASSWORD for anything real\n$/, 'whose credentials it is, as the server says');
});

t.test('a usage error says what is wrong before the usage, and starts nothing', async (t) => {
  // `-dev` (one dash) was taken for DIR: s3d made and served a new, empty directory named -dev.
  const cwd = mkdtempSync(join(tmpdir(), 's3d-usage-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const env = { S3_ADDRESS: '127.0.0.1:0', S3_ROOT_USER: 'usage-test', S3_ROOT_PASSWORD: 'usage-test-password' };
  const cases: Array<[string[], string]> = [
    [['serve', 'data'], 's3d: unknown command "serve"'],
    [['server'], 's3d: no DIR given'],
    [['server', '-dev'], 's3d: unknown option -dev'],
    [['server', 'data', '--deev'], 's3d: unknown option --deev'],
    [['server', 'data', 'other'], 's3d: one DIR only, got 2: "data" "other"'],
    [['verify', 'data', '-deep'], 's3d verify: unknown option -deep'],
    [['verify', 'data', '--bucket', '--deep'], 's3d verify: --bucket needs a bucket name'],
    [['verify', 'data', 'other'], 's3d verify: one DIR only, got 2: "data" "other"'],
    [['verify'], 's3d verify: no DIR given'],
  ];
  for (const [args, first] of cases) {
    const r = await runS3d(args, env, 10_000, cwd);
    t.equal(r.code, 2, `s3d ${args.join(' ')}: exit 2`);
    t.equal(r.stderr.split('\n')[0], first, 'says what is wrong first');
    t.match(r.stderr, /\nusage: s3d (server|verify) DIR/, 'then the usage');
    t.equal(r.stdout, '', 'nothing on stdout');
  }
  t.same(readdirSync(cwd), [], 'no directory was made');
});

t.test('an empty DIR (an unset variable in "$DIR") is a usage error, not the working directory', async (t) => {
  // A working directory holding a store: `s3d server ""` served it, and `s3d verify ""` checked it
  // and said "no problems" about a directory nobody named.
  const cwd = mkdtempSync(join(tmpdir(), 's3d-empty-dir-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const server = await runS3d(['server', '', '--dev'], { S3_ADDRESS: '127.0.0.1:0' }, 10_000, cwd);
  t.equal(server.code, 2, 's3d server "": exit 2');
  t.match(server.stderr, /^s3d: an empty DIR \(an unset variable\?\)\nusage: s3d server DIR/, 'saying so before the usage');
  t.notOk(existsSync(join(cwd, '.s3d')), 'nothing made in the working directory');
  const store = await startDaemon({ dataDir: cwd });
  t.equal(await store.stop(), 0);
  const verify = await runS3d(['verify', ''], {}, 10_000, cwd);
  t.equal(verify.code, 2, 's3d verify "": exit 2');
  t.match(verify.stderr, /^s3d verify: an empty DIR \(an unset variable\?\)\nusage: s3d verify DIR/, 'saying so before the usage');
});

t.test('the listening log line and s3d_build_info carry the version', async (t) => {
  const d = await startDaemonFor(t, {});
  const line = d.jsonLogs().find((l) => l.msg === 'listening');
  t.equal(line?.version, version, 'listening names the version');
  const metrics = (await send(d.port, { method: 'GET', path: '/minio/v2/metrics/cluster' })).body.toString();
  t.match(metrics, /# TYPE s3d_build_info gauge\n/, 's3d_build_info is a gauge');
  const sample = metrics.split('\n').find((l) => l.startsWith('s3d_build_info{'));
  t.equal(sample, `s3d_build_info{version="${version}",store_format="${STORE_FORMAT}",node="${process.version}"} 1`, 'of value 1, with the version, store format and Node.js version as labels');
});

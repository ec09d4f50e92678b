// notify/targets.ts on its own: webhook targets from S3_NOTIFY_WEBHOOK_* (the default target `_`
// and suffixed ids, as MinIO names them), the Authorization header rule, errors naming the
// variable, and the ARN format.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizationOf, loadNotifyConfig, NotifyConfigError, parseArn, targetArn } from '../../../../daemon/notify/targets.js';
import { loadConfig } from '../../../../daemon/config.js';
import { testPki } from '../../../helpers/daemon.js';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';

function error(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof NotifyConfigError)) throw err;
    return err.message;
  }
}

t.test('the default target and suffixed ones', async (t) => {
  const c = loadNotifyConfig(
    {
      S3_NOTIFY_WEBHOOK_ENABLE: 'on',
      S3_NOTIFY_WEBHOOK_ENDPOINT: 'http://127.0.0.1:8080/events',
      S3_NOTIFY_WEBHOOK_ENABLE_PRIMARY: 'on',
      S3_NOTIFY_WEBHOOK_ENDPOINT_PRIMARY: 'https://hooks.example.com/s3?x=1',
      S3_NOTIFY_WEBHOOK_AUTH_TOKEN_PRIMARY: 'abc',
      S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_PRIMARY: '10',
      S3_NOTIFY_WEBHOOK_QUEUE_LIMIT: '500',
      S3_NOTIFY_WEBHOOK_ENABLE_auth_2: 'on',
      S3_NOTIFY_WEBHOOK_ENDPOINT_auth_2: 'http://h/',
      S3_NOTIFY_WEBHOOK_AUTH_TOKEN_auth_2: 'Token xyz',
      UNRELATED: 'x',
    },
    'eu-west-1',
  );
  t.strictSame(
    c.targets.map((x) => ({ ...x })),
    [
      { id: 'PRIMARY', arn: 'arn:minio:sqs:eu-west-1:PRIMARY:webhook', endpoint: 'https://hooks.example.com/s3?x=1', authorization: 'Bearer abc', queueLimit: 10 },
      { id: '_', arn: 'arn:minio:sqs:eu-west-1:_:webhook', endpoint: 'http://127.0.0.1:8080/events', queueLimit: 500 },
      { id: 'auth_2', arn: 'arn:minio:sqs:eu-west-1:auth_2:webhook', endpoint: 'http://h/', authorization: 'Token xyz', queueLimit: 500 },
    ],
  );
  // A token to an http:// endpoint crosses the network in clear (MinIO sends it too): said, by name only.
  t.strictSame(c.warnings, [
    'S3_NOTIFY_WEBHOOK_AUTH_TOKEN_auth_2 is sent in clear to an http:// endpoint (S3_NOTIFY_WEBHOOK_ENDPOINT_auth_2): anyone on the path can read it; use https://',
  ]);
  t.notOk(c.warnings.some((w) => w.includes('xyz')), 'the token itself is not in the warning');
  const quiet = loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT: 'http://h/', S3_NOTIFY_WEBHOOK_AUTH_TOKEN: ' ' }, 'us-east-1');
  t.strictSame(quiet.warnings, [], 'an empty token (none sent): no warning');
  for (const host of ['127.0.0.1:8080', 'localhost', '[::1]:9']) {
    const local = loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT: `http://${host}/`, S3_NOTIFY_WEBHOOK_AUTH_TOKEN: 't' }, 'us-east-1');
    t.strictSame(local.warnings, [], `a loopback endpoint (${host}): the token stays on this host, no warning`);
  }
  t.strictSame(loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT: 'HTTP://127.0.0.2.example.com/', S3_NOTIFY_WEBHOOK_AUTH_TOKEN: 't' }, 'us-east-1').warnings.length, 1, 'a name that only starts like a loopback address warns');
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.targets) && Object.isFrozen(c.targets[0]));
});

t.test('nothing configured: no targets; configured but not enabled: a warning', async (t) => {
  t.strictSame(loadNotifyConfig({}, 'us-east-1'), { targets: [], warnings: [] });
  t.strictSame(loadNotifyConfig({ S3_NOTIFY_WEBHOOK_QUEUE_LIMIT: '5' }, 'us-east-1').warnings, [], 'the shared queue limit alone is no target');
  const c = loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENDPOINT_X: 'http://h/', S3_NOTIFY_WEBHOOK_ENABLE_Y: 'off', S3_NOTIFY_WEBHOOK_ENDPOINT_Y: 'http://h/' }, 'us-east-1');
  t.equal(c.targets.length, 0);
  t.match(c.warnings, [/target X .*S3_NOTIFY_WEBHOOK_ENABLE_X=on/, /target Y .*S3_NOTIFY_WEBHOOK_ENABLE_Y=on/]);
});

t.test('errors name the variable', async (t) => {
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE_A: 'on' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENDPOINT_A must be set when S3_NOTIFY_WEBHOOK_ENABLE_A=on/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE: 'on' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENDPOINT must be set/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: 'not a url' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENDPOINT_A must be an http:\/\/ or https:\/\/ URL/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: 'ftp://h/' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENDPOINT_A must be an http/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: 'http://u:p@h/' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENDPOINT_A must not carry credentials/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE_A: 'maybe' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENABLE_A must be "on" or "off"/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLED: 'on' }, 'r')), /^S3_NOTIFY_WEBHOOK_ENABLED is not a webhook setting/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_QUEUE_DIR: '/x' }, 'r')), /^S3_NOTIFY_WEBHOOK_QUEUE_DIR: s3d keeps undelivered events/);
  t.match(error(() => loadNotifyConfig({ 'S3_NOTIFY_WEBHOOK_ENABLE_a.b': 'on' }, 'r')), /target id "a\.b"/);
  const base = { S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: 'https://h/' };
  t.match(error(() => loadNotifyConfig({ ...base, S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_A: '0' }, 'r')), /^S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_A must be a whole number/);
  t.match(error(() => loadNotifyConfig({ ...base, S3_NOTIFY_WEBHOOK_QUEUE_LIMIT: 'lots' }, 'r')), /^S3_NOTIFY_WEBHOOK_QUEUE_LIMIT must be a whole number/);
  // Checked without any target enabled too (it was accepted until a target used it).
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_QUEUE_LIMIT: 'x' }, 'r')), /^S3_NOTIFY_WEBHOOK_QUEUE_LIMIT must be a whole number/);
  t.match(error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_B: '-1' }, 'r')), /^S3_NOTIFY_WEBHOOK_QUEUE_LIMIT_B must be a whole number/);
  t.match(error(() => loadNotifyConfig({ ...base, S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: '/x.crt' }, 'r')), /S3_NOTIFY_WEBHOOK_CLIENT_CERT_A and S3_NOTIFY_WEBHOOK_CLIENT_KEY_A must be set together/);
  t.match(error(() => loadNotifyConfig({ ...base, S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: '/nonexistent.crt', S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: '/nonexistent.key' }, 'r')), /^S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: cannot read \/nonexistent\.crt/);
  t.match(
    error(() => loadNotifyConfig({ S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: 'http://h/', S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: '/a', S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: '/b' }, 'r')),
    /needs an https:\/\/ S3_NOTIFY_WEBHOOK_ENDPOINT_A/,
  );
  const dir = mkdtempSync(join(tmpdir(), 's3d-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await testPki();
  writeFileSync(join(dir, 'c.pem'), pki.app.cert);
  writeFileSync(join(dir, 'k.pem'), pki.app.key);
  const c = loadNotifyConfig({ ...base, S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: join(dir, 'c.pem'), S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: join(dir, 'k.pem') }, 'r');
  t.match(c.targets[0], { clientCert: join(dir, 'c.pem'), clientKey: join(dir, 'k.pem') });
});

t.test('the client certificate and key are checked as TLS will load them, by variable', async (t) => {
  // Only readability was checked: a directory ended the start-up later (exit 1, no variable
  // named), and a file that is no certificate or key, or another certificate's key, started a
  // daemon whose every delivery to the target failed its TLS handshake.
  const dir = mkdtempSync(join(tmpdir(), 's3d-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pki = await testPki();
  const files: Record<string, string> = {
    'c.pem': pki.app.cert,
    'k.pem': pki.app.key,
    'garbage.pem': 'not a PEM file',
    'other.key': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'encrypted.key': createPrivateKey(pki.app.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const base = { S3_NOTIFY_WEBHOOK_ENABLE_A: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_A: 'https://h/' };
  const load = (cert: string, key: string): string => error(() => loadNotifyConfig({ ...base, S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: join(dir, cert), S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: join(dir, key) }, 'r'));
  t.equal(load('c.pem', 'k.pem'), 'ok', 'a certificate and its key');
  t.equal(load('', 'k.pem'), `S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: cannot read ${dir} (EISDIR)`, 'a directory');
  t.equal(load('c.pem', ''), `S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: cannot read ${dir} (EISDIR)`, 'a directory as the key');
  t.equal(load('garbage.pem', 'k.pem'), `S3_NOTIFY_WEBHOOK_CLIENT_CERT_A: ${join(dir, 'garbage.pem')} holds no PEM certificate`);
  t.equal(load('c.pem', 'garbage.pem'), `S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: ${join(dir, 'garbage.pem')} holds no unencrypted PEM private key`);
  t.equal(load('c.pem', 'encrypted.key'), `S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: ${join(dir, 'encrypted.key')} holds no unencrypted PEM private key`, 'an encrypted key (no passphrase to give, as on MinIO)');
  t.equal(load('c.pem', 'other.key'), `S3_NOTIFY_WEBHOOK_CLIENT_KEY_A: the key in ${join(dir, 'other.key')} does not belong to the certificate in S3_NOTIFY_WEBHOOK_CLIENT_CERT_A`);
});

t.test('loadConfig carries the targets and turns their errors into ConfigError', async (t) => {
  const env = { S3_NOTIFY_WEBHOOK_ENABLE_P: 'on', S3_NOTIFY_WEBHOOK_ENDPOINT_P: 'http://h/', S3_REGION: 'eu-central-1' };
  t.equal(loadConfig({ dataDir: '/tmp/x', dev: true }, env).notify.targets[0]!.arn, 'arn:minio:sqs:eu-central-1:P:webhook');
  t.throws(() => loadConfig({ dataDir: '/tmp/x', dev: true }, { S3_NOTIFY_WEBHOOK_ENABLE_P: 'on' }), { name: 'ConfigError', message: /S3_NOTIFY_WEBHOOK_ENDPOINT_P/ });
  t.match(loadConfig({ dataDir: '/tmp/x', dev: true }, { S3_NOTIFY_WEBHOOK_ENDPOINT_Q: 'http://h/' }).warnings, [/development mode/, /target Q/]);
});

t.test('Authorization: a bare token is Bearer, one with a scheme is sent as given (MinIO)', async (t) => {
  t.equal(authorizationOf('abc'), 'Bearer abc');
  t.equal(authorizationOf(' abc '), 'Bearer abc');
  t.equal(authorizationOf('Bearer abc'), 'Bearer abc');
  t.equal(authorizationOf('Basic dXNlcjpwYXNz'), 'Basic dXNlcjpwYXNz');
  t.equal(authorizationOf(''), undefined);
});

t.test('ARNs', async (t) => {
  t.equal(targetArn('us-east-1', 'PRIMARY'), 'arn:minio:sqs:us-east-1:PRIMARY:webhook');
  t.strictSame(parseArn('arn:minio:sqs::1:webhook'), { region: '', id: '1', type: 'webhook' });
  t.strictSame(parseArn('arn:minio:sqs:us-east-1:_:webhook'), { region: 'us-east-1', id: '_', type: 'webhook' });
  for (const bad of ['', 'arn:aws:sqs:us-east-1:123:queue', 'arn:minio:sqs::1', 'arn:minio:sqs:::webhook', 'arn:minio:sqs::1:', 'arn:minio:sqs::1:webhook:extra']) {
    t.equal(parseArn(bad), undefined, JSON.stringify(bad));
  }
});

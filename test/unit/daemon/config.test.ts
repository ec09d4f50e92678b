// daemon/config.ts: S3_MIN_FREE_DISK, the free-space reserve — sizes with SI and IEC units, plain
// bytes, percentages of the filesystem, 0/off, the default (1 %, at most 1 GiB), and start-up
// errors that name the variable; S3_ACCESS_LOG (and its warning beside a level above info); S3_NATIVE_AES and S3_NATIVE_CRC; S3_SHUTDOWN_TIMEOUT; S3_ADDRESS's IPv6 form;
// S3_PROMETHEUS_AUTH_TYPE; rootCredentials (s3d metrics-token reads the root user with it).

import t from 'tap';
import { ConfigError, DEFAULT_MIN_FREE_DISK, loadConfig, rootCredentials } from '../../../daemon/config.js';

const cli = { dataDir: '/tmp/s3d-config-test', dev: true };
const minFree = (v: string | undefined): { bytes: number; percent: number } => ({ ...loadConfig(cli, v === undefined ? {} : { S3_MIN_FREE_DISK: v }).minFreeDisk });
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

t.test('unset or empty: 1 % of the filesystem, at most 1 GiB', async (t) => {
  t.same(minFree(undefined), { bytes: GiB, percent: 1 });
  t.same(minFree(''), { bytes: GiB, percent: 1 }, 'empty is unset');
  t.same(minFree('  '), { bytes: GiB, percent: 1 }, 'blank is unset');
  t.same({ ...DEFAULT_MIN_FREE_DISK }, { bytes: GiB, percent: 1 }, 'DEFAULT_MIN_FREE_DISK');
  t.ok(Object.isFrozen(loadConfig(cli, {}).minFreeDisk), 'frozen like the rest of the config');
});

t.test('sizes: IEC units are powers of 1024, SI units powers of 1000, bare numbers bytes', async (t) => {
  const cases: Array<[string, number]> = [
    ['512MiB', 512 * MiB],
    ['1GiB', GiB],
    ['1gib', GiB],
    ['1 GiB', GiB],
    ['1.5GiB', 1.5 * GiB],
    ['64KiB', 64 * KiB],
    ['2TiB', 2 * 1024 * GiB],
    ['2GB', 2e9],
    ['2G', 2e9],
    ['500M', 500e6],
    ['10k', 10_000],
    ['1048576', MiB],
    ['4096B', 4096],
    [' 8MiB ', 8 * MiB],
  ];
  for (const [raw, bytes] of cases) t.same(minFree(raw), { bytes, percent: Infinity }, `${JSON.stringify(raw)} = ${bytes} bytes`);
});

t.test('percentages of the filesystem', async (t) => {
  t.same(minFree('2%'), { bytes: Infinity, percent: 2 });
  t.same(minFree('0.5%'), { bytes: Infinity, percent: 0.5 });
  t.same(minFree('10 %'), { bytes: Infinity, percent: 10 });
  t.same(minFree('99.9%'), { bytes: Infinity, percent: 99.9 });
});

t.test('0 and off turn the reserve off', async (t) => {
  for (const raw of ['0', 'off', 'OFF', '0%', '0MiB', '0.0GiB']) t.same(minFree(raw), { bytes: 0, percent: 0 }, JSON.stringify(raw));
});

t.test('invalid values stop the start-up and name the variable', async (t) => {
  for (const raw of ['lots', '1.5.2GiB', '-1GiB', '1PiB', '1 GiB free', '100%', '150%', 'GiB', '%', '1e9', '0x10', 'on', '99999999999TiB']) {
    let err: unknown;
    try {
      loadConfig(cli, { S3_MIN_FREE_DISK: raw });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof ConfigError && /S3_MIN_FREE_DISK/.test(err.message), `${JSON.stringify(raw)} is refused naming S3_MIN_FREE_DISK (${(err as Error | undefined)?.message})`);
  }
  t.throws(() => loadConfig(cli, { S3_MIN_FREE_DISK: 'lots' }), /a size like 512MiB or 1GiB, a percentage like 2%, or 0\/off, got "lots"/, 'the message says what is accepted');
});

t.test('a size that is not 0 but less than one byte is refused (it rounded down to 0: the reserve silently off)', async (t) => {
  for (const raw of ['0.5', '0.99', '0.1b', '0.0001k']) {
    t.throws(() => loadConfig(cli, { S3_MIN_FREE_DISK: raw }), { name: 'ConfigError', message: new RegExp(`S3_MIN_FREE_DISK is less than one byte, got "${raw}"`) }, JSON.stringify(raw));
  }
  t.same(minFree('1.5'), { bytes: 1, percent: Infinity }, 'a fraction above one byte still rounds down');
  t.same(minFree('0.001k'), { bytes: 1, percent: Infinity }, 'a thousandth of a kB is one byte');
});

t.test('S3_ACCESS_LOG: errors by default, off/errors/all in any case, anything else refused by name', async (t) => {
  t.equal(loadConfig(cli, {}).accessLog, 'errors');
  t.equal(loadConfig(cli, { S3_ACCESS_LOG: '' }).accessLog, 'errors');
  t.equal(loadConfig(cli, { S3_ACCESS_LOG: ' ALL ' }).accessLog, 'all');
  t.equal(loadConfig(cli, { S3_ACCESS_LOG: 'off' }).accessLog, 'off');
  for (const raw of ['on', 'yes', 'debug', 'error']) {
    t.throws(() => loadConfig(cli, { S3_ACCESS_LOG: raw }), new RegExp(`S3_ACCESS_LOG must be one of off, errors, all, got "${raw}"`), JSON.stringify(raw));
  }
});

t.test('S3_PROMETHEUS_AUTH_TYPE: jwt by default, jwt/public in any case, anything else refused by name', async (t) => {
  t.equal(loadConfig(cli, {}).prometheusAuth, 'jwt');
  t.equal(loadConfig(cli, { S3_PROMETHEUS_AUTH_TYPE: '' }).prometheusAuth, 'jwt');
  t.equal(loadConfig(cli, { S3_PROMETHEUS_AUTH_TYPE: ' Public ' }).prometheusAuth, 'public');
  for (const raw of ['none', 'bearer', 'off']) {
    t.throws(() => loadConfig(cli, { S3_PROMETHEUS_AUTH_TYPE: raw }), new RegExp(`S3_PROMETHEUS_AUTH_TYPE must be one of jwt, public, got "${raw}"`), JSON.stringify(raw));
  }
  t.notOk(loadConfig(cli, { S3_PROMETHEUS_AUTH_TYPE: 'public' }).warnings.some((w) => w.includes('S3_PROMETHEUS_AUTH_TYPE')), 'a variable s3d knows (no misspelling warning)');
});

t.test('rootCredentials: the environment\u2019s, or with dev and neither set the development ones; refusals as the server\u2019s', async (t) => {
  t.same(rootCredentials({ S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: 'long-enough' }, false), { rootUser: 'admin', rootPassword: 'long-enough', warnings: [] });
  const dev = rootCredentials({}, true);
  t.same([dev.rootUser, dev.rootPassword], ['s3dadmin', 's3dadmin-dev-password']);
  t.match(dev.warnings.join('\n'), /development mode/);
  t.throws(() => rootCredentials({}, false), ConfigError);
  t.throws(() => rootCredentials({ S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: 'short' }, true), /at least 8 characters/);
  t.same(loadConfig(cli, { S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: 'long-enough' }).rootUser, 'admin', 'the server\u2019s config reads them the same way');
});

t.test('S3_ACCESS_LOG beside an S3_LOG_LEVEL above info: warned, since its info-level lines would all be dropped', async (t) => {
  const warned = (env: Record<string, string>): string[] => loadConfig(cli, env).warnings.filter((w) => /writes its request lines at level info/.test(w));
  t.match(warned({ S3_LOG_LEVEL: 'warn' }), [/S3_ACCESS_LOG=errors .* S3_LOG_LEVEL=warn drops: no request gets a line/], 'the default errors under warn');
  t.match(warned({ S3_LOG_LEVEL: 'ERROR', S3_ACCESS_LOG: 'all' }), [/S3_ACCESS_LOG=all .* S3_LOG_LEVEL=error drops/]);
  t.equal(warned({ S3_LOG_LEVEL: 'fatal' }).length, 1);
  for (const level of ['', 'info', 'debug', 'trace', 'silent']) t.same(warned({ S3_LOG_LEVEL: level }), [], `S3_LOG_LEVEL=${level}: nothing to say`);
  t.same(warned({ S3_LOG_LEVEL: 'warn', S3_ACCESS_LOG: 'off' }), [], 'no request line wanted: nothing lost');
});

t.test('S3_NATIVE_AES and S3_NATIVE_CRC: on, off and their spellings pass (the loaders read them themselves), anything else is refused by name', async (t) => {
  for (const name of ['S3_NATIVE_AES', 'S3_NATIVE_CRC']) {
    for (const raw of ['', 'on', 'OFF', ' true ', 'false', '1', '0']) t.doesNotThrow(() => loadConfig(cli, { [name]: raw }), `${name}=${JSON.stringify(raw)}`);
    for (const raw of ['no', 'native', 'disabled']) {
      t.throws(() => loadConfig(cli, { [name]: raw }), new RegExp(`${name} must be "on" or "off", got "${raw}"`), `${name}=${JSON.stringify(raw)}`);
    }
  }
});

t.test('an S3_* variable s3d does not read is warned about, with the one it probably meant', async (t) => {
  const warnings = loadConfig(cli, { S3_MIN_FREE_DISKS: '5%', S3_LOG_LEVEL: 'info', S3_NOTIFY_WEBHOOK_QUEUE_LIMIT: '10', S3_BUCKET_OF_SOME_OTHER_TOOL: 'x', HOME: '/root' }).warnings;
  t.strictSame(
    warnings.filter((w) => /is not a variable s3d reads/.test(w)),
    ['S3_BUCKET_OF_SOME_OTHER_TOOL is not a variable s3d reads: it is ignored', 'S3_MIN_FREE_DISKS is not a variable s3d reads: it is ignored (did you mean S3_MIN_FREE_DISK?)'],
    'the misspelt one names S3_MIN_FREE_DISK; known and webhook variables pass; nothing outside S3_*',
  );
});

t.test('a MinIO variable whose S3_* twin s3d reads is warned about by both names (it was silently ignored)', async (t) => {
  const warnings = loadConfig(cli, {
    MINIO_KMS_SECRET_KEY: `my-key:${Buffer.alloc(32, 1).toString('base64')}`,
    MINIO_KMS_AUTO_ENCRYPTION: 'on',
    MINIO_NOTIFY_WEBHOOK_ENABLE_PRIMARY: 'on',
    MINIO_BROWSER: 'off',
    MINIO_ROOT_USERS: 'x',
  }).warnings.filter((w) => /MINIO_/.test(w));
  t.strictSame(warnings, [
    "MINIO_KMS_AUTO_ENCRYPTION is MinIO's name, which s3d does not read: it is ignored (s3d reads S3_KMS_AUTO_ENCRYPTION)",
    "MINIO_KMS_SECRET_KEY is MinIO's name, which s3d does not read: it is ignored (s3d reads S3_KMS_SECRET_KEY)",
    "MINIO_NOTIFY_WEBHOOK_ENABLE_PRIMARY is MinIO's name, which s3d does not read: it is ignored (s3d reads S3_NOTIFY_WEBHOOK_ENABLE_PRIMARY)",
  ], 'MinIO settings s3d has no twin of (MINIO_BROWSER) pass, and no value is printed');
});

t.test('S3_SHUTDOWN_TIMEOUT: whole seconds (0 = no wait) or a duration like the other time settings', async (t) => {
  const ms = (raw: string | undefined): number => loadConfig(cli, raw === undefined ? {} : { S3_SHUTDOWN_TIMEOUT: raw }).shutdownTimeoutMs;
  t.equal(ms(undefined), 30_000, 'unset: 30 s');
  t.equal(ms(''), 30_000, 'empty: 30 s');
  t.equal(ms('0'), 0, '0: no wait');
  t.equal(ms('0s'), 0, '0s: no wait, as 0');
  t.equal(ms('45'), 45_000, 'whole seconds');
  t.equal(ms('30s'), 30_000, '30s (it was refused: "must be a whole number")');
  t.equal(ms('2m'), 120_000, '2m');
  t.equal(ms('1m30s'), 90_000, '1m30s');
  t.equal(ms('1h'), 3_600_000, 'at most 1h');
  for (const raw of ['3601', '2h', 'soon', '-1', '1.5']) t.throws(() => ms(raw), /S3_SHUTDOWN_TIMEOUT must/, `${JSON.stringify(raw)} is refused by name`);
});

t.test('durations that may be off: 0s, 0m, 0h0m are off like 0 and off (0s was refused: "between 1s and 3650d")', async (t) => {
  for (const name of ['S3_API_STALE_UPLOADS_EXPIRY', 'S3_USAGE_SCAN_INTERVAL']) {
    const ms = (raw: string): number => {
      const c = loadConfig(cli, { [name]: raw });
      return name === 'S3_USAGE_SCAN_INTERVAL' ? c.usageScanIntervalMs : c.staleUploadsExpiryMs;
    };
    for (const raw of ['0', 'off', '0s', '0m', '0h0m', '0d']) t.equal(ms(raw), 0, `${name}=${raw} is off`);
    t.equal(ms('90s'), 90_000, `${name}=90s`);
  }
  // One that cannot be off still refuses a zero, whichever way it is written.
  for (const raw of ['0', '0s']) t.throws(() => loadConfig(cli, { S3_LIFECYCLE_SCAN_INTERVAL: raw }), /S3_LIFECYCLE_SCAN_INTERVAL must/);
});

t.test('S3_DOMAIN: names lower-cased, a fully qualified name\'s trailing dot dropped (the Host\'s is dropped too, so it matched nothing)', async (t) => {
  t.strictSame(loadConfig(cli, { S3_DOMAIN: 'S3.Example.com., localhost' }).domains, ['s3.example.com', 'localhost']);
  t.throws(() => loadConfig(cli, { S3_DOMAIN: 'bad_name.example' }), ConfigError, 'not a host name');
});

t.test('S3_DOMAIN: an entry with an empty label is refused (it matched no Host, and every virtual-host request went path-style)', async (t) => {
  // `.s3.example.com` (a wildcard certificate's name without its `*`): b.s3.example.com/k was
  // CreateBucket "k" for a PUT and DeleteBucket "k" for a DELETE. MinIO refuses such a MINIO_DOMAIN too.
  for (const domain of ['.s3.example.com', 's3..example.com', '.', 'localhost,.s3.example.com']) {
    t.throws(() => loadConfig(cli, { S3_DOMAIN: domain }), { name: 'ConfigError', message: /S3_DOMAIN entries must be host names/ }, JSON.stringify(domain));
  }
  t.strictSame(loadConfig(cli, { S3_DOMAIN: 'localhost,,s3.example.com,' }).domains, ['localhost', 's3.example.com'], 'an empty entry (a stray comma) is no domain, as before');
});

t.test('S3_ROOT_USER that no signed request can name is refused by name (it started, and every SigV4 request of the root user failed)', async (t) => {
  const env = (user: string): NodeJS.ProcessEnv => ({ S3_ROOT_USER: user, S3_ROOT_PASSWORD: 'password123' });
  // A Credential is split on '/' and the Authorization header's components on ',': such a user's
  // requests were AuthorizationHeaderMalformed; a header cannot carry 'é' (InvalidArgument).
  for (const user of ['ad/min', 'ad,min', 'admé', 'ad\u0001min']) {
    t.throws(() => loadConfig(cli, env(user)), /S3_ROOT_USER must be printable ASCII without "\/" or ","/, JSON.stringify(user));
  }
  for (const user of ['admin', 'ad=min', 'ad:min', 'ad.min@example.com', 'AKIA+x_y-z', 'ad min']) t.equal(loadConfig(cli, env(user)).rootUser, user, `${JSON.stringify(user)} is fine`);
});

t.test('the example s3d.env\'s placeholder secret is warned about (a start with it passed silently)', async (t) => {
  const warned = (password: string): boolean => loadConfig(cli, { S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: password }).warnings.some((w) => /S3_ROOT_PASSWORD is still the placeholder of the example s3d\.env/.test(w));
  t.ok(warned('change-me-to-a-long-random-secret'), 'the placeholder');
  t.notOk(warned('a-real-long-random-secret'), 'another secret');
  t.notOk(loadConfig(cli, { S3_ROOT_USER: 'admin', S3_ROOT_PASSWORD: 'change-me-to-a-long-random-secret' }).warnings.some((w) => w.includes('change-me')), 'the warning does not print the secret');
});

t.test('S3_ADDRESS: an IPv6 address in brackets; one without them is refused with the way to write it', async (t) => {
  const address = (v: string): { host: string; port: number } => {
    const c = loadConfig(cli, { S3_ADDRESS: v });
    return { host: c.host, port: c.port };
  };
  t.same(address('[::1]:9000'), { host: '::1', port: 9000 });
  t.same(address('[::]:9000'), { host: '::', port: 9000 });
  t.same(address('[fd00::2]:0'), { host: 'fd00::2', port: 0 });
  t.same(address(':9000'), { host: '::', port: 9000 }, 'no host: every address, IPv6 and IPv4 (as on MinIO)');
  t.equal(loadConfig(cli, { S3_ADDRESS: ':9000' }).hostFallback, '0.0.0.0', 'or every IPv4 one without IPv6');
  t.same(address('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 }, '0.0.0.0: every IPv4 address');
  t.equal(loadConfig(cli, { S3_ADDRESS: '0.0.0.0:9000' }).hostFallback, undefined, 'and no other');
  for (const v of ['::1:9000', '::1', '[::1]', '::', 'fd00::2:9000', '[::1]9000']) {
    t.throws(() => address(v), { name: 'ConfigError', message: /^S3_ADDRESS must look like HOST:PORT \(an IPv6 address goes in brackets, the port after them: \[::1\]:9000/ }, v);
  }
  t.throws(() => address('localhost'), { name: 'ConfigError', message: /^S3_ADDRESS must look like HOST:PORT \(e\.g\. 127\.0\.0\.1:9000\)/ }, 'no port');
});

// A reload must never put an expired certificate in place of a valid one a server name is served
// now, whichever file that valid one comes from: the same sub-directory's (prod-tls-sni.test.ts),
// another sub-directory's (a sub-directory renamed, its certificate an old copy), or the top-level
// default, which a client naming a host no sub-directory holds is served, also for a name a
// sub-directory's certificate adds. An expired certificate for names nothing valid serves now is
// taken, as at start-up.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startDaemonFor, testPki, testServerCert } from '../helpers/daemon.js';

const DAY = 86_400_000;
const pki = await testPki();
const work = mkdtempSync(join(tmpdir(), 's3d-tls-sni-reload-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function install(dir: string, pair: { cert: string; key: string }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'public.crt'), pair.cert);
  writeFileSync(join(dir, 'private.key'), pair.key, { mode: 0o600 });
}

function presented(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername }, () => {
      const fp = s.getPeerX509Certificate()!.fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

t.test('an expired certificate in a new sub-directory does not replace the valid one its names are served now', async (t) => {
  const now = Date.now();
  const valid = { notBefore: new Date(now - DAY), notAfter: new Date(now + 60 * DAY) };
  const past = { notBefore: new Date(now - 30 * DAY), notAfter: new Date(now - DAY) };
  const certs = join(work, 'certs');
  install(certs, pki.server); // the default: localhost, 127.0.0.1
  const beta = await testServerCert('beta', valid, undefined, { dnsNames: ['s3.beta.test'] });
  install(join(certs, 'beta'), beta);
  const d = await startDaemonFor(t, { env: { S3_CERTS_DIR: certs } });
  const defaultFp = new X509Certificate(pki.server.cert).fingerprint256;
  t.equal(await presented(d.port, 's3.beta.test'), beta.fingerprint);

  const outcome = (l: Record<string, unknown>): boolean => l.msg === 'TLS certificate reloaded' || l.msg === 'TLS certificate reload failed: still serving the previous certificate';
  const reload = async (): Promise<Record<string, unknown>> => {
    const seen = d.jsonLogs().filter(outcome).length;
    d.proc.kill('SIGHUP');
    await d.waitForLog(() => d.jsonLogs().filter(outcome).length > seen, 20_000);
    return d.jsonLogs().filter(outcome)[seen]!;
  };

  // beta/ renamed beta-old/, and an expired copy of an older certificate put in beta-new/.
  renameSync(join(certs, 'beta'), join(certs, 'beta-old'));
  rmSync(join(certs, 'beta-old'), { recursive: true });
  const old = await testServerCert('beta-old', past, undefined, { dnsNames: ['s3.beta.test'] });
  install(join(certs, 'beta-new'), old);
  const renamed = await reload();
  t.equal(renamed.msg, 'TLS certificate reload failed: still serving the previous certificate', 'another sub-directory\'s valid certificate: refused');
  t.match(String((renamed.err as { message?: string }).message), /beta-new\/public\.crt \(for s3\.beta\.test\): the new certificate expired on .* kept the one in service/, 'naming the file and the server name');
  t.equal(await presented(d.port, 's3.beta.test'), beta.fingerprint, 'the valid one is still served');
  rmSync(join(certs, 'beta-new'), { recursive: true });
  install(join(certs, 'beta'), beta);

  // A new sub-directory for localhost, which the valid default is served for now.
  install(join(certs, 'local'), await testServerCert('local-old', past, undefined, { dnsNames: ['localhost'] }));
  const overDefault = await reload();
  t.equal(overDefault.msg, 'TLS certificate reload failed: still serving the previous certificate', 'the default\'s valid certificate: refused');
  t.equal(await presented(d.port, 'localhost'), defaultFp, 'localhost still gets the default');

  // An expired one for a name nothing valid serves now (the default does not name it): taken.
  rmSync(join(certs, 'local'), { recursive: true });
  const gamma = await testServerCert('gamma-old', past, undefined, { dnsNames: ['s3.gamma.test'] });
  install(join(certs, 'gamma'), gamma);
  const taken = await reload();
  t.equal(taken.msg, 'TLS certificate reloaded', 'a name no valid certificate serves: taken');
  t.equal(await presented(d.port, 's3.gamma.test'), gamma.fingerprint);

  // gamma/'s expired certificate replaced by another expired one that also names localhost: that
  // name is the valid default's now.
  install(join(certs, 'gamma'), await testServerCert('gamma-wider', past, undefined, { dnsNames: ['s3.gamma.test', 'localhost'] }));
  const widened = await reload();
  t.equal(widened.msg, 'TLS certificate reload failed: still serving the previous certificate', 'a name the same sub-directory did not hold: refused');
  t.match(String((widened.err as { message?: string }).message), /gamma\/public\.crt \(for localhost\)/);
  t.equal(await presented(d.port, 'localhost'), defaultFp, 'localhost still gets the default');
});

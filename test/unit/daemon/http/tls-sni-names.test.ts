// Which SNI server names a per-domain certificate is served for (http/tls-sni.ts serverNamesOf):
// its subjectAltName's DNS names, lower case, without a trailing dot, a wildcard kept only as a
// whole first label; not its CN, not its IP addresses. And how a wildcard matches (one label).
// Certificates made by the openssl CLI.

import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matchesServerName, serverNamesOf } from '../../../../daemon/http/tls-sni.js';

const dir = mkdtempSync(join(tmpdir(), 's3d-sni-names-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function cert(cn: string, san?: string): X509Certificate {
  const out = join(dir, `${cn}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${cn}.key`), '-out', out, '-days', '2', '-subj', `/CN=${cn}`, ...(san ? ['-addext', `subjectAltName=${san}`] : [])], { stdio: 'pipe' });
  return new X509Certificate(readFileSync(out));
}

t.strictSame(serverNamesOf(cert('mixed', 'DNS:S3.Example.COM,DNS:*.s3.example.com,DNS:fqdn.example.org.,IP:10.0.0.1,email:a@b.c')), ['s3.example.com', '*.s3.example.com', 'fqdn.example.org'], 'DNS names, lower case, without the trailing dot; no IP address or e-mail');
t.strictSame(serverNamesOf(cert('partial', 'DNS:s3*.example.com,DNS:*,DNS:a.*.example.com,DNS:ok.example.com')), ['ok.example.com'], 'a wildcard that is not a whole first label is dropped');
t.strictSame(serverNamesOf(cert('cn-only.example.com')), [], 'the CN is not a name');
t.strictSame(serverNamesOf(cert('dup', 'DNS:a.example.com,DNS:A.example.com')), ['a.example.com'], 'a name twice counts once');

t.ok(matchesServerName('*.s3.example.com', 'bucket.s3.example.com'), 'a wildcard matches one label');
t.notOk(matchesServerName('*.s3.example.com', 'a.b.s3.example.com'), 'not two');
t.notOk(matchesServerName('*.s3.example.com', 's3.example.com'), 'nor none');
t.ok(matchesServerName('s3.example.com', 's3.example.com'), 'an exact name matches itself');
t.notOk(matchesServerName('s3.example.com', 'x.s3.example.com'), 'and nothing under it');

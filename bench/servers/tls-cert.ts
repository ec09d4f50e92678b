// A throw-away self-signed certificate for 127.0.0.1/localhost (openssl CLI), written as
// public.crt/private.key — the layout S3_CERTS_DIR expects — for SSE-C runs and the TLS sink.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsFiles {
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
}

export function createSelfSignedCert(dir: string): TlsFiles {
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, 'public.crt');
  const keyFile = join(dir, 'private.key');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { dir, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

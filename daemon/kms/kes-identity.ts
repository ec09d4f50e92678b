// KES identities and API keys (kes-api.md §3): identity = SHA-256 of a certificate's DER
// SubjectPublicKeyInfo; a `kes:v1:` API key is an Ed25519 seed turned into a self-signed client cert.

import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { KmsConfigError } from './provider.js';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const API_KEY_PREFIX = 'kes:v1:';

/** Lowercase hex SHA-256 of a DER SubjectPublicKeyInfo. */
export function identityOfSpki(spkiDer: Buffer): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/** KES identity of a certificate (PEM text or DER bytes). */
export function identityOfCertificate(cert: string | Buffer): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return identityOfSpki(spki);
}

export interface ApiKey {
  /** Ed25519 private key from the 32-byte seed. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  identity: string;
}

/**
 * Parse `kes:v1:<base64(0x00 ‖ 32-byte Ed25519 seed)>` (the prefix is optional, as in kms-go).
 * Errors name `varName` and never echo the key.
 */
export function parseApiKey(value: string, varName = 'S3_KMS_KES_API_KEY'): ApiKey {
  const body = value.trim().startsWith(API_KEY_PREFIX) ? value.trim().slice(API_KEY_PREFIX.length) : value.trim();
  if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw new KmsConfigError(varName, 'not a KES API key (expected kes:v1:<base64>)');
  }
  const raw = Buffer.from(body, 'base64');
  try {
    if (raw.length !== 33) throw new KmsConfigError(varName, `invalid API key length ${raw.length} (want 33 bytes)`);
    if (raw[0] !== 0x00) throw new KmsConfigError(varName, `unsupported API key type ${raw[0]} (only 0 = Ed25519)`);
    const privateKey = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(1)]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = createPublicKey(privateKey);
    return { privateKey, publicKey, identity: identityOfSpki(publicKey.export({ type: 'spki', format: 'der' })) };
  } finally {
    raw.fill(0);
  }
}

export interface ClientCertificate {
  certPem: string;
  keyPem: string;
  identity: string;
}

/**
 * The self-signed client certificate kms-go's GenerateCertificate makes for an API key: Ed25519,
 * random 128-bit serial, CN = identity, valid 90 days from now, digitalSignature + clientAuth,
 * CA:FALSE. KES pins the public key, so the certificate itself is never chain-verified.
 * Async because the certificate is signed through WebCrypto.
 */
export async function certificateForApiKey(apiKey: ApiKey, now = new Date()): Promise<ClientCertificate> {
  // Loaded on first use: the X.509 library costs ~150 ms of start-up, wasted without an API key.
  const { createCertificate } = await import('./x509-writer.js');
  const certPem = await createCertificate({
    subjectCN: apiKey.identity,
    publicKey: apiKey.publicKey,
    signingKey: apiKey.privateKey,
    notBefore: now,
    notAfter: new Date(now.getTime() + 90 * 24 * 3600 * 1000),
    ca: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  });
  return {
    certPem,
    keyPem: apiKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    identity: apiKey.identity,
  };
}

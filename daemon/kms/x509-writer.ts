// X.509 v3 certificates for KES API keys and test PKIs, written by @peculiar/x509 over Node's
// WebCrypto. This module only maps node:crypto KeyObjects and a small parameter shape onto it.

// tsyringe inside @peculiar/x509 needs the Reflect metadata API when the library loads; ESM
// evaluates imports in order, so this must stay the first import of the only module using it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject, webcrypto } from 'node:crypto';

const { crypto } = globalThis;
x509.cryptoProvider.set(crypto);

export type KeyUsageName = 'digitalSignature' | 'keyEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';
export type ExtKeyUsageName = 'serverAuth' | 'clientAuth';

export interface CertificateParams {
  subjectCN: string;
  /** Defaults to the subject (self-signed). */
  issuerCN?: string;
  /** Public key certified (KeyObject, public or private). */
  publicKey: KeyObject;
  /** Key that signs: the issuer's private key (the subject's own for self-signed). */
  signingKey: KeyObject;
  notBefore?: Date;
  notAfter?: Date;
  /** Hex; random positive 128-bit by default. */
  serialHex?: string;
  /** basicConstraints CA flag (always written, critical). */
  ca?: boolean;
  keyUsage?: readonly KeyUsageName[];
  extKeyUsage?: readonly ExtKeyUsageName[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Write subject/authority key identifiers (RFC 5280 §4.2.1.1-2; what `openssl verify -x509_strict` wants in a PKI). */
  keyIdentifiers?: boolean;
}

type ImportParams = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;

const NAMED_CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** WebCrypto import parameters of a signing key; the library signs SHA-256 (ECDSA, RSA) or pure Ed25519. */
function importParams(key: KeyObject): ImportParams {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return { name: 'Ed25519' };
    case 'ec': {
      const namedCurve = NAMED_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!namedCurve) throw new TypeError(`unsupported EC curve ${String(key.asymmetricKeyDetails?.namedCurve)}`);
      return { name: 'ECDSA', namedCurve };
    }
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    default:
      throw new TypeError(`unsupported signing key type ${String(key.asymmetricKeyType)}`);
  }
}

const spkiOf = (key: KeyObject): Buffer =>
  (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });

const nameOf = (cn: string): x509.JsonName => [{ CN: [cn] }];

function keyUsageFlags(usages: readonly KeyUsageName[]): number {
  return usages.reduce((flags, u) => flags | x509.KeyUsageFlags[u], 0);
}

/** Build and sign a certificate; resolves to PEM text. */
export async function createCertificate(p: CertificateParams): Promise<string> {
  const now = Date.now();
  const signingKey = await crypto.subtle.importKey(
    'pkcs8', p.signingKey.export({ type: 'pkcs8', format: 'der' }), importParams(p.signingKey), false, ['sign'],
  );
  const publicKey = spkiOf(p.publicKey);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(p.ca ?? false, undefined, true)];
  if (p.keyUsage?.length) extensions.push(new x509.KeyUsagesExtension(keyUsageFlags(p.keyUsage), true));
  if (p.extKeyUsage?.length) extensions.push(new x509.ExtendedKeyUsageExtension(p.extKeyUsage.map((u) => x509.ExtendedKeyUsage[u])));
  const san: x509.JsonGeneralNames = [
    ...(p.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(p.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (san.length) extensions.push(new x509.SubjectAlternativeNameExtension(san));
  if (p.keyIdentifiers) {
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(publicKey));
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spkiOf(p.signingKey)));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: p.serialHex,
    subject: nameOf(p.subjectCN),
    issuer: nameOf(p.issuerCN ?? p.subjectCN),
    notBefore: p.notBefore ?? new Date(now - 60_000),
    notAfter: p.notAfter ?? new Date(now + 365 * 86400_000),
    publicKey,
    signingKey,
    extensions,
  });
  // Parse with Node once so an encoding it rejects fails here, not in a TLS handshake.
  new X509Certificate(Buffer.from(cert.rawData));
  return cert.toString('pem') + '\n';
}

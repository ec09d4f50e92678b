// A minimal X.509 v3 certificate writer (DER by hand, signed with node:crypto): enough for the
// Ed25519 client certificate of a KES API key and for test PKIs. Node can parse but not write
// certificates, and @peculiar/x509 needs a Reflect-metadata polyfill this project does not ship.

import { createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), len(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function positiveInteger(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  return tlv(0x02, (b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), b]) : b);
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2) + 'Z')) : tlv(0x18, Buffer.from(iso + 'Z'));
}

function name(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.of(unusedBits), bytes);
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.of(0xff))] : []), tlv(0x04, value));
}

/** Key usage bits (RFC 5280 §4.2.1.3). */
export const KeyUsage = { digitalSignature: 0, keyEncipherment: 2, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 } as const;
export type KeyUsageName = keyof typeof KeyUsage;

const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

function keyUsageValue(usages: readonly KeyUsageName[]): Buffer {
  let bits = 0;
  for (const u of usages) bits |= 0x80 >> KeyUsage[u];
  let unused = 0;
  while (unused < 7 && (bits & (1 << unused)) === 0) unused++;
  return bitString(Buffer.of(bits), unused);
}

function signatureAlgorithm(key: KeyObject): { der: Buffer; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return { der: seq(oid('1.3.101.112')), digest: null };
    case 'ec':
      return { der: seq(oid('1.2.840.10045.4.3.2')), digest: 'sha256' };
    case 'rsa':
      return { der: seq(oid('1.2.840.113549.1.1.11'), tlv(0x05)), digest: 'sha256' };
    default:
      throw new TypeError(`unsupported signing key type ${String(key.asymmetricKeyType)}`);
  }
}

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
  extKeyUsage?: ReadonlyArray<keyof typeof EKU>;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

function ipBytes(ip: string): Buffer {
  if (ip.includes(':')) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
    const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return Buffer.from(groups.flatMap((g: string) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  }
  return Buffer.from(ip.split('.').map(Number));
}

/** Build and sign a certificate; returns PEM text. */
export function createCertificate(p: CertificateParams): string {
  const now = new Date();
  const serial = p.serialHex ? Buffer.from(p.serialHex, 'hex') : randomBytes(16);
  if (!p.serialHex) serial[0] = serial[0]! & 0x7f;
  const sigAlg = signatureAlgorithm(p.signingKey);
  const exts: Buffer[] = [extension('2.5.29.19', true, seq(...(p.ca ? [tlv(0x01, Buffer.of(0xff))] : [])))];
  if (p.keyUsage?.length) exts.push(extension('2.5.29.15', true, keyUsageValue(p.keyUsage)));
  if (p.extKeyUsage?.length) exts.push(extension('2.5.29.37', false, seq(...p.extKeyUsage.map((u) => oid(EKU[u])))));
  const san = [
    ...(p.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...(p.ipAddresses ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  if (san.length) exts.push(extension('2.5.29.17', false, seq(...san)));
  const pub = p.publicKey.type === 'private' ? createPublicKey(p.publicKey) : p.publicKey;
  const spki = pub.export({ type: 'spki', format: 'der' });
  const tbs = seq(
    tlv(0xa0, positiveInteger(Buffer.of(2))),
    positiveInteger(serial),
    sigAlg.der,
    name(p.issuerCN ?? p.subjectCN),
    seq(time(p.notBefore ?? new Date(now.getTime() - 60_000)), time(p.notAfter ?? new Date(now.getTime() + 365 * 86400_000))),
    name(p.subjectCN),
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign(sigAlg.digest, tbs, p.signingKey);
  const der = seq(tbs, sigAlg.der, bitString(signature));
  // Parse once so a malformed encoding fails here, not in a TLS handshake.
  new X509Certificate(der);
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

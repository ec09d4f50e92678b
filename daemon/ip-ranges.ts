// IP addresses and CIDR ranges, IPv4 and IPv6 (an IPv4 client on a dual-stack socket, ::ffff:a.b.c.d,
// is that IPv4 address): policies' aws:SourceIp conditions and S3_TRUSTED_PROXIES. Pure.
import { isIPv4, isIPv6 } from 'node:net';

export interface IpRange {
  net: Buffer;
  bits: number;
}

/** The address's bytes (4 or 16), or undefined for text that is no IP address. */
export function ipBytes(ip: string): Buffer | undefined {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return undefined;
  // A dotted IPv4 tail (valid after any prefix: 64:ff9b::1.2.3.4, 0:0:0:0:0:ffff:1.2.3.4) is the
  // last two groups; only `::ffff:` ones were read, the rest were no address.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted) {
    const b = dotted[2]!.split('.').map(Number);
    ip = `${dotted[1]}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8 || !all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  // An IPv4 client on a dual-stack socket (::ffff:a.b.c.d, in any spelling) is that IPv4 address.
  if (out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff) return out.subarray(12);
  return out;
}

/**
 * The address as it is usually written: an IPv4 one (also one mapped into IPv6, as a dual-stack
 * socket names its IPv4 peers) dotted, an IPv6 one in RFC 5952's compressed lower-case form. uWS
 * spells every peer of an IPv6 listener as eight groups of four digits
 * (`0000:0000:0000:0000:0000:ffff:7f00:0001`), which logs and event notifications showed as is.
 * Text that is no address is returned unchanged.
 */
export function canonicalIp(ip: string): string {
  const b = ipBytes(ip);
  if (b === undefined) return ip;
  if (b.length === 4) return b.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  // The longest run of two or more zero groups (the first of equal ones) becomes `::`.
  let at = -1;
  let len = 0;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > len && j - i >= 2) [at, len] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (g: number[]): string => g.map((n) => n.toString(16)).join(':');
  return at < 0 ? hex(groups) : `${hex(groups.slice(0, at))}::${hex(groups.slice(at + len))}`;
}

/** An address (a range of one) or `address/bits`; undefined for anything else. */
export function ipRange(cidr: string): IpRange | undefined {
  const [addr, len, extra] = cidr.split('/');
  const net = ipBytes(addr ?? '');
  // The prefix length is decimal digits: Number() read "10.0.0.0/" (and "/ ") as /0, which admits
  // every address, and ignored anything after a second slash (found by
  // prod-hostile-config-handpicked.test.ts).
  let bits = len === undefined ? (net?.length ?? 0) * 8 : /^\d{1,3}$/.test(len) && extra === undefined ? Number(len) : NaN;
  // An IPv4-mapped range (`::ffff:10.0.0.0/104`, Go's net.ParseCIDR and so MinIO take it) counts
  // its prefix over 128 bits: it is the IPv4 range of 96 bits fewer. It was refused (104 > 32),
  // and a policy naming one was malformed. One shorter than /96 reaches beyond IPv4: refused.
  if (net?.length === 4 && addr!.includes(':') && len !== undefined) bits = bits >= 96 ? bits - 96 : NaN;
  if (!net || !Number.isInteger(bits) || bits < 0 || bits > net.length * 8) return undefined;
  return { net, bits };
}

/**
 * An IPv4-mapped range shorter than /96 (`::ffff:10.0.0.0/8`): ipRange refuses it (it reaches
 * beyond IPv4), but earlier versions took it (as the IPv4 range of that many bits), so policies
 * written for them may name one.
 */
export function isShortMappedRange(cidr: string): boolean {
  const [addr, len, extra] = cidr.split('/');
  return extra === undefined && len !== undefined && /^\d{1,3}$/.test(len) && Number(len) < 96 && addr!.includes(':') && ipBytes(addr!)?.length === 4;
}

/** Whether the address lies in the range (never for text that is no address, or another family). */
export function inRange(ip: string, range: IpRange): boolean {
  const a = ipBytes(ip);
  const { net, bits } = range;
  if (!a || a.length !== net.length) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((a[i >> 3]! & mask) !== (net[i >> 3]! & mask)) return false;
  }
  return true;
}

/**
 * The network one client is counted by where clients get a share of something (listening streams
 * of unsigned requests): an IPv4 address (one mapped into IPv6 too) itself, an IPv6 address its
 * /64, `2001:db8:1:2::/64`. One host, or one subscriber, is usually given a whole /64: counted by
 * address, it could take a fresh share with every one of its 2^64 addresses. Text that is no
 * address is returned unchanged.
 */
export function clientNetwork(ip: string): string {
  const b = ipBytes(ip);
  if (b === undefined || b.length === 4) return canonicalIp(ip);
  const net = Buffer.alloc(16);
  b.copy(net, 0, 0, 8);
  return `${canonicalIp(ipv6Text(net))}/64`;
}

function ipv6Text(b: Buffer): string {
  return Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16)).join(':');
}

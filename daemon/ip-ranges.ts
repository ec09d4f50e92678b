// IP addresses and CIDR ranges, IPv4 and IPv6 (an IPv4 client on a dual-stack socket, ::ffff:a.b.c.d,
// is that IPv4 address): policies' aws:SourceIp conditions and S3_TRUSTED_PROXIES. Pure.
import { isIPv4, isIPv6 } from 'node:net';

export interface IpRange {
  net: Buffer;
  bits: number;
}

/** The address's bytes (4 or 16), or undefined for text that is no IP address. */
export function ipBytes(ip: string): Buffer | undefined {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4mapped) ip = v4mapped[1]!;
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return undefined;
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

/** An address (a range of one) or `address/bits`; undefined for anything else. */
export function ipRange(cidr: string): IpRange | undefined {
  const [addr, len, extra] = cidr.split('/');
  const net = ipBytes(addr ?? '');
  // The prefix length is decimal digits: Number() read "10.0.0.0/" (and "/ ") as /0, which admits
  // every address, and ignored anything after a second slash (found by
  // prod-hostile-config-handpicked.test.ts).
  const bits = len === undefined ? (net?.length ?? 0) * 8 : /^\d{1,3}$/.test(len) && extra === undefined ? Number(len) : NaN;
  if (!net || !Number.isInteger(bits) || bits < 0 || bits > net.length * 8) return undefined;
  return { net, bits };
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

// Who the client of a request is, for policies (aws:SourceIp, aws:SecureTransport, s3:TlsVersion),
// SSE-C's HTTPS rule, event notifications and the access log. The TCP peer, unless the peer is one
// of S3_TRUSTED_PROXIES: then X-Forwarded-For, read from the nearest hop back, names the client
// (the first address that is no trusted proxy), and X-Forwarded-Proto (the nearest proxy's, the
// last value) says whether it came over HTTPS (`https`) or not (any other value), whatever s3d's
// own listener is. A client cannot claim either through a proxy that is not trusted, nor
// directly. An address is given as usually written (canonicalIp). Pure.
import { isIPv6 } from 'node:net';
import { canonicalIp, inRange, ipBytes, type IpRange } from '../ip-ranges.js';

export interface Client {
  address: string;
  /** HTTPS to s3d, or to a trusted proxy that says so (a trusted proxy that says `http`: not, even over s3d's TLS). */
  secure: boolean;
}

export function clientOf(peer: string, headers: Readonly<Record<string, string>>, trusted: readonly IpRange[], tls: boolean): Client {
  const isTrusted = (ip: string): boolean => trusted.some((r) => inRange(ip, r));
  if (trusted.length === 0 || !isTrusted(peer)) return { address: peer, secure: tls };
  let address = peer;
  const forwarded = headers['x-forwarded-for'];
  if (forwarded !== undefined) {
    const hops = forwarded.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hopAddress(hops[i]!.trim());
      // Not an address (`unknown`, an obfuscated name): nothing before it can be trusted either.
      if (hop === undefined) break;
      address = canonicalIp(hop);
      if (!isTrusted(hop)) break;
    }
  }
  // The proxy's word on the client's leg, when it gives one: behind a proxy that re-encrypts
  // (nginx proxy_pass https://, an ingress with an HTTPS backend) s3d's own TLS is the proxy's,
  // and a client that reached the proxy over plain HTTP (`http`) did not use HTTPS.
  const proto = headers['x-forwarded-proto']?.split(',').pop()?.trim().toLowerCase();
  return { address, secure: proto === undefined || proto === '' ? tls : proto === 'https' };
}

/**
 * The address of one X-Forwarded-For hop, or undefined for one that names none. Proxies write a
 * bare address, but some add the client's port (Azure Application Gateway: `203.0.113.7:4711`,
 * `[2001:db8::7]:4711`); taken for no address, every client behind such a proxy was the proxy
 * itself, and a policy that denies by aws:SourceIp let them all through. An IPv6 address without
 * brackets is all address (its last group is no port).
 */
function hopAddress(hop: string): string | undefined {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(hop) ?? /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(hop);
  const address = m === null ? hop : m[1]!;
  if (m !== null && ((m[0].startsWith('[') && !isIPv6(address)) || Number(m[2] ?? 0) > 65535)) return undefined;
  return ipBytes(address) === undefined ? undefined : address;
}

// Who the client of a request is, for policies (aws:SourceIp, aws:SecureTransport, s3:TlsVersion),
// SSE-C's HTTPS rule, event notifications and the access log. The TCP peer, unless the peer is one
// of S3_TRUSTED_PROXIES: then X-Forwarded-For, read from the nearest hop back, names the client
// (the first address that is no trusted proxy), and X-Forwarded-Proto `https` (the nearest
// proxy's, the last value) says it came over HTTPS. A client cannot claim either through a proxy
// that is not trusted, nor directly. An address is given as usually written (canonicalIp). Pure.
import { canonicalIp, inRange, ipBytes, type IpRange } from '../ip-ranges.js';

export interface Client {
  address: string;
  /** HTTPS to s3d, or to a trusted proxy that says so. */
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
      const hop = hops[i]!.trim();
      // Not an address (a port, an obfuscated name): nothing before it can be trusted either.
      if (ipBytes(hop) === undefined) break;
      address = canonicalIp(hop);
      if (!isTrusted(hop)) break;
    }
  }
  const proto = headers['x-forwarded-proto']?.split(',').pop()?.trim().toLowerCase();
  return { address, secure: tls || proto === 'https' };
}

// Why uWS could not listen: it says only that it failed, so the same bind is tried with Node's
// net, and its error says which mistake it was.

import { createServer as createNetServer } from 'node:net';
import { ConfigError } from '../config.js';

/**
 * Why uWS could not listen (it says only that it failed): the same bind tried with Node's net.
 * An address this machine does not have, or a port it may not bind, is a configuration error
 * (exit 2); a port in use may come free (exit 1: systemd tries again).
 */
export async function listenFailure(host: string, port: number): Promise<Error> {
  return listenError(host, port, await bindError(host, port));
}

/** The errno of a bind of host:port tried with node:net (undefined: it worked, and was closed). */
export function bindError(host: string, port: number): Promise<string | undefined> {
  return new Promise<string | undefined>((resolve) => {
    const probe = createNetServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/**
 * Whether a failed listen on `::` (S3_ADDRESS `:PORT`) means this machine has no IPv6, so that
 * IPv4 alone is listened on: no IPv6 socket at all (EAFNOSUPPORT, a kernel booted with
 * ipv6.disable=1), no `::` to bind (EADDRNOTAVAIL), or uWS failing where node:net did not
 * (undefined). Any other error (a port in use) is the same for IPv4: it is reported.
 */
export function noIpv6(code: string | undefined): boolean {
  return code === undefined || code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL';
}

/** The error for a bind of host:port that failed with errno `code` (exported for its tests). */
export function listenError(host: string, port: number, code: string | undefined): Error {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port} (S3_ADDRESS)`;
  if (code === 'EADDRNOTAVAIL') return new ConfigError(`cannot listen on ${where}: ${host} is not an address of this machine`);
  // A kernel without IPv6 (ipv6.disable=1) cannot open an IPv6 socket at all: a plain error (exit
  // 1) had systemd restart s3d for ever on a setting that cannot work there.
  if (code === 'EAFNOSUPPORT') {
    const v6 = host.includes(':');
    return new ConfigError(`cannot listen on ${where}: this machine has no ${v6 ? 'IPv6' : 'support for this address family'}${v6 ? ` (use an IPv4 address, e.g. 0.0.0.0:${port})` : ''}`);
  }
  // An IPv6 zone id (`fe80::1%eth0`) naming no interface fails as EINVAL.
  const zone = host.includes(':') ? /%(.+)$/.exec(host)?.[1] : undefined;
  if (code === 'EINVAL' && zone !== undefined) return new ConfigError(`cannot listen on ${where}: ${zone} is not a network interface of this machine`);
  // NXDOMAIN (a typo) is a configuration error; EAI_AGAIN (DNS not up yet) stays worth a retry.
  if (code === 'ENOTFOUND') return new ConfigError(`cannot listen on ${where}: ${host} is not a host name that resolves (use an address of this machine, or 0.0.0.0)`);
  if (code === 'EACCES') return new ConfigError(`cannot listen on ${where}: not permitted (ports below 1024 need CAP_NET_BIND_SERVICE)`);
  if (code === 'EADDRINUSE') return new Error(`cannot listen on ${where}: address in use (another s3d?)`);
  return new Error(`cannot listen on ${where}${code !== undefined ? `: ${code}` : ''}`);
}

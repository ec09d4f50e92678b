// Why a listen failed, told from the errno of the same bind tried with node:net: a setting that
// cannot work on this machine is a configuration error (exit 2), one that may come right is not.

import t from 'tap';
import { listenError, listenFailure, noIpv6 } from '../../../../daemon/http/listen-failure.js';
import { ConfigError } from '../../../../daemon/config.js';

t.test('an IPv6 address this machine does not have: a configuration error naming S3_ADDRESS', async (t) => {
  const err = await listenFailure('2001:db8::1', 0);
  t.type(err, ConfigError);
  t.match(err.message, /^cannot listen on \[2001:db8::1\]:0 \(S3_ADDRESS\): 2001:db8::1 is not an address of this machine/);
});

t.test('a kernel without IPv6 (EAFNOSUPPORT): a configuration error, not a failure systemd retries for ever', async (t) => {
  // Not reproducible on a host with IPv6 (booting with ipv6.disable=1 is what gives it): the errno
  // the probe would report is given directly.
  const err = listenError('::', 9000, 'EAFNOSUPPORT');
  t.type(err, ConfigError);
  t.equal(err.message, 'cannot listen on [::]:9000 (S3_ADDRESS): this machine has no IPv6 (use an IPv4 address, e.g. 0.0.0.0:9000)');
  t.notOk(listenError('::', 9000, 'EADDRINUSE') instanceof ConfigError, 'a port in use may come free: not a configuration error');
});

t.test('S3_ADDRESS=:PORT falls back to IPv4 when `::` fails for want of IPv6, not for a port in use', async (t) => {
  for (const code of ['EAFNOSUPPORT', 'EADDRNOTAVAIL', undefined]) t.ok(noIpv6(code), `${code}: IPv4 alone`);
  for (const code of ['EADDRINUSE', 'EACCES']) t.notOk(noIpv6(code), `${code}: reported`);
});

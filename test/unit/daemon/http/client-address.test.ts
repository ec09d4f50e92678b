// daemon/http/client-address.ts: who the client is behind trusted proxies. X-Forwarded-For hops
// are read as proxies write them: bare addresses, and (Azure Application Gateway, IIS ARR) an IPv4
// address with its port or a bracketed IPv6 address with or without one; anything else ends the
// walk at the proxy.

import t from 'tap';
import { clientOf } from '../../../../daemon/http/client-address.js';
import { ipRange, type IpRange } from '../../../../daemon/ip-ranges.js';

const trusted: IpRange[] = ['10.0.0.0/8', 'fd00::/8'].map((r) => ipRange(r)!);
const via = (peer: string, xff: string): string => clientOf(peer, { 'x-forwarded-for': xff }, trusted, false).address;

t.test('a hop with its port, or an IPv6 one in brackets, names the client', async (t) => {
  t.equal(via('10.0.0.1', '203.0.113.7:4711'), '203.0.113.7', 'IPv4 with a port (Azure Application Gateway)');
  t.equal(via('10.0.0.1', '[2001:db8::7]:4711'), '2001:db8::7', 'IPv6 in brackets with a port');
  t.equal(via('10.0.0.1', '[2001:db8::7]'), '2001:db8::7', 'IPv6 in brackets');
  t.equal(via('fd00::1', '[2001:DB8:0:0::7]:80'), '2001:db8::7', 'written as usual');
  t.equal(via('10.0.0.1', '203.0.113.7:4711, 10.1.2.3:80'), '203.0.113.7', 'through a second trusted proxy that gave its port too');
  t.equal(via('10.0.0.1', '198.51.100.1:1, 203.0.113.7:4711'), '203.0.113.7', 'a hop the client prepended does not count');
  t.equal(via('10.0.0.1', '[::ffff:203.0.113.7]:4711'), '203.0.113.7', 'an IPv4-mapped address is the IPv4 one');
});

t.test('bare addresses as before', async (t) => {
  t.equal(via('10.0.0.1', '203.0.113.7'), '203.0.113.7');
  t.equal(via('10.0.0.1', '2001:db8::7'), '2001:db8::7');
  t.equal(via('10.0.0.1', '2001:db8::7:80'), '2001:db8::7:80', 'an unbracketed IPv6 address is all address (its last group is no port)');
  t.equal(via('192.0.2.1', '203.0.113.7'), '192.0.2.1', 'an untrusted peer cannot name a client');
});

t.test('what is no address still ends the walk at the proxy', async (t) => {
  for (const hop of ['unknown', '_hidden', '203.0.113.7:', '203.0.113.7:99999', '203.0.113.7:x', '[203.0.113.7]', '[2001:db8::7', '2001:db8::7]', '[2001:db8::7]:', '[2001:db8::7]x', 'host.example:80', '[fe80::1%eth0]:80']) {
    t.equal(via('10.0.0.1', hop), '10.0.0.1', hop);
  }
  t.equal(via('10.0.0.1', '203.0.113.7, unknown'), '10.0.0.1', 'a trusted hop that knows no client');
});

t.test('X-Forwarded-Proto from a trusted proxy says whether the client used HTTPS, also over s3d\u2019s own TLS', async (t) => {
  const secure = (peer: string, proto: string | undefined, tls: boolean): boolean => clientOf(peer, proto === undefined ? {} : { 'x-forwarded-proto': proto }, trusted, tls).secure;
  t.equal(secure('10.0.0.1', 'https', false), true, 'HTTPS to the proxy, plain HTTP to s3d');
  t.equal(secure('10.0.0.1', 'http', true), false, 'plain HTTP to a proxy that re-encrypts to s3d\u2019s TLS');
  t.equal(secure('10.0.0.1', 'https, http', true), false, 'the nearest proxy\u2019s word, the last value');
  t.equal(secure('10.0.0.1', undefined, true), true, 'no word from the proxy: s3d\u2019s own TLS');
  t.equal(secure('10.0.0.1', undefined, false), false, 'no word from the proxy: plain HTTP');
  t.equal(secure('192.0.2.1', 'http', true), true, 'an untrusted peer\u2019s header is ignored');
  t.equal(secure('192.0.2.1', 'https', false), false, 'either way');
});

import t from 'tap';
import { canonicalIp, ipRange } from '../../../daemon/ip-ranges.js';
import { clientOf } from '../../../daemon/http/client-address.js';

t.test('canonicalIp: IPv4 dotted (mapped ones too), IPv6 in RFC 5952 form, anything else unchanged', async (t) => {
  const cases: Array<[string, string]> = [
    // How uWS spells the peers of an IPv6 listener.
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0000', '::'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['203.0.113.7', '203.0.113.7'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    // A single zero group stays; of two equal runs the first is shortened.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:1:1', '2001::1:0:0:1:1'],
    // The longest run wins.
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
    ['fe80:0000:0000:0000:0202:b3ff:fe1e:8329', 'fe80::202:b3ff:fe1e:8329'],
    ['unknown', 'unknown'],
    ['', ''],
  ];
  for (const [given, want] of cases) t.equal(canonicalIp(given), want, given);
});

t.test('clientOf names the client as usually written, the peer and a forwarded hop alike', async (t) => {
  const trusted = [ipRange('127.0.0.1')!];
  t.equal(clientOf('127.0.0.1', { 'x-forwarded-for': '2001:0db8:0000:0000:0000:0000:0000:0001' }, trusted, false).address, '2001:db8::1');
  t.equal(clientOf('127.0.0.1', { 'x-forwarded-for': '::ffff:198.51.100.4' }, trusted, false).address, '198.51.100.4');
});

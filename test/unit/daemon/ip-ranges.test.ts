import t from 'tap';
import { canonicalIp, clientNetwork, inRange, ipRange } from '../../../daemon/ip-ranges.js';
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

t.test('an IPv4-mapped range is the IPv4 range of 96 bits fewer', async (t) => {
  t.same(ipRange('::ffff:10.0.0.0/104'), ipRange('10.0.0.0/8'), '/104 is /8');
  t.same(ipRange('::FFFF:127.0.0.1/128'), ipRange('127.0.0.1/32'), '/128 is /32');
  t.same(ipRange('0:0:0:0:0:ffff:a00:0/104'), ipRange('10.0.0.0/8'), 'written in hex groups');
  t.same(ipRange('::ffff:0.0.0.0/96'), ipRange('0.0.0.0/0'), '/96 is every IPv4 address');
  t.same(ipRange('::ffff:10.0.0.1'), ipRange('10.0.0.1/32'), 'an address alone, as before');
  t.ok(inRange('10.1.2.3', ipRange('::ffff:10.0.0.0/104')!), 'an IPv4 client is in it');
  t.ok(inRange('0000:0000:0000:0000:0000:ffff:0a01:0203', ipRange('::ffff:10.0.0.0/104')!), 'and a dual-stack listener\u2019s mapped one');
  t.notOk(inRange('11.0.0.1', ipRange('::ffff:10.0.0.0/104')!), 'another is not');
  t.equal(ipRange('::ffff:10.0.0.0/80'), undefined, 'shorter than /96 it is no IPv4 range');
  t.equal(ipRange('::ffff:10.0.0.0/129'), undefined, 'longer than /128');
  t.equal(ipRange('10.0.0.0/104'), undefined, 'an IPv4 range still at most /32');
});

t.test('every IPv6 text form with a dotted IPv4 tail is an address (only ::ffff: ones were)', async (t) => {
  const cases: Array<[string, string]> = [
    // NAT64's well-known prefix (RFC 6052), as a NAT64 gateway names an IPv4 client.
    ['64:ff9b::1.2.3.4', '64:ff9b::102:304'],
    ['0:0:0:0:0:ffff:1.2.3.4', '1.2.3.4'],
    ['0:0:0:0:0:FFFF:10.0.0.1', '10.0.0.1'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    // IPv4-compatible (deprecated): an IPv6 address, not the IPv4 one.
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ];
  for (const [given, want] of cases) t.equal(canonicalIp(given), want, given);
  t.ok(inRange('64:ff9b::1.2.3.4', ipRange('64:ff9b::/96')!), 'a NAT64 address is in the NAT64 prefix');
  t.same(ipRange('64:ff9b::1.2.3.0/120'), ipRange('64:ff9b::102:300/120'), 'a range written with a dotted tail');
  for (const bad of ['::ffff:1.2.3.256', '1::2:3:4:5:6:1.2.3.4', '::1.2.3', '1.2.3.4::', '::ffff:01.2.3.4']) {
    t.equal(ipRange(bad), undefined, `${bad} is no address`);
  }
});

t.test('clientNetwork: an IPv4 client by its address, an IPv6 client by its /64, whatever the spelling', async (t) => {
  const cases: Array<[string, string]> = [
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['0000:0000:0000:0000:0000:ffff:c000:0207', '192.0.2.7'],
    ['2001:db8:1:2::7', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0001', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::7', '2001:db8:1:3::/64'],
    ['::1', '::/64'],
    ['64:ff9b::1.2.3.4', '64:ff9b::/64'],
    ['', ''],
    ['unknown', 'unknown'],
  ];
  for (const [given, want] of cases) t.equal(clientNetwork(given), want, given);
});

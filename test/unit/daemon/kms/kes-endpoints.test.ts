// Endpoint planning for KES failover: local first, rotating remote start, 30 s quarantine with a
// single probe afterwards, quarantined endpoints kept as a last resort.

import t from 'tap';
import { EndpointSet, isLocalEndpoint } from '../../../../daemon/kms/kes-endpoints.js';

t.test('local endpoints are recognised', async (t) => {
  t.ok(isLocalEndpoint('https://localhost:7373'));
  t.ok(isLocalEndpoint('https://127.0.0.2:7373'));
  t.ok(isLocalEndpoint('https://[::1]:7373'));
  t.notOk(isLocalEndpoint('https://kes1.example:7373'));
  t.notOk(isLocalEndpoint('https://10.0.0.1:7373'));
});

t.test('local first, then round-robin over the remote ones from a random start', async (t) => {
  const s = new EndpointSet(['https://a:1', 'https://127.0.0.1:1', 'https://b:1', 'https://c:1'], { random: () => 0.5 });
  t.same(s.plan(), ['https://127.0.0.1:1', 'https://b:1', 'https://c:1', 'https://a:1'], 'start index 1 of 3 remotes');
  t.same(s.plan(), ['https://127.0.0.1:1', 'https://c:1', 'https://a:1', 'https://b:1'], 'rotates per request');
  t.same(s.plan(), ['https://127.0.0.1:1', 'https://a:1', 'https://b:1', 'https://c:1']);
});

t.test('a failed endpoint goes last for the quarantine, then one request probes it', async (t) => {
  let now = 1_000;
  const local = 'https://127.0.0.1:1';
  const remote = 'https://b:1';
  const s = new EndpointSet([remote, local], { quarantineMs: 30_000, now: () => now });
  t.same(s.plan(), [local, remote], 'healthy: local first');
  s.failed(local, 'ECONNREFUSED');
  t.ok(s.isQuarantined(local));
  t.same(s.plan(), [remote, local], 'quarantined: still tried, as a last resort');
  now += 29_999;
  t.same(s.plan(), [remote, local]);
  now += 1;
  t.same(s.plan(), [local, remote], 'quarantine over: one request probes it first');
  t.same(s.plan(), [remote, local], 'while that probe runs, other requests keep it last');
  s.succeeded(local);
  t.notOk(s.isQuarantined(local));
  t.equal(s.all().find((h) => h.endpoint === local)!.lastError, undefined);
  t.same(s.plan(), [local, remote], 'healthy again');
  s.failed(local, 'again');
  now += 30_000;
  t.same(s.plan(), [local, remote], 'probe');
  s.released(local);
  t.same(s.plan(), [local, remote], 'a probe without verdict lets the next request probe');
});

t.test('all quarantined: every endpoint is still in the plan', async (t) => {
  const s = new EndpointSet(['https://a:1', 'https://b:1']);
  s.failed('https://a:1', 'x');
  s.failed('https://b:1', 'y');
  t.equal(s.plan().length, 2);
});

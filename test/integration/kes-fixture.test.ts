// The KES fixture's own test surface: admin-only /test/faults and /test/counters over mTLS, the
// bulk route advertised only when enabled, stop/start keeping the keystore, keystore_unreachable.

import t from 'tap';
import { request } from 'node:https';
import { startKesServer } from '../fixtures/kes-server/server.js';
import type { KesServerHandle } from '../fixtures/kes-server/server.js';
import type { CertPair } from '../fixtures/kes-server/certs.js';

function call(s: KesServerHandle, who: CertPair, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(s.url);
    const req = request({
      host: u.hostname, port: u.port, method, path, agent: false, ca: s.certs.caCert, cert: who.cert, key: who.key,
      headers: { 'content-length': String(body === undefined ? 0 : Buffer.byteLength(body)) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('fault knobs and counters over admin-only HTTP endpoints', async (t) => {
  const s = await startKesServer({ keys: [{ name: 'k', key: Buffer.alloc(32) }] });
  t.teardown(() => s.close());
  const admin = s.certs.admin;
  t.equal((await call(s, s.certs.app, 'PUT', '/test/faults', '{"fail503":1}')).status, 403, 'policy identity may not set faults');
  t.equal((await call(s, s.certs.stranger, 'GET', '/test/counters')).status, 403);
  const set = await call(s, admin, 'PUT', '/test/faults', '{"fail503":1,"latencyMs":50}');
  t.equal(set.status, 200);
  t.match(JSON.parse(set.body), { fail503: 1, latencyMs: 50 });
  const started = Date.now();
  const r = await call(s, admin, 'PUT', '/v1/key/generate/k');
  t.equal(r.status, 503);
  t.ok(Date.now() - started >= 45, 'latency applied');
  t.equal((await call(s, admin, 'PUT', '/v1/key/generate/k')).status, 200, 'only N failures');
  const counters = JSON.parse((await call(s, admin, 'GET', '/test/counters')).body) as { requests: Record<string, number>; injected503: number };
  t.match(counters, { requests: { generate: 2 }, injected503: 1 });
  t.same(s.counters().requests, counters.requests, 'in-process view agrees');
  await call(s, admin, 'PUT', '/test/faults', '{"latencyMs":0,"keystoreUnreachable":true}');
  t.match(JSON.parse((await call(s, admin, 'GET', '/v1/status')).body), { keystore_unreachable: true });
  t.equal((await call(s, admin, 'GET', '/v1/ready')).status, 504);
  t.equal((await call(s, admin, 'PUT', '/v1/key/create/x')).status, 502);
  s.setFaults({ keystoreUnreachable: false, drop: 1 });
  await t.rejects(call(s, admin, 'GET', '/v1/status'), 'connection dropped');
  t.equal((await call(s, admin, 'GET', '/v1/status')).status, 200);
});

t.test('bulk route: advertised and served only when enabled', async (t) => {
  const off = await startKesServer();
  t.teardown(() => off.close());
  const on = await startKesServer({ bulkDecrypt: true, keys: [{ name: 'k', key: Buffer.alloc(32) }] });
  t.teardown(() => on.close());
  const list = async (s: KesServerHandle): Promise<string[]> =>
    (JSON.parse((await call(s, s.certs.admin, 'GET', '/v1/api')).body) as Array<{ path: string }>).map((a) => a.path);
  t.notOk((await list(off)).includes('/v1/key/bulk/decrypt/'));
  t.ok((await list(on)).includes('/v1/key/bulk/decrypt/'));
  t.equal((await call(off, off.certs.admin, 'POST', '/v1/key/bulk/decrypt/k', '[]')).status, 404);
  const g = JSON.parse((await call(on, on.certs.admin, 'PUT', '/v1/key/generate/k', '{"context":"e30="}')).body) as { plaintext: string; ciphertext: string };
  const body = JSON.stringify([{ ciphertext: g.ciphertext, context: 'e30=' }, { ciphertext: g.ciphertext, context: 'e30=' }]);
  const r = await call(on, on.certs.admin, 'POST', '/v1/key/bulk/decrypt/k', body);
  t.same(JSON.parse(r.body), [{ plaintext: g.plaintext }, { plaintext: g.plaintext }]);
  const bad = JSON.stringify([{ ciphertext: g.ciphertext, context: 'e30=' }, { ciphertext: g.ciphertext, context: '' }]);
  t.match(await call(on, on.certs.admin, 'POST', '/v1/key/bulk/decrypt/k', bad), { status: 400, body: /not authentic/ });
  t.match(on.counters(), { requests: { 'bulk-decrypt': 2 }, bulkItems: 4 });
});

t.test('stop/start keeps port and keys', async (t) => {
  const s = await startKesServer({ keys: [{ name: 'k', key: Buffer.alloc(32) }] });
  t.teardown(() => s.close());
  await s.stop();
  await t.rejects(call(s, s.certs.admin, 'GET', '/version'));
  await s.start();
  t.equal((await call(s, s.certs.admin, 'GET', '/v1/key/describe/k')).status, 200);
});

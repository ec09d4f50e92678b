// Replays every exchange of test/vectors/kes-wire.json (recorded from a real KES 2025-03-12 server)
// against the fixture server, in order, over real mTLS (HTTP/1.1 and HTTP/2), and compares status,
// headers and bodies. Identities are mapped to the fixture's certificates; random values
// (fresh data keys, HMAC keys, dates, memory figures) are compared by shape.

import t from 'tap';
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect } from 'node:http2';
import { createHash } from 'node:crypto';
import { createTestPki } from '../fixtures/kes-server/certs.js';
import type { CertPair } from '../fixtures/kes-server/certs.js';
import { startKesServer } from '../fixtures/kes-server/server.js';
import { wire } from '../fixtures/kes-server/wire.js';
import type { WireExchange } from '../fixtures/kes-server/wire.js';

interface Reply {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

const pki = await createTestPki();
const certs: Record<string, CertPair | undefined> = {
  admin: pki.admin,
  'minio-app': pki.app,
  'stranger-leaf': pki.stranger,
  'stranger-ca-true': pki.strangerCa,
  none: undefined,
};
const recordedIds = wire.identities as Record<string, string>;
const identityMap: Array<[string, string]> = [
  [recordedIds.admin!, pki.admin.identity],
  [recordedIds['minio-app']!, pki.app.identity],
];
const mapIdentities = (s: string): string => identityMap.reduce((acc, [from, to]) => acc.split(from).join(to), s);

/** Bodies with random content: compared by JSON shape (same keys, same decoded sizes). */
const SHAPE_ONLY = new Set(['hmac_hello', 'info_status', 'policy_allowed_status']);
const isRandomKeyMaterial = (ex: WireExchange): boolean =>
  ex.response.status === 200 && /^\/v1\/key\/(generate|encrypt)\//.test(ex.request.path);

function requestBody(ex: WireExchange): string | undefined {
  const r = ex.request;
  if (typeof r.body === 'string') return r.body;
  if (r.body_prefix !== undefined && r.body_suffix !== undefined && r.body_length !== undefined) {
    const fill = r.body_length - r.body_prefix.length - r.body_suffix.length;
    return r.body_prefix + 'A'.repeat(fill) + r.body_suffix; // checked against body_sha256 below
  }
  return undefined;
}

function sendHttp1(url: URL, ex: WireExchange, body: string | undefined, cert: CertPair | undefined, tls12: boolean): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of ex.request.headers) {
      if (!['host', 'content-length'].includes(k.toLowerCase())) headers[k] = v;
    }
    // curl sends no body and no length; Node would switch PUT/POST to chunked, so say 0 like Go sees it.
    headers['Content-Length'] = String(body === undefined ? 0 : Buffer.byteLength(body));
    const req = httpsRequest({
      host: url.hostname,
      port: url.port,
      method: ex.request.method,
      path: ex.request.path,
      headers,
      agent: false,
      ca: pki.caCert,
      ...(cert ? { cert: cert.cert, key: cert.key } : {}),
      ...(tls12 ? { maxVersion: 'TLSv1.2' as const } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function sendHttp2(url: URL, ex: WireExchange, body: string | undefined, cert: CertPair): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(url.origin, { ca: pki.caCert, cert: cert.cert, key: cert.key });
    session.on('error', reject);
    const headers: Record<string, string> = {};
    for (const [k, v] of ex.request.headers) if (k !== ':authority' && k !== ':scheme') headers[k] = v;
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    const h: Array<[string, string]> = [];
    stream.on('response', (hs) => {
      status = Number(hs[':status']);
      for (const [k, v] of Object.entries(hs)) if (!k.startsWith(':')) h.push([k, String(v)]);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      resolve({ status, headers: h, body: Buffer.concat(chunks).toString('utf8') });
    });
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** JSON shape: keys in order, with base64 fields replaced by their decoded length. */
function shape(text: string): unknown {
  const doc = JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, typeof v === 'string' && k !== 'version' && k !== 'os' && k !== 'arch'
    ? `<${Buffer.from(v, 'base64').length} bytes>` : typeof v]));
}

const maskDates = (s: string): string => s.replace(/"created_at":"[^"]*"/g, '"created_at":"<date>"');

/** Header names we may add that Go does not send (Node's HTTP/1.1 keep-alive headers). */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive']);

t.test('replay of kes-wire.json exchanges against the fixture', async (t) => {
  const server = await startKesServer({
    pki,
    policies: {
      'minio-app': { allow: wire.server_config.policies['minio-app']!.allow, identities: [pki.app.identity] },
    },
  });
  t.teardown(() => server.close());
  const url = new URL(server.url);
  let replayed = 0;
  for (const ex of wire.exchanges) {
    const body = requestBody(ex);
    if (ex.request.body_sha256 && body !== undefined && ex.request.body === undefined) {
      t.equal(createHash('sha256').update(body).digest('hex'), ex.request.body_sha256, `${ex.id}: rebuilt body`);
    }
    const cert = certs[ex.client_certificate];
    if (ex.response.no_http_response) {
      const tls12 = ex.id.endsWith('tls12');
      await t.rejects(sendHttp1(url, ex, body, undefined, tls12), `${ex.id}: no HTTP response without a client certificate`);
      replayed++;
      continue;
    }
    const reply = ex.http_version === '2' ? await sendHttp2(url, ex, body, cert!) : await sendHttp1(url, ex, body, cert, false);
    replayed++;
    t.equal(reply.status, ex.response.status, `${ex.id}: status`);
    const recorded = ex.response.body !== undefined ? mapIdentities(ex.response.body) : undefined;
    const exact = recorded !== undefined && !SHAPE_ONLY.has(ex.id) && !isRandomKeyMaterial(ex);
    if (ex.id === 'info_metrics') {
      t.match(reply.body, /^# HELP kes_/, `${ex.id}: Prometheus text`);
    } else if (ex.id === 'info_identity_list') {
      // Sorted by identity: the mapped identities sort differently from the recorded ones.
      const parse = (s: string): { identities: string[]; continue_at: string } => JSON.parse(s) as { identities: string[]; continue_at: string };
      t.same(parse(reply.body), { ...parse(recorded!), identities: [...parse(recorded!).identities].sort() }, `${ex.id}: body`);
    } else if (exact) {
      t.equal(maskDates(reply.body), maskDates(recorded), `${ex.id}: body`);
    } else if (recorded !== undefined) {
      t.same(shape(reply.body), shape(recorded), `${ex.id}: body shape`);
    }
    if (ex.id === 'info_metrics') continue; // recorded chunked; ours has a length
    const want = new Map((ex.response.headers ?? []).map(([k, v]) => [k.toLowerCase(), v]));
    const got = new Map(reply.headers.map(([k, v]) => [k.toLowerCase(), v]));
    for (const [k, v] of want) {
      if (k === 'date') continue;
      t.ok(got.has(k), `${ex.id}: header ${k} present`);
      const dateDependent = k === 'content-length' && (!exact || /created_at/.test(recorded ?? ''));
      if (!dateDependent) t.equal(got.get(k), v, `${ex.id}: header ${k}`);
    }
    const extra = [...got.keys()].filter((k) => !want.has(k) && !TRANSPORT_HEADERS.has(k));
    t.same(extra, [], `${ex.id}: no headers KES does not send`);
    if (ex.response.headers?.some(([k, v]) => k === 'Connection' && v === 'close')) t.equal(got.get('connection'), 'close');
  }
  t.equal(replayed, wire.exchanges.length, 'every exchange replayed');
});

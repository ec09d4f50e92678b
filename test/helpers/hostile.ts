// Shared by the hostile-input suites (prod-hostile-config-*, prod-hostile-versions-*): a canary HTTP
// server no request may ever reach (external entities, DTDs), one request with a deadline over
// raw node:http (signed with the test credentials unless anonymous), and what makes an answer a
// well-formed S3 error, and the fuzzers' document surgery (elements, texts, splice).

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { createServer, request, type Agent, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buildHeaders, errorCode } from './http.js';

export interface Recorder {
  server: Server;
  port: number;
  requests: string[];
}

/** A local server that answers 200 to everything and records what reached it. */
export async function recorder(): Promise<Recorder> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /**
   * Which TCP connection carried it (a number per socket). Not `reusedSocket`: Node leaves that
   * false for a request that waited in the agent's queue for the same kept-alive socket, which is
   * what happens when the server answers before the client has finished sending the body.
   */
  connection: number;
  ms: number;
}

export interface Req {
  method: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Default: signed with the test credentials. */
  anonymous?: boolean;
  /** Header values put on the wire in place of the signed ones (Latin-1 bytes). */
  sendAs?: Record<string, string>;
}

const connectionIds = new WeakMap<Socket, number>();
let connections = 0;

/** One request to the daemon on `port` through `agent` (false: a fresh connection); rejects on timeout or a broken connection. */
export function exchange(port: number, agent: Agent | false, o: Req, timeoutMs: number): Promise<Answer> {
  const headers = buildHeaders(port, { method: o.method, path: o.path, query: o.query ?? '', headers: o.headers ?? {}, ...(o.body !== undefined ? { body: o.body } : {}), ...(o.anonymous ? { sign: false } : {}) });
  Object.assign(headers, o.sendAs ?? {});
  const path = o.query ? `${o.path}?${o.query}` : o.path;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: o.method, path, headers, agent }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), connection, ms: Date.now() - started });
      });
      res.on('error', reject);
    });
    let connection = 0;
    req.on('socket', (socket: Socket) => {
      if (!connectionIds.has(socket)) connectionIds.set(socket, ++connections);
      connection = connectionIds.get(socket)!;
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${o.method} ${path.slice(0, 160)}: ${err.message}`));
    });
    req.end(o.body);
  });
}

const xmlReader = new XMLParser({ ignoreAttributes: true, parseTagValue: false });

/**
 * What is wrong with an answer that should be an S3 XML error: [] when it is one (4xx, or 501
 * NotImplemented, with an <Error> body whose RequestId is the header's). A HEAD has no body: its
 * status alone counts.
 */
export function errorProblems(r: Answer, method = 'GET'): string[] {
  const code = errorCode(r.body);
  if (method === 'HEAD') return (r.status >= 400 && r.status < 500) || r.status === 501 ? [] : [`HEAD answered ${r.status}`];
  const out: string[] = [];
  if (!((r.status >= 400 && r.status < 500) || (r.status === 501 && code === 'NotImplemented'))) out.push(`HTTP ${r.status} ${code ?? ''}`);
  if (!String(r.headers['content-type'] ?? '').includes('application/xml')) out.push(`content-type ${r.headers['content-type']}`);
  const text = r.body.toString('utf8');
  const valid = XMLValidator.validate(text);
  if (valid !== true) return [...out, `not well-formed XML (${valid.err.msg}): ${text.slice(0, 120)}`];
  const err = (xmlReader.parse(text) as { Error?: Record<string, unknown> }).Error;
  if (err === undefined || typeof err !== 'object') return [...out, `root is not <Error>: ${text.slice(0, 120)}`];
  if (typeof err.Code !== 'string' || err.Code === '') out.push('no <Code>');
  if (typeof err.Message !== 'string') out.push('no <Message>');
  if (err.RequestId !== r.headers['x-amz-request-id']) out.push(`<RequestId> ${String(err.RequestId)} is not the header's ${r.headers['x-amz-request-id']}`);
  return out;
}

/** [] for a valid 2xx (an XML body well-formed), or for a valid S3 error. */
export function answerProblems(r: Answer, method = 'GET'): string[] {
  if (r.status >= 200 && r.status < 300) {
    if (r.body.length > 0 && String(r.headers['content-type'] ?? '').includes('xml')) {
      const valid = XMLValidator.validate(r.body.toString('utf8'));
      if (valid !== true) return [`${r.status} with malformed XML (${valid.err.msg})`];
    }
    return [];
  }
  return errorProblems(r, method);
}

/** Open-tag positions of a document's elements with a matching close tag (no same-name nesting in these documents). */
export function elements(doc: string): Array<{ name: string; start: number; end: number }> {
  const out: Array<{ name: string; start: number; end: number }> = [];
  for (const m of doc.matchAll(/<([A-Za-z][\w:.-]*)(\s[^>]*)?>/g)) {
    const close = doc.indexOf(`</${m[1]}>`, m.index);
    if (close > 0) out.push({ name: m[1]!, start: m.index, end: close + m[1]!.length + 3 });
  }
  return out;
}

/** Positions of a document's text runs between tags. */
export function texts(doc: string): Array<{ start: number; end: number }> {
  return [...doc.matchAll(/>([^<]+)</g)].map((m) => ({ start: m.index + 1, end: m.index + 1 + m[1]!.length }));
}

/** `doc` with [start, end) replaced by `insert` (the fuzzers' mutations). */
export function splice(doc: string, start: number, end: number, insert: string): string {
  return doc.slice(0, start) + insert + doc.slice(end);
}

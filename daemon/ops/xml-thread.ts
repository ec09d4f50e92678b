// Large request documents parsed on a thread of their own. fast-xml-parser works a character at a
// time: the largest legal documents held the event loop, every other request, for a long stretch
// each (measured on a loaded 2-core machine: a CompleteMultipartUpload of 10,000 Parts ~100-280 ms,
// the first in a process the longest; a Delete of 1,000 keys written as character references,
// ~6 MiB, ~350-400 ms). The thread runs the same parseXml, so the answer (the document, or the
// MalformedXML and its message) is the one an inline parse gives.
//
// The documents waiting for the thread have no bound of their own, deliberately. Each is a copy of
// a body its request already read whole (readAll: at most 8 MiB for a Delete, 4 MiB for a Complete,
// 1 MiB for a lifecycle or bucket configuration), after the request was authenticated, and that request
// holds its own buffer until the parse answers: the queue is at most the bytes the requests in
// flight already hold, once more, and is gone as they end. A limit here (503 SlowDown beyond so
// many queued bytes) would refuse a body only once it had been received and buffered, saving the
// copy and not the buffer; the memory of buffered bodies is bounded, if anywhere, where they are
// read. Time is bounded the same way: a document queued behind others waits for their parses,
// which inline would have held the event loop, every other request, for as long.

import { Worker } from 'node:worker_threads';
import { S3Error, type S3ErrorCode } from '../errors.js';
import { documentRoot, parseXml, requireDocumentBody, type ParseOptions } from './xml.js';

/**
 * Documents of at most this many bytes are parsed inline: a few ms at most (~1,000 Parts), less
 * than handing them over costs.
 */
export const OFF_LOOP_MIN_BYTES = 64 * 1024;

/** What the thread answers: the parsed document, the S3 error parseXml threw, or another failure. */
export type ThreadAnswer =
  | { id: number; doc: Record<string, unknown> }
  | { id: number; s3: { code: S3ErrorCode; message: string; fields: Record<string, string> } }
  | { id: number; failed: string };

interface Pending {
  resolve: (doc: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

/**
 * The parsing thread, started on first use. It keeps the process alive while it holds documents
 * (an awaited parse is not dropped at exit), never while idle.
 */
function parsingThread(): Worker {
  if (worker !== undefined) return worker;
  // Not the parent's node flags (execArgv): a flag meant for an entry script, such as
  // --input-type=module, stops a worker from loading.
  const w = new Worker(new URL('./xml-thread-worker.js', import.meta.url), { execArgv: [] });
  w.on('message', (a: ThreadAnswer) => {
    const p = pending.get(a.id);
    if (p === undefined) return;
    pending.delete(a.id);
    if (pending.size === 0) w.unref();
    if ('doc' in a) p.resolve(a.doc);
    else if ('s3' in a) p.reject(new S3Error(a.s3.code, a.s3.message, { fields: a.s3.fields }));
    else p.reject(new Error(`XML parsing thread: ${a.failed}`));
  });
  // A thread that died (out of memory on its own heap, or it would not load) fails the documents
  // it held; the next document starts another.
  const lost = (err: Error): void => {
    // Once per thread: its 'exit' after its 'error' must not fail documents a successor holds.
    if (worker !== w) return;
    worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on('error', lost);
  w.on('exit', (code) => lost(new Error(`XML parsing thread exited (${code})`)));
  // Idle until a document is posted; after the listeners: adding a 'message' listener refs the
  // thread's port again, and an unref() before it left the idle thread holding the process open.
  w.unref();
  worker = w;
  return w;
}

/**
 * parseXml's answer for a request document, without holding the event loop for a large one: a
 * document of more than OFF_LOOP_MIN_BYTES is parsed on the parsing thread.
 */
export function parseXmlOffLoop(body: Buffer, opts: ParseOptions = {}): Promise<Record<string, unknown>> {
  if (body.length <= OFF_LOOP_MIN_BYTES) {
    try {
      return Promise.resolve(parseXml(body, opts));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
  const id = nextId++;
  const w = parsingThread();
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (pending.size === 1) w.ref();
    // A copy of the bytes: the request's buffer may be a view of a larger one.
    const copy = Uint8Array.prototype.slice.call(body);
    w.postMessage({ id, body: copy, opts }, [copy.buffer]);
  });
}

/** parseDocument's answer (a configuration PUT's `root` element), parsed as parseXmlOffLoop parses. */
export async function parseDocumentOffLoop(body: Buffer, root: string, opts: ParseOptions & { childless?: 'allowed' } = {}): Promise<Record<string, unknown> | string> {
  requireDocumentBody(body);
  return documentRoot(await parseXmlOffLoop(body, opts), root, opts);
}

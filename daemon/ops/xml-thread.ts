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
 * Set by closeParsingThread: documents after it are parsed inline, and no thread is started. Never
 * reset: a process runs one daemon and closes it once (the tests start daemons as processes).
 */
let closing: Promise<ParsingThreadEnd> | undefined;

/**
 * How long closeParsingThread waits for the thread to answer what it holds and end by itself
 * (the shutdown's budget, cli.ts SHUTDOWN_STEPS_MS, counts it with TERMINATE_WAIT_MS after it).
 */
export const CLOSE_WAIT_MS = 5_000;

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
  // After the shutdown closed the thread (a request cut at the drain deadline still parsing its
  // body): inline, the same answer, and no thread started that the exit would tear down.
  if (body.length <= OFF_LOOP_MIN_BYTES || closing !== undefined) {
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

/** How the parsing thread ended at shutdown: never started, ended by itself, or terminated at the deadline. */
export type ParsingThreadEnd = 'none' | 'closed' | 'terminated';

/**
 * Ends the parsing thread, for the daemon's graceful shutdown (after the drain). The thread is
 * asked to end by a message queued behind the documents it was sent: it answers each of them,
 * then closes its port and its event loop ends. Until now the thread was left to the process's
 * exit, which tears a thread down wherever it is; Node 20 can abort the whole process (SIGABRT)
 * when that is inside a module load (crypto/pool.ts, LoadWatch), and a message is read only
 * once the thread's module has loaded. Bounded: past `waitMs` (a parse or a load that does not
 * end) the documents still held fail (their requests get 500) and the thread is terminated.
 * Later documents are parsed inline. Idempotent.
 */
export function closeParsingThread(waitMs = CLOSE_WAIT_MS): Promise<ParsingThreadEnd> {
  closing ??= endThread(waitMs);
  return closing;
}

async function endThread(waitMs: number): Promise<ParsingThreadEnd> {
  const w = worker;
  if (w === undefined) return 'none';
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  w.postMessage({ close: true });
  if (await settlesWithin(exited, waitMs)) return 'closed';
  const err = new Error(`XML parsing thread terminated at shutdown: it had not answered within ${waitMs} ms`);
  if (worker === w) {
    worker = undefined;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  }
  // A thread held in a system call (a stalled filesystem) may not end even so: the shutdown goes
  // on without it, and the process's exit ends it.
  await settlesWithin(w.terminate(), TERMINATE_WAIT_MS);
  return 'terminated';
}

/** How long the shutdown waits for a terminated parsing thread to be gone. */
const TERMINATE_WAIT_MS = 1_000;

/** Whether `p` settles within `ms`; a timer of its own keeps the process alive meanwhile (the idle thread is unref'd). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.then(() => true, () => true), late]).finally(() => clearTimeout(timer));
}

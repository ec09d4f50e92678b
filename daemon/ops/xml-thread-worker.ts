// The parsing thread's entry (see xml-thread.ts): parses each document it is sent with parseXml
// and answers the document or the error, tagged with the request's id.

import { parentPort } from 'node:worker_threads';
import { isS3Error } from '../errors.js';
import { parseXml, type ParseOptions } from './xml.js';
import type { ThreadAnswer } from './xml-thread.js';

/** A document to parse, or the shutdown's request to end (closeParsingThread), after the documents sent before it. */
export type ThreadRequest = { id: number; body: Uint8Array; opts: ParseOptions } | { close: true };

parentPort!.on('message', (request: ThreadRequest) => {
  // Its port closed, nothing is left on the thread's event loop: it ends, as a module whose
  // load has finished (a message is read only after that).
  if ('close' in request) {
    parentPort!.close();
    return;
  }
  const { id, body, opts } = request;
  let answer: ThreadAnswer;
  try {
    answer = { id, doc: parseXml(Buffer.from(body.buffer, body.byteOffset, body.byteLength), opts) };
  } catch (err) {
    answer = isS3Error(err) ? { id, s3: { code: err.code, message: err.message, fields: { ...err.fields } } } : { id, failed: String((err as Error)?.message ?? err) };
  }
  parentPort!.postMessage(answer);
});

// Messages between the bench's main thread and its load workers: one job in, one result out.

import type { HistogramData } from '../stats/histogram.js';
import type { SseMode, WorkloadKind } from '../report/types.js';
import type { HttpTarget } from './connection.js';
import type { SsecKey } from './sse-headers.js';

export interface LoadCredentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

export interface LoadJob {
  target: HttpTarget;
  credentials: LoadCredentials;
  bucket: string;
  workload: WorkloadKind;
  sizeBytes: number;
  sse: SseMode;
  ssec?: SsecKey;
  /** connections this worker opens */
  connections: number;
  workerIndex: number;
  workers: number;
  /** Existing objects are `${readPrefix}${i}` for i in [0, readCount). */
  readPrefix: string;
  readCount: number;
  /** New objects are `${writePrefix}w${workerIndex}-${n}`, n taken modulo writeRing when > 0. */
  writePrefix: string;
  writeRing: number;
  /** multipart part size */
  partSize: number;
  timeoutMs: number;
  /**
   * timed: issue ops from startAt until startAt + warmupMs + measureMs, count those that finish
   * inside the measured window. count: do ops on keys [from, from + count) of readPrefix
   * (put writes them, get reads them), split over this worker's connections, and record all.
   */
  mode: 'timed' | 'count';
  startAt: number;
  warmupMs: number;
  measureMs: number;
  countFrom: number;
  count: number;
}

export interface OpTally {
  ops: number;
  errors: number;
  bytes: number;
  hist: HistogramData;
}

export interface LoadResult {
  workerIndex: number;
  /** whole operations (a multipart upload is one) */
  total: OpTally;
  /** per S3 request type (PUT, GET, HEAD, DELETE, LIST, MPU-INIT, MPU-PART, MPU-COMPLETE) */
  byOp: Record<string, OpTally>;
  /** ops finished in each 1 s segment of the window */
  segments: number[];
  /** body bytes sent or received inside the window, as they moved (not per finished op) */
  windowBytes: number;
  /** keys listed (list workload) */
  listedKeys: number;
  errorSample?: string;
  connects: number;
  windowStart: number;
  windowEnd: number;
}

export type WorkerMessage = { type: 'result'; result: LoadResult } | { type: 'error'; message: string };

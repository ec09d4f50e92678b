// How many bytes a MetaStore's object tables hand their msgpack decoders: what tells a read of
// records without their data (meta/listed-record.ts: the decoder is given the kept entries alone)
// from a read of whole records, whose inline data is copied out (the results look the same).

import type { MetaStore } from '../../daemon/meta/store.js';

/** Counts, from now on, the bytes decoded from the objects and versions tables (every handle: whole records and listed ones share the table's decoder). */
export function decodedBytes(m: MetaStore): () => number {
  let n = 0;
  for (const table of ['objects', 'versions'] as const) {
    const decoder = (m as unknown as Record<typeof table, { decoder: { decode(b: Uint8Array): unknown } }>)[table].decoder;
    const decode = decoder.decode.bind(decoder);
    decoder.decode = (b: Uint8Array): unknown => ((n += b.length), decode(b));
  }
  return () => n;
}

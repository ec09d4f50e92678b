// Cryptographically secure random bytes for keys, IVs, nonces and ids, drawn from a pool that
// one randomFillSync call refills. A PUT needs five to seven small random values; one OpenSSL
// call each cost ~15 % of the main thread for 4 KiB SSE-S3 PUTs. Bytes handed out are erased
// from the pool at once, so the pool never holds a value that is already in use.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** `n` fresh random bytes in a Buffer of their own (like crypto.randomBytes). */
export function secureRandom(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`secureRandom: invalid length ${n}`);
  if (n > POOL_SIZE / 8) return randomFillSync(Buffer.allocUnsafeSlow(n));
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafeSlow(n);
  pool.copy(out, 0, offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}

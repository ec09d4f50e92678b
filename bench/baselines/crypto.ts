// Crypto ceilings for the run: DARE sealing on one thread, the Piscina pool's seal and open, MD5
// and SHA-256 per core — all from the colleague-owned runCryptoMicro, repeated and medianed.

import { runCryptoMicro } from '../crypto-micro.js';
import type { CryptoMicroResult } from '../crypto-micro.js';
import type { CryptoBaseline } from '../report/types.js';
import { median } from '../stats/summary.js';

export async function measureCrypto(seconds: number, rounds: number): Promise<{ crypto: CryptoBaseline; backgroundCpu: number[] }> {
  const runs: CryptoMicroResult[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await runCryptoMicro({ seconds }));
  const pick = (f: (r: CryptoMicroResult) => number): number => median(runs.map(f));
  return {
    crypto: {
      aes: runs[0]?.aes,
      oneThreadSealGBps: pick((r) => r.oneThreadSealGBps),
      oneThreadNodeSealGBps: runs.every((r) => r.oneThreadNodeSealGBps !== undefined) ? pick((r) => r.oneThreadNodeSealGBps!) : undefined,
      poolSealGBps: pick((r) => r.poolSealGBps),
      poolOpenGBps: pick((r) => r.poolOpenGBps),
      md5GBps: pick((r) => r.md5GBps),
      sha256GBps: pick((r) => r.sha256GBps),
      // runCryptoMicro already pairs one-thread and pool rounds back to back; median again over calls
      ratio: pick((r) => r.ratio),
      rounds,
    },
    backgroundCpu: runs.map((r) => r.backgroundCpu ?? Number.NaN),
  };
}

// The start-up lines that say which implementation this daemon's optional native bindings left it
// with (npm run build compiles them where a C compiler is installed; docs/operations.md, Requirements):
// info when native or switched off by its setting, a warning when missing by a fault. The stdio
// binding matters only to a daemon serving TLS (per-domain certificates are what make uWS print):
// said only then.
import type { Logger } from 'pino';
import { aeadImplementation } from '../workers/format/dare-aead.js';
import { crcImplementation } from './auth/payload.js';
import { stdioQuietImplementation } from './http/stdio-quiet.js';

export function logNativeBindings(log: Logger, served: { tls: boolean }): void {
  const aead = aeadImplementation();
  if (aead.native) log.info({ binding: aead.file }, 'AES-256-GCM through the native OpenSSL binding');
  else log[aead.byDesign === true ? 'info' : 'warn']({ reason: aead.reason }, 'AES-256-GCM through node:crypto, at about half the native binding\'s speed (docs/operations.md, Requirements)');
  const crcs = crcImplementation();
  if (crcs.native) log.info({ binding: crcs.file, crc32cInstruction: crcs.crc32cInstruction, crc64nvmeClmul: crcs.crc64nvmeClmul }, 'CRC32C and CRC64NVME checksums through the native binding');
  else log[crcs.byDesign === true ? 'info' : 'warn']({ reason: crcs.reason }, 'CRC32C and CRC64NVME checksums in JavaScript, at about 400 MiB/s on the event loop (docs/operations.md, Requirements)');
  if (!served.tls) return;
  const stdio = stdioQuietImplementation();
  if (stdio.native) log.info({ binding: stdio.file }, 'uWebSockets.js\'s debugging lines about TLS server names kept off standard output through the native binding');
  else log.warn({ reason: stdio.reason }, 'uWebSockets.js\'s debugging lines about TLS server names (per-domain certificates) will appear on standard output between the JSON log lines (docs/operations.md, Requirements)');
}

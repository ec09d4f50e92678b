// `npm run build` step after tsc: writes the patched uWebSockets.js binary the daemon loads
// (dist/native/, see daemon/http/uws.ts) so that an install copied from the build (the systemd
// set-up in docs/operations.md, a read-only /opt/s3d) has it. The daemon makes it on first use too
// when dist/ is writable.
import { chooseBinding, nativeBindingPath } from '../dist/daemon/http/uws.js';

const b = chooseBinding(nativeBindingPath());
process.stdout.write(b.parserPatched ? `prepare-uws: ${b.file}\n` : `prepare-uws: unpatched binary (${b.unpatchedReason})\n`);

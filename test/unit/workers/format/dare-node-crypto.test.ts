// The DARE known-answer and tamper tests again, with AES-256-GCM through node:crypto: what s3d
// runs where the native binding was not built or S3_NATIVE_AES=off (dare.test.ts and
// dare-tamper.test.ts run with the binding wherever it loads). A process of its own: it imports
// those two files (they run here a second time) and switches the process to node:crypto.
// test-groups: own process
import t from 'tap';
import { aeadImplementation, useAeadImplementation } from '../../../../workers/format/index.js';

useAeadImplementation('node');
t.equal(aeadImplementation().native, false, 'this file runs on node:crypto');
await import('./dare.test.js');
await import('./dare-tamper.test.js');

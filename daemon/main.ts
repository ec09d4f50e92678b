#!/usr/bin/env node
// s3d entry point (`s3d server DIR [--dev]`, `s3d verify …`; the command line is read by
// commands.ts, the server is cli.ts).
//
// It holds SIGHUP before anything else loads: the server's modules (uWebSockets.js, LMDB, pino
// and the rest) take ~0.3 s to load, and a SIGHUP in that time (a deploy hook reloading by PID
// right after a restart) used to end the process, SIGHUP's default action. Held, it is carried
// out once the daemon is ready (see early-signals.ts).
import { holdEarlyHup } from './early-signals.js';

holdEarlyHup();
const { run } = await import('./commands.js');
run();

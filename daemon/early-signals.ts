// SIGHUP's default action ends the process. A SIGHUP during start-up (a deploy hook that reloads
// by PID right after a restart, `systemctl kill -s HUP`) must not stop the service: it is
// remembered and carried out once the daemon is ready. main.ts holds it before it loads the rest
// (cli.ts), and cli.ts takes it over once the daemon serves.
let pending = false;
const onEarlyHup = (): void => {
  pending = true;
};

/** From now until releaseEarlyHup, a SIGHUP is remembered instead of ending the process. */
export function holdEarlyHup(): void {
  if (!process.listeners('SIGHUP').includes(onEarlyHup)) process.on('SIGHUP', onEarlyHup);
}

/** Stops holding SIGHUP; true when one arrived meanwhile. */
export function releaseEarlyHup(): boolean {
  process.off('SIGHUP', onEarlyHup);
  const arrived = pending;
  pending = false;
  return arrived;
}

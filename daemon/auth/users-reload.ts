// Reloads of S3_IAM_FILE (SIGHUP, `systemctl reload s3d`): read and checked in turns of the event
// loop (users.ts loadUsersInTurns) while requests go on with the previous users, then put in force
// in one turn, so a request sees the old users or the new, never some of each. One at a time: a
// SIGHUP during a reload has the file read again once it ends, so the file as it was at the last
// SIGHUP is the one in force, and two reloads never interleave.

import type { Logger } from 'pino';
import { IamFileError, loadUsersInTurns, type UserDirectory } from './users.js';

export interface UsersReloadOptions {
  readonly file: string;
  readonly rootUser: string;
  readonly log: Logger;
  /** Puts the users in force (in the turn the reload ends); what it returns is logged with `users reloaded`. */
  readonly install: (users: UserDirectory) => Record<string, unknown>;
}

export class UsersReload {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly o: UsersReloadOptions) {}

  /** Reloads the file, or once more after the reload under way; settles when the file is in force or refused. Never rejects. */
  request(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      if (!this.again) this.o.log.info({ file: this.o.file }, 'users reload under way: the file is read again when it ends');
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Ends a reload under way at its next turn, without putting anything in force (the daemon stops). */
  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.once();
    } while (this.again && !this.stopped);
  }

  private async once(): Promise<void> {
    const { file, rootUser, log } = this.o;
    try {
      const { users, warnings } = await loadUsersInTurns(file, rootUser, {
        stopped: () => this.stopped,
        onRead: (chars) => log.info({ file, chars }, 'reloading users'),
      });
      for (const w of warnings) log.warn(w);
      log.info({ file, users: users.size, ...this.o.install(users) }, 'users reloaded');
    } catch (err) {
      if (this.stopped) return;
      // As start-up says it (a configuration error naming S3_IAM_FILE).
      const message = err instanceof IamFileError ? `S3_IAM_FILE ${err.message}` : (err as Error).message;
      log.error({ err: { message } }, 'users reload failed: the previous users stay in effect');
    }
  }
}

// The client side of test/fixtures/aws-cli/driver.py: a Python process that imports awscli once
// and runs each aws command in a fork of itself, the genuine CLI code over real sockets without
// the ~0.5 s of CPU each `aws` process spends importing botocore and awscli.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { projectPath } from './root.js';

export interface AwsCommand {
  args: string[];
  /** The command's whole environment (unset entries are left out). */
  env: Record<string, string | undefined>;
  cwd: string;
  /** Its standard input; without it, stdin reads as empty. */
  input?: Buffer;
  /** SIGTERM after this many milliseconds, as execFile's `timeout`. */
  timeoutMs?: number;
}

export interface AwsOutcome {
  /** The exit status, null when a signal ended the command. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  /** The command's own CPU seconds [user, system] (its fork, not the driver). */
  cpu: [number, number];
}

interface Answer {
  id: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  out: number;
  err: number;
  cpu: [number, number];
}

const SCRIPT = projectPath('test/fixtures/aws-cli/driver.py');

/**
 * One driver process, started on the first command. It is unreferenced while idle (it never keeps
 * the test process alive) and exits when its stdin closes, so it ends with the test process even
 * when that is killed; `close` ends it sooner.
 */
export class AwsCliDriver {
  private child: ChildProcess | undefined;
  private readonly waiting = new Map<number, { resolve(o: AwsOutcome): void; reject(e: Error): void }>();
  private nextId = 1;
  private chunks: Buffer[] = [];
  private received = 0;
  private answer: Answer | undefined;
  private stderrTail = '';

  /** `python` runs `awsScript` (the aws CLI's own entry script); `env` is the driver's start-up environment. */
  constructor(
    private readonly python: string,
    private readonly awsScript: string,
    private readonly env: Record<string, string>,
  ) {}

  /** The driver's process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  run(cmd: AwsCommand): Promise<AwsOutcome> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    const env = Object.fromEntries(Object.entries(cmd.env).filter((e): e is [string, string] => e[1] !== undefined));
    const request = { id, args: cmd.args, env, cwd: cmd.cwd, input: cmd.input?.toString('base64') ?? null, timeout: cmd.timeoutMs === undefined ? null : cmd.timeoutMs / 1000 };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.setReferenced(true);
      (child.stdin as Writable).write(`${JSON.stringify(request)}\n`);
    });
  }

  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private start(): ChildProcess {
    const child = spawn(this.python, [SCRIPT, this.awsScript], { env: this.env, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.chunks = [];
    this.received = 0;
    this.answer = undefined;
    const answers = child.stdio[3] as Readable;
    answers.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderrTail = (this.stderrTail + s).slice(-4000)));
    child.stdin!.on('error', () => {}); // a driver that died is reported by 'exit'
    child.on('error', (err) => this.fail(child, err));
    child.on('exit', (code, signal) => this.fail(child, new Error(`the aws CLI driver exited (${signal ?? code}); set S3D_TEST_AWS_PROCESS=1 to run aws processes instead\n${this.stderrTail}`)));
    // Belt and braces: a test process that exits normally kills it at once.
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    this.setReferenced(false);
    return child;
  }

  private receive(chunk: Buffer): void {
    // Chunks are kept until an answer is whole, then joined once (an answer may be tens of MB).
    this.chunks.push(chunk);
    this.received += chunk.length;
    for (;;) {
      if (this.answer === undefined) {
        const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
        const eol = head.indexOf(0x0a);
        if (eol < 0) {
          this.chunks = [head];
          return;
        }
        this.answer = JSON.parse(head.subarray(0, eol).toString('utf8')) as Answer;
        this.chunks = [head.subarray(eol + 1)];
        this.received = head.length - eol - 1;
      }
      const answer = this.answer;
      const size = answer.out + answer.err;
      if (this.received < size) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const stdout = Buffer.from(all.subarray(0, answer.out));
      const stderr = Buffer.from(all.subarray(answer.out, size));
      this.chunks = [all.subarray(size)];
      this.received = all.length - size;
      this.answer = undefined;
      const waiter = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (this.waiting.size === 0) this.setReferenced(false);
      waiter?.resolve({ code: answer.code, signal: answer.signal, stdout, stderr, cpu: answer.cpu });
    }
  }

  private fail(child: ChildProcess, err: Error): void {
    if (this.child === child) this.child = undefined;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }

  /** Keeps the test process alive only while a command is running. */
  private setReferenced(on: boolean): void {
    const child = this.child;
    if (child === undefined) return;
    for (const handle of [child, child.stdin, child.stderr, child.stdio[3]] as Array<{ ref?(): void; unref?(): void } | null>) {
      if (on) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

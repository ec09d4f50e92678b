// The directory entries a write depends on are durable before it is acknowledged, checked in the
// daemon's system calls (the daemon runs under strace from its first start on a new data
// directory): the generated development KMS key is fsynced, and so is .s3d after it is created
// in it; a data file's new fan-out directory (.s3d/objects/xx) is made durable in objects/
// before the upload that created it is answered. Before, neither was: a power loss soon after a
// first start could take the key (a new one would be generated, and every SSE object already
// stored was lost) or a directory with the acknowledged files in it; nor was the data directory's
// own entry in its parent when the start made it. Skipped where strace is
// missing or may not trace.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MAIN, s3Client, testBytes } from '../helpers/daemon.js';
import { diesWithTest } from '../helpers/dies-with-test.js';
import { createBucket } from '../helpers/s3.js';

const NO_STRACE = spawnSync('strace', ['-e', 'trace=none', '-o', '/dev/null', 'true'], { stdio: 'ignore' }).status === 0 ? false : 'strace is missing or may not trace here';

interface Call {
  /** Index of the line where the call completed. */
  done: number;
  pid: string;
  name: string;
  args: string;
  result: string;
}

/** The completed system calls of an `strace -f -yy` log, in completion order (unfinished calls joined with their resumption). */
function parseTrace(text: string): Call[] {
  const pending = new Map<string, { name: string; args: string }>();
  const calls: Call[] = [];
  text.split('\n').forEach((line, i) => {
    let m = /^(\d+) +(\w+)\((.*) <unfinished \.\.\.>$/.exec(line);
    if (m) return void pending.set(`${m[1]} ${m[2]}`, { name: m[2]!, args: m[3]! });
    m = /^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (.*)$/.exec(line);
    if (m) {
      const p = pending.get(`${m[1]} ${m[2]}`);
      pending.delete(`${m[1]} ${m[2]}`);
      return void calls.push({ done: i, pid: m[1]!, name: m[2]!, args: (p?.args ?? '') + m[3]!, result: m[4]! });
    }
    m = /^(\d+) +(\w+)\((.*)\) += (.*)$/.exec(line);
    if (m) calls.push({ done: i, pid: m[1]!, name: m[2]!, args: m[3]!, result: m[4]! });
  });
  return calls;
}

t.test('a first start and a first upload make their directory entries durable', { skip: NO_STRACE }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 's3d-dirsync-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A data directory whose parent does not exist yet: the start makes both.
  const data = join(dir, 'parent', 'data');
  const trace = join(dir, 'trace.txt');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, S3_ADDRESS: '127.0.0.1:0', S3_CRYPTO_WORKERS: '1' };
  // Both end with this process should its teardown never run: strace, and the daemon (strace's
  // child), which a killed strace would leave running, detached.
  const proc = spawn(
    ...diesWithTest('strace', ['-f', '-yy', '-s', '24', '-o', trace, '-e', 'trace=openat,mkdir,mkdirat,fsync,fdatasync,link,linkat,sendto,write,writev', ...diesWithTest(process.execPath, [MAIN, 'server', data, '--dev']).flat()]),
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  // strace neither forwards SIGTERM nor ends its command on it: the daemon (its child) is stopped.
  const stop = (): void => {
    for (const pid of readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) process.kill(Number(pid), 'SIGTERM');
  };
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      stop();
      await exited;
    }
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start in 30 s:\n${out}`)), 30_000);
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /"msg":"listening"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1] ?? m[2]));
      }
    });
  });
  const s3 = s3Client(`http://127.0.0.1:${port}`, undefined, true, { credentials: { accessKeyId: 's3dadmin', secretAccessKey: 's3dadmin-dev-password' } });
  const bucket = await createBucket(s3, 'dirsync');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'file', Body: testBytes(300_000, 3) })); // a data file, not inline
  stop();
  await exited;

  const calls = parseTrace(readFileSync(trace, 'utf8'));
  const s3d = join(data, '.s3d');
  const fsyncOf = (path: string, after: number): Call | undefined => calls.find((c) => (c.name === 'fsync' || c.name === 'fdatasync') && c.done > after && c.args.replace(/^\d+/, '') === `<${path}>` && c.result === '0');

  // The key is written whole under a temporary name, fsynced, then linked into place.
  const keyOpen = calls.find((c) => c.name === 'openat' && /kms-dev\.key\.\d+\.[0-9a-f]+\.tmp"/.test(c.args) && c.args.includes('O_CREAT'));
  t.ok(keyOpen, 'the development key is written under a temporary name');
  const tempPath = keyOpen && /"([^"]+\.tmp)"/.exec(keyOpen.args)![1];
  const keySync = keyOpen && fsyncOf(tempPath!, keyOpen.done);
  t.ok(keySync, 'and fsynced');
  const linked = keySync && calls.find((c) => (c.name === 'link' || c.name === 'linkat') && c.done > keySync.done && c.args.includes(`${s3d}/kms-dev.key"`) && c.result === '0');
  t.ok(linked, 'then linked into place as kms-dev.key');
  const firstAnswer = calls.find((c) => (c.name === 'sendto' || c.name === 'write' || c.name === 'writev') && c.args.includes('HTTP/1.1 200'));
  const s3dSync = linked && fsyncOf(s3d, linked.done);
  t.ok(s3dSync && firstAnswer && s3dSync.done < firstAnswer.done, 'then .s3d, which holds its entry, before anything is answered');
  // The directories the start made: each one's entry in the directory above is durable.
  for (const [above, made] of [[dir, 'parent'], [join(dir, 'parent'), 'data'], [data, '.s3d']] as const) {
    const mkdirMade = calls.find((c) => (c.name === 'mkdir' || c.name === 'mkdirat') && c.args.includes(`${join(above, made)}"`) && c.result === '0');
    const synced = mkdirMade && fsyncOf(above, mkdirMade.done);
    t.ok(synced && firstAnswer && synced.done < firstAnswer.done, `${above} is fsynced after ${made} is made in it, before anything is answered`);
  }

  const mkdir = calls.find((c) => (c.name === 'mkdir' || c.name === 'mkdirat') && new RegExp(`${s3d}/objects/[0-9a-f]{2}"`).test(c.args) && c.result === '0');
  t.ok(mkdir, 'the upload makes a fan-out directory');
  const answer = calls.find((c) => (c.name === 'sendto' || c.name === 'write' || c.name === 'writev') && c.args.includes('HTTP/1.1 200') && mkdir !== undefined && c.done > mkdir.done);
  t.ok(answer, 'the upload is answered');
  const dirSync = mkdir && fsyncOf(`${s3d}/objects`, mkdir.done);
  t.ok(dirSync, 'objects/ is fsynced after the directory is made in it');
  t.ok(dirSync && answer && dirSync.done < answer.done, 'before the upload is answered');
});

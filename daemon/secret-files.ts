// Secrets read from files rather than the environment: S3_ROOT_PASSWORD_FILE=/path (and the same
// for the other secret variables) sets S3_ROOT_PASSWORD to the file's content, as MinIO reads
// MINIO_ROOT_PASSWORD_FILE (Docker secrets) and as systemd's LoadCredential= hands a service its
// secrets (`Environment=S3_ROOT_PASSWORD_FILE=%d/root-password`).
//
// Why it matters: a process's environment is not as private as its memory. It is in
// /proc/PID/environ for the life of the process, and systemd-coredump records it in the journal
// entry it writes for a crash (COREDUMP_ENVIRON), metadata it logs even where LimitCORE=0 keeps the
// core itself, and which members of the adm and systemd-journal groups may read. A secret set from a file lives only in the process's memory:
// process.env is changed in place, which the kernel's copy of the initial environment never sees.
//
// Run once, first thing, by commands.ts for every command that reads secrets (the server, verify,
// metrics-token; not backup, which reads none), before any module reads process.env.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';

import { ConfigError } from './config.js';

/** The variables whose value may come from a file, each with the variable that names the file. */
export const SECRET_FILE_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  S3_ROOT_USER: 'S3_ROOT_USER_FILE',
  S3_ROOT_PASSWORD: 'S3_ROOT_PASSWORD_FILE',
  S3_KMS_SECRET_KEY: 'S3_KMS_SECRET_KEY_FILE',
  S3_KMS_KES_KEY_PASSWORD: 'S3_KMS_KES_KEY_PASSWORD_FILE',
  S3_KMS_KES_API_KEY: 'S3_KMS_KES_API_KEY_FILE',
});

/** More than any secret s3d reads is long (a KES API key is ~60 bytes): not a secret file. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Sets each secret variable whose `_FILE` twin names a file to that file's content (one trailing
 * line end removed: `echo secret > file` adds it) and removes the `_FILE` variable, so a second
 * call changes nothing. Returns warnings (a file other users may read); throws ConfigError for a
 * variable set both ways, a file that cannot be read, is not a regular file, is empty, too long
 * or holds more than one line.
 */
export function applySecretFiles(env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  for (const [name, fileVar] of Object.entries(SECRET_FILE_VARIABLES)) {
    const raw = env[fileVar];
    if (raw === undefined) continue;
    const path = raw.trim();
    if (path === '') throw new ConfigError(`${fileVar} is empty: name the file that holds ${name}, or unset it`);
    if ((env[name] ?? '') !== '') {
      throw new ConfigError(`${name} and ${fileVar} are both set: set one (a value in the environment file would otherwise silently win over, or lose to, the file)`);
    }
    const file = resolve(path);
    const { value, mode } = readSecret(file, fileVar);
    if ((mode & 0o004) !== 0) {
      warnings.push(`${fileVar} names ${file}, which every local user may read (mode ${(mode & 0o777).toString(8).padStart(3, '0')}): chmod 600 it (or 400), or use systemd's LoadCredential=`);
    }
    env[name] = value;
    delete env[fileVar];
  }
  return warnings;
}

function readSecret(file: string, fileVar: string): { value: string; mode: number } {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO named by mistake must not hang the start-up (it is refused below).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${fileVar}: cannot read ${file}: ${e.code ?? e.message}${e.code === 'EACCES' ? ' (the service user must be able to read it; LoadCredential= hands it over readable)' : ''}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`${fileVar}: ${file} is not a regular file`);
    if (st.size > MAX_SECRET_BYTES) throw new ConfigError(`${fileVar}: ${file} is ${st.size} bytes, more than any secret: is it the right file?`);
    const buf = Buffer.alloc(Number(st.size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    let text = buf.subarray(0, got).toString('utf8');
    buf.fill(0);
    text = text.replace(/\r?\n$/, '');
    if (text === '') throw new ConfigError(`${fileVar}: ${file} is empty`);
    if (/[\r\n]/.test(text)) throw new ConfigError(`${fileVar}: ${file} holds more than one line; it must hold the secret alone`);
    return { value: text, mode: st.mode };
  } finally {
    closeSync(fd);
  }
}

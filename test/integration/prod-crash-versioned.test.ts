// Crash safety of a versioned bucket and of uploads in progress (prod-crash.test.ts does the
// unversioned bucket): several clients run PUTs (inline and file-backed, plain, SSE-S3 and SSE-C),
// overwrites, CopyObject (of a current object or of an older version by id), DeleteObject with
// and without a version id, DeleteObjects, and multipart uploads whose parts arrive over several
// rounds; the daemon is SIGKILLed at a seeded moment (sometimes again during the background
// start-up scan that follows), restarted on the same data dir, and then:
//  - every acknowledged version is listed, in order, and reads back byte for byte by its id, unless
//    an operation in flight at the kill could have removed it;
//  - a version or marker nobody acknowledged is one an operation in flight at the kill was writing
//    (its content that operation's), and is newer than every acknowledged one;
//  - GET without a version id and ListObjectsV2 agree with the newest entry of ListObjectVersions;
//  - every acknowledged part of an upload in progress is listed with its ETag and size;
//  - after a clean stop: `s3d verify --deep` finds no problem, the start-up scan set nothing aside
//    in .s3d/orphans, and no data file is left that no record names (nor a record without its file).
// SEED (or S3D_CRASH_SEED) replays a run.

import t, { type Test } from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { prng, runS3d, startDaemon, TEST_KMS_SECRET } from '../helpers/daemon.js';
import { inspectDataDir } from '../helpers/files.js';
import { crashClient, readMd5 } from '../helpers/crash.js';
import { ssec, ssecCopy, sseWriteInput } from '../helpers/sse.js';
import { versionHelpers } from '../helpers/versions.js';

const SEED = Number(process.env.S3D_CRASH_SEED ?? 0x7e25_10ed);
const ROUNDS = 5;
const KEYS = 8;
const WORKERS = 5;
const KiB = 1024;
const MiB = 1024 * KiB;
const SSE_C_KEY = Buffer.alloc(32, 0x3c);

type Sse = 'none' | 'SSE-S3' | 'SSE-C';

/** Deterministic bytes for a seed (AES-CTR keystream). */
function bytesOf(size: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

interface Part {
  readonly size: number;
  readonly seed: number;
}

/** A body written to a key: the concatenation of its parts. */
interface Body {
  readonly parts: readonly Part[];
  readonly sse: Sse;
}

const md5s = new WeakMap<Body, string>();
function md5Of(b: Body): string {
  let h = md5s.get(b);
  if (h === undefined) {
    const hash = createHash('md5');
    for (const p of b.parts) hash.update(bytesOf(p.size, p.seed));
    h = hash.digest('hex');
    md5s.set(b, h);
  }
  return h;
}

/** One entry of a key's history: a version (its body) or a delete marker (null). */
interface Entry {
  readonly vid: string;
  readonly body: Body | null;
}

/** What an operation cut by the kill may have done to a key. */
type Pending = { kind: 'write'; body: Body } | { kind: 'marker' } | { kind: 'remove'; vid: string };

interface KeyState {
  /** The key's history as acknowledged, oldest first. */
  history: Entry[];
  pending: Pending[];
  busy: boolean;
}

interface Upload {
  readonly key: string;
  readonly id: string;
  readonly sse: Sse;
  /** Acknowledged parts: part number → part and its ETag. */
  parts: Map<number, Part & { etag: string }>;
  /** Part numbers whose upload was cut (the part may hold the new or the old bytes, or none). */
  pendingParts: Map<number, Part[]>;
  /** Complete or abort was cut: the upload may be gone. */
  maybeGone: boolean;
  busy: boolean;
}

/** Every version and marker of the bucket: key → entries newest first. */
async function listVersions(s3: S3Client, bucket: string): Promise<Map<string, Array<{ vid: string; marker: boolean; latest: boolean; size?: number }>>> {
  const out = new Map<string, Array<{ vid: string; marker: boolean; latest: boolean; stamp: number; size?: number }>>();
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  let n = 0;
  for (;;) {
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker, MaxKeys: 7 }));
    // Versions and markers come as two lists; the order within a key is the ids' (newest first),
    // which `n` keeps as the answer gave it once both lists are merged by that order.
    const rows = [
      ...(r.Versions ?? []).map((v) => ({ key: v.Key!, vid: v.VersionId!, marker: false, latest: v.IsLatest === true, size: v.Size })),
      ...(r.DeleteMarkers ?? []).map((m) => ({ key: m.Key!, vid: m.VersionId!, marker: true, latest: m.IsLatest === true })),
    ];
    for (const row of rows) {
      const list = out.get(row.key) ?? [];
      list.push({ ...row, stamp: n++ });
      out.set(row.key, list);
    }
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
  }
  // Newest first: s3d's version ids are UUIDv7, ordered by time (a marker and a version of one key
  // come in two lists, so the id's order is what ranks them).
  for (const list of out.values()) list.sort((a, b) => (a.vid < b.vid ? 1 : a.vid > b.vid ? -1 : 0));
  return out;
}

t.test(`SIGKILL during a versioned mixed load with uploads in progress, seed ${SEED}, ${ROUNDS} rounds`, async (t) => {
  t.comment(`seed ${SEED} (replay with S3D_CRASH_SEED=${SEED})`);
  const rnd = prng(SEED);
  let nextSeed = 1;
  const newBody = (sizes: number[], sse: Sse): Body => ({ sse, parts: sizes.map((size) => ({ size, seed: nextSeed++ })) });
  const keys = Array.from({ length: KEYS }, (_, i) => `v${i}/${i % 2 ? 'deep/' : ''}obj`);
  const model = new Map<string, KeyState>(keys.map((k) => [k, { history: [], pending: [], busy: false }]));
  const uploads: Upload[] = [];
  const env = { S3_KMS_SECRET_KEY: TEST_KMS_SECRET };
  let d = await startDaemon({ env, tls: true });
  const dataDir = d.dataDir;
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  const bucket = await versionHelpers(crashClient(d, WORKERS)).versionedBucket('crashv');
  /** SSE-C key rotations in place: a key's two versions sharing one data file. */
  const rotated: Array<{ key: string; vids: string[] }> = [];
  const stats = { acked: 0, cut: 0, scanKills: 0, versionsRemoved: 0, rotations: 0 };

  for (let round = 0; round < ROUNDS; round++) {
    const s3 = crashClient(d, WORKERS);
    let killed = false;
    let roundAcked = 0;
    const ops: Record<string, number> = {};
    const t0 = Date.now();

    /** Runs `op` on locked keys/uploads; `onAck` records its effect, `onCut` what it may have done. */
    const run = async <R>(name: string, lock: Array<{ busy: boolean }>, op: () => Promise<R>, onAck: (r: R) => void, onCut: () => void): Promise<void> => {
      for (const l of lock) l.busy = true;
      try {
        const r = await op();
        onAck(r);
        stats.acked++;
        roundAcked++;
        ops[name] = (ops[name] ?? 0) + 1;
      } catch (err) {
        if (!killed) t.fail(`${name} failed before the kill: ${(err as Error).message} at ${Date.now() - t0} ms`);
        onCut();
        stats.cut++;
      } finally {
        for (const l of lock) l.busy = false;
      }
    };

    const pickSize = (): number => {
      const r = rnd.next();
      if (r < 0.5) return rnd.int(100 * KiB); // inline in LMDB
      if (r < 0.9) return 130 * KiB + rnd.int(700 * KiB);
      return 2 * MiB + rnd.int(2 * MiB);
    };
    const pickSse = (): Sse => (rnd.bool(0.4) ? 'none' : rnd.bool(0.5) ? 'SSE-S3' : 'SSE-C');
    const freeKey = (): string | undefined => {
      const free = keys.filter((k) => !model.get(k)!.busy);
      return free.length === 0 ? undefined : rnd.pick(free);
    };
    /** A key's acknowledged versions (not markers) whose existence is certain. */
    const certainVersions = (k: string): Entry[] => {
      const s = model.get(k)!;
      return s.history.filter((e) => e.body !== null && !s.pending.some((p) => p.kind === 'remove' && p.vid === e.vid));
    };
    const pushed = (k: string, e: Entry): void => {
      const s = model.get(k)!;
      s.history.push(e);
    };

    const put = (key: string): Promise<void> => {
      const s = model.get(key)!;
      const body = newBody([pickSize()], pickSse());
      return run(
        'put',
        [s],
        () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytesOf(body.parts[0]!.size, body.parts[0]!.seed), ...sseWriteInput(body.sse, SSE_C_KEY) })),
        (r) => pushed(key, { vid: r.VersionId!, body }),
        () => s.pending.push({ kind: 'write', body }),
      );
    };

    const copy = (key: string): Promise<void> => {
      const s = model.get(key)!;
      // Some copies are of the key's current version onto itself (most when it is SSE-C), the rest of any version.
      const latest = s.history[s.history.length - 1];
      const self = latest?.body && rnd.bool(latest.body.sse === 'SSE-C' ? 0.8 : 0.3) ? latest : undefined;
      const sources = keys.filter((k) => !model.get(k)!.busy && certainVersions(k).length > 0);
      if (!self && sources.length === 0) return put(key);
      const src = self ? key : rnd.pick(sources);
      const srcState = model.get(src)!;
      const from = self ?? rnd.pick(certainVersions(src));
      // Onto its own current version a copy must change something (S3 refuses it otherwise):
      // encrypt it. SSE-C onto SSE-C rotates the key in place: the two versions share one file,
      // which must outlive the removal of either.
      const onItself = src === key && latest === from;
      const sse = onItself && from.body!.sse === 'SSE-C' && rnd.bool(0.8) ? 'SSE-C' : pickSse();
      const body: Body = { parts: from.body!.parts, sse: onItself && sse === 'none' ? 'SSE-S3' : sse };
      const lock = src === key ? [s] : [s, srcState];
      return run(
        'copy',
        lock,
        () =>
          s3.send(
            new CopyObjectCommand({
              Bucket: bucket,
              Key: key,
              CopySource: `${bucket}/${encodeURI(src)}?versionId=${from.vid}`,
              ...(from.body!.sse === 'SSE-C' ? ssecCopy(SSE_C_KEY) : {}),
              ...sseWriteInput(body.sse, SSE_C_KEY),
            }),
          ),
        (r) => {
          pushed(key, { vid: r.VersionId!, body });
          if (onItself && from.body!.sse === 'SSE-C' && body.sse === 'SSE-C') {
            stats.rotations++;
            rotated.push({ key, vids: [from.vid, r.VersionId!] });
          }
        },
        () => s.pending.push({ kind: 'write', body }),
      );
    };

    const del = (key: string): Promise<void> => {
      const s = model.get(key)!;
      return run(
        'delete',
        [s],
        () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
        (r) => pushed(key, { vid: r.VersionId!, body: null }),
        () => s.pending.push({ kind: 'marker' }),
      );
    };

    /** Removes a version by id: often one of two versions that share a file. */
    const delVersion = (key: string): Promise<void> => {
      const s = model.get(key)!;
      if (s.history.length === 0) return put(key);
      const shared = rotated.filter((r) => r.key === key && r.vids.every((v) => s.history.some((e) => e.vid === v)));
      const vid = shared.length > 0 && rnd.bool(0.7) ? rnd.pick(rnd.pick(shared).vids) : rnd.pick(s.history).vid;
      return run(
        'deleteVersion',
        [s],
        () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: vid })),
        () => {
          s.history = s.history.filter((e) => e.vid !== vid);
          stats.versionsRemoved++;
        },
        () => s.pending.push({ kind: 'remove', vid }),
      );
    };

    const delMany = (key: string): Promise<void> => {
      const batch = [key];
      for (const k of keys) if (!model.get(k)!.busy && !batch.includes(k) && batch.length < 4 && rnd.bool(0.3)) batch.push(k);
      // Each key: a marker, or one of its versions removed by id.
      const items = batch.map((k) => {
        const h = model.get(k)!.history;
        return { k, vid: h.length > 0 && rnd.bool(0.5) ? rnd.pick(h).vid : undefined };
      });
      const states = batch.map((k) => model.get(k)!);
      return run(
        'deleteObjects',
        states,
        () => s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: items.map((i) => ({ Key: i.k, ...(i.vid ? { VersionId: i.vid } : {}) })) } })),
        (r) => {
          if ((r.Errors ?? []).length > 0) t.fail(`DeleteObjects errors: ${JSON.stringify(r.Errors)}`);
          for (const i of items) {
            const s = model.get(i.k)!;
            if (i.vid) s.history = s.history.filter((e) => e.vid !== i.vid);
            else {
              const done = (r.Deleted ?? []).find((x) => x.Key === i.k && x.VersionId === undefined);
              pushed(i.k, { vid: done?.DeleteMarkerVersionId ?? '?', body: null });
            }
          }
        },
        () => {
          for (const i of items) model.get(i.k)!.pending.push(i.vid ? { kind: 'remove', vid: i.vid } : { kind: 'marker' });
        },
      );
    };

    const createUpload = (key: string): Promise<void> => {
      const sse = pickSse();
      return run(
        'createUpload',
        [],
        () => s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...sseWriteInput(sse, SSE_C_KEY) })),
        (r) => void uploads.push({ key, id: r.UploadId!, sse, parts: new Map(), pendingParts: new Map(), maybeGone: false, busy: false }),
        () => undefined, // an upload nobody knows the id of: the stale-upload expiry's, not ours
      );
    };

    const uploadPart = (u: Upload): Promise<void> => {
      // Part 1 and 2 are 5 MiB (the minimum of a part that is not the last), part 3 small.
      // Mostly the next part number, sometimes one again (a retried part replaces the earlier one).
      const n = u.parts.size < 3 && rnd.bool(0.8) ? u.parts.size + 1 : 1 + rnd.int(Math.max(1, u.parts.size));
      const part: Part = { size: n === 3 ? 1 + rnd.int(300 * KiB) : 5 * MiB, seed: nextSeed++ };
      return run(
        'uploadPart',
        [u],
        () => s3.send(new UploadPartCommand({ Bucket: bucket, Key: u.key, UploadId: u.id, PartNumber: n, Body: bytesOf(part.size, part.seed), ...(u.sse === 'SSE-C' ? ssec(SSE_C_KEY) : {}) })),
        (r) => {
          u.parts.set(n, { ...part, etag: r.ETag! });
          u.pendingParts.delete(n);
        },
        () => u.pendingParts.set(n, [...(u.pendingParts.get(n) ?? []), part]),
      );
    };

    const completeUpload = (u: Upload): Promise<void> => {
      const s = model.get(u.key)!;
      const nums = [...u.parts.keys()].sort((a, b) => a - b);
      const body: Body = { parts: nums.map((n) => u.parts.get(n)!), sse: u.sse };
      return run(
        'complete',
        [u, s],
        () =>
          s3.send(
            new CompleteMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.id, MultipartUpload: { Parts: nums.map((n) => ({ PartNumber: n, ETag: u.parts.get(n)!.etag })) } }),
          ),
        (r) => {
          pushed(u.key, { vid: r.VersionId!, body });
          uploads.splice(uploads.indexOf(u), 1);
        },
        () => {
          u.maybeGone = true;
          s.pending.push({ kind: 'write', body });
        },
      );
    };

    const abortUpload = (u: Upload): Promise<void> =>
      run(
        'abort',
        [u],
        () => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.id })),
        () => void uploads.splice(uploads.indexOf(u), 1),
        () => (u.maybeGone = true),
      );

    const uploadOp = (key: string): Promise<void> => {
      const open = uploads.filter((u) => !u.busy && !u.maybeGone && u.pendingParts.size === 0);
      if (open.length === 0 || (uploads.length < 3 && rnd.bool(0.3))) return createUpload(key);
      const u = rnd.pick(open);
      // Complete when the part numbers run from 1 without a gap (all but the last are 5 MiB).
      const nums = [...u.parts.keys()].sort((a, b) => a - b);
      const completable = nums.length > 0 && nums.every((n, i) => n === i + 1) && !model.get(u.key)!.busy;
      const r = rnd.next();
      if (completable && r < 0.4) return completeUpload(u);
      if (r > 0.95) return abortUpload(u);
      return uploadPart(u);
    };

    const worker = async (): Promise<void> => {
      while (!killed) {
        const key = freeKey();
        if (key === undefined) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        const r = rnd.next();
        const pair = rotated.find((p) => !model.get(p.key)!.busy);
        if (pair && rnd.bool(0.3)) await delVersion(pair.key);
        else if (r < 0.35) await put(key);
        else if (r < 0.5) await copy(key);
        else if (r < 0.62) await del(key);
        else if (r < 0.72) await delVersion(key);
        else if (r < 0.8) await delMany(key);
        else await uploadOp(key);
      }
    };

    const killRnd = prng(SEED + 7919 * (round + 1));
    const killAtAcks = 6 + killRnd.int(30);
    const killDelay = killRnd.int(250);
    const load = Promise.all(Array.from({ length: WORKERS }, () => worker()));
    while (roundAcked < killAtAcks && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, killDelay));
    d.proc.kill('SIGKILL');
    killed = true;
    await new Promise<void>((r) => (d.proc.exitCode !== null || d.proc.signalCode !== null ? r() : d.proc.once('exit', () => r())));
    await load;
    s3.destroy();
    t.comment(`round ${round}: killed ${killDelay} ms after ack #${killAtAcks} (${Date.now() - t0} ms); acked ${JSON.stringify(ops)}`);

    // Every other round, kill it again while its background start-up scan runs.
    d = await startDaemon({ env, tls: true, dataDir });
    if (round % 2 === 1) {
      await new Promise((r) => setTimeout(r, killRnd.int(40)));
      await d.stop('SIGKILL');
      stats.scanKills++;
      d = await startDaemon({ env, tls: true, dataDir });
    }
    const scanned = d.waitForLog((l) => l.msg === 'start-up scan for unreferenced data files finished', 30_000);
    const reader = crashClient(d, WORKERS);
    await checkVersions(t, reader, bucket, round, keys, model);
    await checkUploads(t, reader, bucket, round, uploads);
    reader.destroy();
    await scanned;

    t.equal(await d.stop(), 0, `round ${round}: clean stop`);
    const v = await runS3d(['verify', dataDir, '--deep'], { S3_CRYPTO_WORKERS: '2', ...env });
    t.equal(v.code, 0, `round ${round}: s3d verify --deep exits 0`);
    t.same(
      v.stdout.split('\n').filter((l) => l.startsWith('PROBLEM ')),
      [],
      `round ${round}: s3d verify --deep finds no problem`,
    );
    t.notOk(existsSync(join(dataDir, '.s3d', 'orphans')), `round ${round}: the start-up scan set no file aside`);
    const dir = await inspectDataDir(dataDir);
    t.same(dir.temp, [], `round ${round}: no temp files`);
    t.same(dir.orphans, [], `round ${round}: no data file that no record names`);
    t.same(dir.missing, [], `round ${round}: no record whose data file is missing`);
    // The next round's daemon (after the last round none: it would only be started and stopped).
    if (round < ROUNDS - 1) d = await startDaemon({ env, tls: true, dataDir });
  }
  t.ok(stats.cut > 0, `kills cut operations (${stats.cut}); ${stats.acked} acknowledged (${stats.rotations} SSE-C rotations in place, ${stats.versionsRemoved} versions removed by id); ${stats.scanKills} kills during the start-up scan`);
});

/** Checks every key against the model (see the file's comment) and makes the model what was found. */
async function checkVersions(t: Test, s3: S3Client, bucket: string, round: number, keys: string[], model: Map<string, KeyState>): Promise<void> {
  const listed = await listVersions(s3, bucket);
  const current: string[] = [];
  for (const key of keys) {
    const s = model.get(key)!;
    const rows = listed.get(key) ?? [];
    const fail = (msg: string): void => void t.fail(`round ${round}: ${key}: ${msg} (history ${JSON.stringify(s.history.map((e) => [e.vid, e.body ? md5Of(e.body) : 'marker']))}, pending ${JSON.stringify(s.pending)}, listed ${JSON.stringify(rows)})`);
    const known = new Map(s.history.map((e) => [e.vid, e]));
    // Acknowledged entries: all there, in their order, unless a cut removal may have taken one.
    const listedKnown = rows.filter((r) => known.has(r.vid)).map((r) => r.vid);
    const mayGo = new Set(s.pending.flatMap((p) => (p.kind === 'remove' ? [p.vid] : [])));
    for (const e of s.history) if (!listedKnown.includes(e.vid) && !mayGo.has(e.vid)) fail(`acknowledged ${e.body ? 'version' : 'marker'} ${e.vid} is gone`);
    const order = s.history.map((e) => e.vid).filter((v) => listedKnown.includes(v)).reverse();
    if (JSON.stringify(order) !== JSON.stringify(listedKnown)) fail('acknowledged versions listed out of order');
    // Entries nobody acknowledged: each from a cut write or delete, newer than every acknowledged one.
    const writes = s.pending.flatMap((p) => (p.kind === 'write' ? [p.body] : []));
    let markers = s.pending.filter((p) => p.kind === 'marker').length;
    const next: Entry[] = [];
    let seenKnown = false;
    for (const r of rows) {
      let body: Body | null;
      if (known.has(r.vid)) {
        seenKnown = true;
        body = known.get(r.vid)!.body;
        if ((body === null) !== r.marker) fail(`${r.vid} changed kind`);
      } else {
        if (seenKnown) fail(`unacknowledged ${r.vid} is older than an acknowledged version`);
        if (r.marker) {
          if (markers-- <= 0) fail(`delete marker ${r.vid} nobody was writing`);
          body = null;
        } else {
          const got = await readMd5(s3, bucket, key, SSE_C_KEY, r.vid);
          const i = writes.findIndex((b) => md5Of(b) === got);
          if (i < 0) {
            fail(`version ${r.vid} holds ${got}, which no write in flight was writing`);
            continue;
          }
          body = writes.splice(i, 1)[0]!;
        }
      }
      if (body !== null && known.has(r.vid)) {
        const got = await readMd5(s3, bucket, key, SSE_C_KEY, r.vid);
        if (got !== md5Of(body)) fail(`version ${r.vid} holds ${got}, not its acknowledged ${md5Of(body)}`);
      }
      next.unshift({ vid: r.vid, body });
    }
    if (rows.length > 0 && !rows[0]!.latest) fail('the newest entry is not IsLatest');
    if (rows.slice(1).some((r) => r.latest)) fail('an older entry is IsLatest');
    const newest = rows[0];
    const cur = await readMd5(s3, bucket, key, SSE_C_KEY);
    const want = newest && !newest.marker ? md5Of(next[next.length - 1]!.body!) : null;
    if (cur !== want) fail(`GET without a version id reads ${cur}, the newest version holds ${want}`);
    if (newest && !newest.marker) current.push(key);
    s.history = next;
    s.pending = [];
  }
  const l: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 3 }));
    l.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  t.same(l.sort(), current.sort(), `round ${round}: ListObjectsV2 lists the keys whose newest entry is a version`);
  t.pass(`round ${round}: versions checked`);
}

/** Every acknowledged part of every upload in progress is listed with its ETag and size. */
async function checkUploads(t: Test, s3: S3Client, bucket: string, round: number, uploads: Upload[]): Promise<void> {
  for (const u of [...uploads]) {
    let parts;
    try {
      parts = (await s3.send(new ListPartsCommand({ Bucket: bucket, Key: u.key, UploadId: u.id, ...(u.sse === 'SSE-C' ? ssec(SSE_C_KEY) : {}) }))).Parts ?? [];
    } catch (err) {
      if (u.maybeGone && (err as { name?: string }).name === 'NoSuchUpload') {
        uploads.splice(uploads.indexOf(u), 1);
        continue;
      }
      t.fail(`round ${round}: upload ${u.id} of ${u.key}: ${(err as Error).message}`);
      continue;
    }
    u.maybeGone = false;
    for (const p of parts) {
      const n = p.PartNumber!;
      const acked = u.parts.get(n);
      const cut = u.pendingParts.get(n) ?? [];
      if (acked && p.ETag === acked.etag && p.Size === acked.size) continue;
      // A cut upload of this part: its ETag is unknown; learn it (MD5 of unencrypted/SSE-S3 parts,
      // random for SSE-C, so only the size can tell it then).
      const found = cut.find((c) => c.size === p.Size);
      if (!found) {
        t.fail(`round ${round}: upload ${u.id} part ${n}: listed ${p.ETag}/${p.Size}, acknowledged ${JSON.stringify(acked)}, cut ${JSON.stringify(cut)}`);
        continue;
      }
      u.parts.set(n, { ...found, etag: p.ETag! });
    }
    for (const [n, p] of u.parts) if (!parts.some((x) => x.PartNumber === n)) t.fail(`round ${round}: upload ${u.id}: acknowledged part ${n} (${p.etag}) is gone`);
    u.pendingParts.clear();
  }
  t.pass(`round ${round}: uploads checked`);
}

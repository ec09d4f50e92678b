// The native CRC32C and CRC64NVME binding (native/checksums.c): built and loaded wherever a C
// compiler exists (CI installs one), used by checksumHasher, and equal to @aws-sdk/checksums'
// JavaScript ones on the catalogue check values and on random buffers of many lengths fed in
// random chunks (empty ones too) from unaligned offsets, on its accelerated paths (SSE4.2 crc32,
// PCLMULQDQ folding) and on its table paths alike. The comparisons load the binding file directly,
// past the load-time check, so a wrong binding fails them rather than only being left unused.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { checksumHasher, crcImplementation, useCrcImplementation, type Hasher } from '../../../../daemon/auth/payload.js';
import {
  NativeCrc32c,
  NativeCrc64Nvme,
  knownAnswerProblemSync,
  loadNativeCrc,
  nativeCrcPath,
  portableView,
  type NativeCrc,
} from '../../../../daemon/auth/crc-native.js';

const hasCompiler = spawnSync('cc', ['--version'], { stdio: 'ignore' }).error === undefined;
const built = existsSync(nativeCrcPath());
/** The binding as the file gives it, without the load-time check. */
const raw = built ? (createRequire(import.meta.url)(nativeCrcPath()) as NativeCrc) : undefined;
const noBinding = built ? false : 'the checksums binding was not built';

const hex = async (h: Hasher): Promise<string> => Buffer.from(await h.digest()).toString('hex');

/** Feeds `data` to `h` in random chunks, one in four of them empty. */
function feed(h: Hasher, data: Uint8Array, cuts: Uint8Array, scale: number): void {
  for (let at = 0, i = 0; at < data.length || i === 0; i++) {
    const n = cuts[i % cuts.length]! % 4 === 0 ? 0 : 1 + cuts[i % cuts.length]! * scale;
    h.update(data.subarray(at, Math.min(data.length, at + n)));
    at = Math.min(data.length, at + n);
  }
}

t.test('the binding is built by npm run build, loaded and used by checksumHasher where a C compiler exists', { skip: hasCompiler ? false : 'no C compiler (cc) on this machine; .ci/run installs one' }, async (t) => {
  const impl = crcImplementation();
  t.equal(impl.native, true, `native CRCs in use (${impl.reason ?? impl.file})`);
  t.equal(impl.file, nativeCrcPath());
  t.ok(checksumHasher('CRC32C') instanceof NativeCrc32c, 'CRC32C hashers are native');
  t.ok(checksumHasher('CRC64NVME') instanceof NativeCrc64Nvme, 'CRC64NVME hashers are native');
  const script = new URL('../../../../../scripts/prepare-native.mjs', import.meta.url);
  const rebuilt = spawnSync(process.execPath, [script.pathname], { encoding: 'utf8' });
  t.equal(rebuilt.status, 0, rebuilt.stderr);
  t.match(rebuilt.stdout, /^prepare-native: \/.*checksums\.node$/m, 'the build step compiles it and its known-answer check passes');
});

t.test('the catalogue check values of "123456789", native and JavaScript, as base64 of the big-endian value', async (t) => {
  const check = Buffer.from('123456789');
  for (const which of crcImplementation().native ? (['native', 'js'] as const) : (['js'] as const)) {
    const previous = useCrcImplementation(which);
    try {
      const a = checksumHasher('CRC32C');
      a.update(check);
      const b = checksumHasher('CRC64NVME');
      b.update(check);
      const [da, db] = [await a.digest(), await b.digest()];
      t.ok(da instanceof Uint8Array && da.length === 4 && db instanceof Uint8Array && db.length === 8, `${which}: 4 and 8 bytes`);
      t.equal(Buffer.from(da).toString('hex'), 'e3069283', `${which}: CRC32C`);
      t.equal(Buffer.from(db).toString('hex'), 'ae8b14860a799888', `${which}: CRC64NVME`);
      t.equal(Buffer.from(da).toString('base64'), '4waSgw==', `${which}: the header value of CRC32C`);
      const empty = checksumHasher('CRC64NVME');
      empty.update(new Uint8Array(0));
      t.equal(await hex(empty), '0000000000000000', `${which}: CRC64NVME of nothing`);
      t.equal(await hex(checksumHasher('CRC32C')), '00000000', `${which}: CRC32C of nothing`);
    } finally {
      useCrcImplementation(previous);
    }
  }
});

t.test('native equals @aws-sdk/checksums over random lengths, chunkings and offsets, accelerated and table paths', { skip: noBinding }, async (t) => {
  const paths: Array<[string, NativeCrc]> = [['dispatching', raw!], ['tables', portableView(raw!)]];
  t.comment(`crc32c instruction: ${raw!.crc32cHardware}, crc64nvme PCLMULQDQ: ${raw!.crc64nvmeHardware}`);
  const lengths = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 127, 128, 129, 191, 192, 255, 256, 1000, 4096, 65535, 65536, 65537, 262_144 + 13, 1_000_003];
  for (let i = 0; i < 40; i++) lengths.push(randomBytes(2).readUInt16LE(0) % 3000);
  let compared = 0;
  for (const length of lengths) {
    const offset = length % 13;
    const backing = randomBytes(length + 32);
    const data = new Uint8Array(backing.buffer, backing.byteOffset + offset, length);
    const ref32 = new Crc32c();
    ref32.update(data);
    const ref64 = new Crc64Nvme();
    ref64.update(data);
    const [e32, e64] = [await hex(ref32), await hex(ref64)];
    for (const [name, binding] of paths) {
      for (const chunking of ['whole', 'small chunks', 'large chunks'] as const) {
        const a = new NativeCrc32c(binding);
        const b = new NativeCrc64Nvme(binding);
        if (chunking === 'whole') {
          a.update(data);
          b.update(data);
        } else {
          const cuts = randomBytes(29);
          const scale = chunking === 'small chunks' ? 1 : 509;
          feed(a, data, cuts, scale);
          feed(b, data, cuts, scale);
        }
        const [g32, g64] = [await hex(a), await hex(b)];
        if (g32 !== e32) t.fail(`CRC32C, ${name}, ${length} bytes at offset ${offset}, ${chunking}: ${g32}, not ${e32}`);
        if (g64 !== e64) t.fail(`CRC64NVME, ${name}, ${length} bytes at offset ${offset}, ${chunking}: ${g64}, not ${e64}`);
        compared += 2;
      }
    }
  }
  t.pass(`${compared} digests equal`);
  // A Buffer and a Uint8Array over the same bytes give the same; the input is not changed.
  const bytes = randomBytes(777);
  const copy = Buffer.from(bytes);
  const h1 = new NativeCrc64Nvme(raw!);
  h1.update(bytes);
  const h2 = new NativeCrc64Nvme(raw!);
  h2.update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  t.equal(await hex(h1), await hex(h2));
  t.ok(bytes.equals(copy), 'the data is only read');
});

t.test('hashers fed in turns, as concurrent request bodies are, each keep their own CRC64NVME register', { skip: noBinding }, async (t) => {
  const bodies = [randomBytes(70_000), randomBytes(5_000), randomBytes(200)];
  const alone = await Promise.all(bodies.map(async (b) => {
    const h = new NativeCrc64Nvme(raw!);
    h.update(b);
    return hex(h);
  }));
  const hashers = bodies.map(() => new NativeCrc64Nvme(raw!));
  for (let at = 0; at < 70_000; at += 1_000) {
    bodies.forEach((b, i) => hashers[i]!.update(b.subarray(Math.min(at, b.length), Math.min(at + 1_000, b.length))));
  }
  for (let i = 0; i < bodies.length; i++) {
    const js = new Crc64Nvme();
    js.update(bodies[i]!);
    t.equal(await hex(hashers[i]!), alone[i], `body ${i} in turns = alone`);
    t.equal(alone[i], Buffer.from(await js.digest()).toString('hex'), `body ${i} = @aws-sdk/checksums`);
  }
});

t.test('bad arguments are refused with a TypeError, never a crash', { skip: noBinding }, async (t) => {
  const b = raw!;
  t.throws(() => b.crc32c(0, 'abc' as unknown as Uint8Array), TypeError);
  t.throws(() => b.crc32c(0, new Uint16Array(4) as unknown as Uint8Array), TypeError);
  t.throws(() => b.crc32c('x' as unknown as number, new Uint8Array(4)), TypeError);
  t.throws(() => (b.crc32c as unknown as (s: number) => number)(0), TypeError);
  t.throws(() => b.crc64nvme(new Uint32Array(3), new Uint8Array(4)), TypeError);
  t.throws(() => b.crc64nvme([1, 2] as unknown as Uint32Array, new Uint8Array(4)), TypeError);
  t.throws(() => b.crc64nvme(new Uint32Array(2), new DataView(new ArrayBuffer(4)) as unknown as Uint8Array), TypeError);
});

t.test('the load-time check catches a wrong binding; S3_NATIVE_CRC=off and a missing file leave the JavaScript ones', { skip: noBinding }, async (t) => {
  t.equal(knownAnswerProblemSync(raw!), undefined, 'the real binding passes');
  const dropsLastByte: NativeCrc = { ...raw!, crc32c: (s, d) => raw!.crc32c(s, d.subarray(0, Math.max(0, d.length - 1))) };
  t.match(knownAnswerProblemSync(dropsLastByte), /CRC32C of 9 bytes/);
  const badTables: NativeCrc = { ...raw!, crc64nvmePortable: (s, d) => raw!.crc64nvmePortable(s, d.length > 16 ? d.subarray(1) : d) };
  t.match(knownAnswerProblemSync(badTables), /CRC64NVME \(tables\)/, 'the table paths are checked too');
  for (const off of ['off', 'false', '0', ' OFF ']) {
    const r = loadNativeCrc(nativeCrcPath(), { S3_NATIVE_CRC: off });
    t.equal(r.binding, undefined);
    t.equal(r.byDesign, true);
    t.match(r.reason, /S3_NATIVE_CRC=/);
  }
  const missing = loadNativeCrc('/nonexistent/checksums.node', {});
  t.equal(missing.binding, undefined);
  t.match(missing.reason, /was not built/);
  t.ok(loadNativeCrc(nativeCrcPath(), { S3_NATIVE_CRC: 'on' }).binding, 'on loads it');
});

t.test('the binding loads and computes in a worker thread too (its tables are made once per process)', { skip: noBinding }, async (t) => {
  const url = new URL('../../../../daemon/auth/crc-native.js', import.meta.url).href;
  const code = `
    import { parentPort } from 'node:worker_threads';
    const { loadNativeCrc, NativeCrc32c, NativeCrc64Nvme } = await import(${JSON.stringify(url)});
    const { binding, reason } = loadNativeCrc();
    if (!binding) throw new Error(reason);
    const a = new NativeCrc32c(binding); a.update(Buffer.from('123456789'));
    const b = new NativeCrc64Nvme(binding); b.update(Buffer.from('123456789'));
    parentPort.postMessage(Buffer.from(await a.digest()).toString('hex') + Buffer.from(await b.digest()).toString('hex'));`;
  const results = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<string>((resolve, reject) => {
          const w = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`));
          w.once('message', (m: string) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  t.same(results, ['e3069283ae8b14860a799888', 'e3069283ae8b14860a799888']);
});

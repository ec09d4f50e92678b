// docs/kms.md's whole-bucket rotation loop, run by bash with `aws` a function that prints a given
// listing and records the update calls. `--query … --output text` prints `None` for a bucket
// without versions, and for each page of the listing without one (a page of delete markers): the
// loop passed it on as a version id with an empty key (the CLI refused it, `Invalid length for
// parameter Key`; run against a --dev daemon).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/root.js';

/** The shell block of docs/kms.md that lists a bucket's versions. */
function rotationLoop(): string {
  const blocks = [...readFileSync(join(ROOT, 'docs/kms.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const loop = blocks.filter((b) => b.includes('list-object-versions') && b.includes('update-object-encryption'));
  if (loop.length !== 1) throw new Error(`docs/kms.md: ${loop.length} rotation loops`);
  return loop[0]!;
}

/** The update calls the loop makes for `listing` (what `aws … --output text` would print), as [version, key]. */
function updates(listing: string): Array<[string, string]> {
  const stub = `aws() {
  case " $* " in
    *" list-object-versions "*) printf '%s' "$LISTING" ;;
    *" update-object-encryption "*)
      while [ $# -gt 0 ]; do case "$1" in --key) k=$2 ;; --version-id) v=$2 ;; esac; shift; done
      printf '%s\\0%s\\0' "$v" "$k" ;;
  esac
}
`;
  const r = spawnSync('bash', ['-c', stub + rotationLoop()], { env: { PATH: process.env.PATH, LISTING: listing }, encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`bash: ${r.status}: ${r.stderr}`);
  const parts = r.stdout.split('\0').slice(0, -1);
  const out: Array<[string, string]> = [];
  for (let i = 0; i < parts.length; i += 2) out.push([parts[i]!, parts[i + 1]!]);
  return out;
}

t.test('an empty bucket: no update', async (t) => {
  t.strictSame(updates('None\n'), []);
});

t.test('keys with spaces, and a page without versions between two with', async (t) => {
  t.strictSame(updates('v1\ta b.txt\nNone\nv2\t lead and trail \nnull\tplain  two  spaces\n'), [
    ['v1', 'a b.txt'],
    ['v2', ' lead and trail '],
    ['null', 'plain  two  spaces'],
  ]);
});

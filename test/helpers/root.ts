// The project root, found from this file whether the tests run from their TypeScript sources
// (test/helpers) or from the build (dist/test/helpers): the nearest directory up the tree that
// holds package.json. Data files (test/vectors, test/fixtures/*.py, systemd/) are not copied
// into dist, so tests name them from here.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the project, e.g. projectPath('test/vectors/dare-v2.json'). */
export function projectPath(rel: string): string {
  return join(ROOT, rel);
}

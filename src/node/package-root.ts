// The folder holding the extension's package.json (and python/, examples/), found by walking up
// from this file: the compiled tree (out/src/node) and the bundles (dist/) sit at different depths.
import * as fs from 'node:fs';
import * as path from 'node:path';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'dpo-studio') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no dpo-studio package.json above ${start}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);

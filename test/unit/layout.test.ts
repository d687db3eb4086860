// The process boundaries of the design, checked on the source: the engine never imports vscode,
// the protocol is a leaf, the extension host never loads tfjs or engine code in-process.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '../../../src');

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:import[^'"]*from\s*|import\s*\(\s*|require\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) found.push(m[1]);
  return found;
}

function violations(folder: string, forbidden: (spec: string, file: string) => boolean): string[] {
  return sources(path.join(SRC, folder)).flatMap((f) => imports(f).filter((s) => forbidden(s, f)).map((s) => `${path.relative(SRC, f)} imports ${s}`));
}

const resolvesInto = (spec: string, file: string, folder: string) =>
  spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(path.join(SRC, folder));

describe('process boundaries', () => {
  it('the engine and the CLI never import vscode', () => {
    assert.deepEqual([...violations('engine', (s) => s === 'vscode'), ...violations('cli', (s) => s === 'vscode')], []);
  });

  it('the protocol is a leaf: no vscode, tfjs, or code from other folders', () => {
    assert.deepEqual(violations('protocol', (s, f) => s === 'vscode' || s.startsWith('@tensorflow') || (s.startsWith('.') && !resolvesInto(s, f, 'protocol'))), []);
  });

  it('the extension host never loads tfjs or engine modules in-process', () => {
    assert.deepEqual(violations('extension', (s, f) => s.startsWith('@tensorflow') || resolvesInto(s, f, 'engine')), []);
  });

  it('the scan finds imports (guards against a check that cannot fail)', () => {
    assert.ok(imports(path.join(SRC, 'engine/backend.ts')).includes('@tensorflow/tfjs'));
    assert.ok(imports(path.join(SRC, 'extension/extension.ts')).includes('vscode'));
  });
});

// Loads the language-neutral cases of test/conformance/<rule>/*.json, which the TypeScript tests here
// and python/tests/test_conformance.py both run against their own engine: a drift fails one of them.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root, found from this compiled file (out/test/unit/conformance) or its source. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'test', 'conformance'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`test/conformance not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

export interface CaseFile<C> {
  file: string;
  rule: string;
  cases: (C & { name: string })[];
}

/** Every case file of one rule, in name order; a rule folder without cases is an error, not a pass. */
export function loadCases<C>(rule: string): CaseFile<C>[] {
  const dir = path.join(repoRoot(), 'test', 'conformance', rule);
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`${dir}: no case files`);
  return files.map((f) => {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CaseFile<C>;
    if (!Array.isArray(doc.cases) || doc.cases.length === 0) throw new Error(`${path.join(dir, f)}: no cases`);
    return { ...doc, file: path.join(dir, f) };
  });
}

/** A line given as `line` (text) or `line_parts` ([part, count], a part being text or {hex}), as the engine's reader decodes it. */
export function lineOf(c: { line?: string; line_parts?: [string | { hex: string }, number][] }): string {
  if (c.line !== undefined) return c.line;
  const bufs = (c.line_parts ?? []).map(([part, n]) =>
    Buffer.from(typeof part === 'string' ? part.repeat(n) : part.hex.repeat(n), typeof part === 'string' ? 'utf8' : 'hex'),
  );
  return new TextDecoder('utf-8').decode(Buffer.concat(bufs));
}

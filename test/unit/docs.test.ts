// The manual in docs/ documents every command, setting, run-config field and `dpo` subcommand; the README
// keeps the two set-up commands; every relative link in README.md and docs/*.md reaches a file and heading.
// Not a spell or style check: prose is only held to a line length.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKEND_NAMES, CONFIG_FIELDS, CONFIG_SCHEMA, DEFAULT_CONFIG } from '../../src/protocol';
import { buildProgram } from '../../src/cli/main';

const ROOT = path.resolve(__dirname, '../../..');
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const README = read('README.md');
const DOC_PAGES = fs
  .readdirSync(path.join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);
const MARKDOWN = ['README.md', ...DOC_PAGES];
const PKG = JSON.parse(read('package.json'));

/** Markdown reads a line break inside a paragraph as a space: a bold name may be wrapped. */
const flat = (text: string): string => text.replace(/\s+/g, ' ');

/** The text outside fenced code blocks: links and line lengths are checked there only. */
function outsideFences(text: string): string[] {
  let inFence = false;
  return text.split('\n').filter((line) => {
    if (line.startsWith('```')) inFence = !inFence;
    return !inFence && !line.startsWith('```');
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2… for repeats. */
function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of outsideFences(text)) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

describe('README', () => {
  it('starts with the two set-up commands, and .ci/run runs exactly the test one', () => {
    const block = /```sh\n([\s\S]*?)```/
      .exec(README)![1]
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    assert.deepEqual(block, ['npm ci && npm run demo', 'npm ci && npm test']);
    const ci = read('.ci/run');
    assert.ok(
      ci.split('\n').some((l) => l.trim() === 'npm ci && npm test'),
      '.ci/run calls the README test command',
    );
  });

  it('stays a newcomer page (the manual is in docs/) and links every docs page through the index', () => {
    const lines = README.split('\n').length;
    assert.ok(lines <= 150, `README.md has ${lines} lines; move the detail to docs/`);
    assert.ok(README.includes('](docs/README.md)'), 'README links the manual index docs/README.md');
    const index = read('docs/README.md');
    for (const page of DOC_PAGES.filter((p) => p !== 'docs/README.md')) {
      assert.ok(index.includes(`](${path.basename(page)})`), `docs/README.md links ${page}`);
    }
  });
});

describe('the manual in docs/', () => {
  it('documents every run-config field in docs/config.md', () => {
    const page = read('docs/config.md');
    for (const field of Object.keys(CONFIG_FIELDS)) assert.ok(page.includes(`| \`${field}\` |`), field);
  });

  it('documents every contributed command and setting in docs/extension.md', () => {
    const page = read('docs/extension.md');
    for (const c of PKG.contributes.commands) assert.ok(flat(page).includes(`**DPO: ${c.title}**`), c.title);
    for (const key of Object.keys(PKG.contributes.configuration.properties)) assert.ok(page.includes(`| \`${key}\` |`), key);
  });

  it('names only commands the extension contributes (the README tour included)', () => {
    const titles = new Set(PKG.contributes.commands.map((c: { title: string }) => c.title));
    for (const file of MARKDOWN) {
      for (const m of flat(read(file)).matchAll(/\*\*DPO: ([^*]+)\*\*/g)) assert.ok(titles.has(m[1]), `${file}: no command "DPO: ${m[1]}"`);
    }
  });

  it('documents every dpo subcommand in docs/cli.md', () => {
    const page = read('docs/cli.md');
    for (const cmd of buildProgram().commands.map((c) => c.name())) assert.ok(page.includes(`### \`dpo ${cmd}\``), `a heading for dpo ${cmd}`);
  });

  it('every relative link reaches an existing file, and its heading when it names one', () => {
    const checked: string[] = [];
    for (const file of MARKDOWN) {
      const prose = outsideFences(read(file))
        .join('\n')
        .replace(/`[^`\n]*`/g, '');
      for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/i.test(target)) continue;
        const [rel, anchor] = target.split('#');
        const abs = rel ? path.resolve(path.dirname(path.join(ROOT, file)), rel) : path.join(ROOT, file);
        assert.ok(fs.existsSync(abs), `${file}: link ${target} names a missing file`);
        if (anchor && abs.endsWith('.md')) {
          assert.ok(anchorsOf(fs.readFileSync(abs, 'utf8')).has(anchor), `${file}: link ${target} names a missing heading`);
        }
        checked.push(target);
      }
    }
    assert.ok(checked.length > 20, `only ${checked.length} relative links found: is the link pattern still right?`);
  });

  it('keeps prose lines under 200 characters (tables and code blocks aside)', () => {
    for (const file of MARKDOWN) {
      for (const line of outsideFences(read(file))) {
        if (line.trimStart().startsWith('|')) continue;
        assert.ok(line.length <= 200, `${file}: a ${line.length}-character line: ${line.slice(0, 60)}…`);
      }
    }
  });
});

describe('schemas and settings', () => {
  it("the contributed JSON schema is the engine's config schema", () => {
    const file = JSON.parse(read('schemas/dpo-config.schema.json'));
    assert.deepEqual(file, JSON.parse(JSON.stringify(CONFIG_SCHEMA)), 'regenerate schemas/dpo-config.schema.json from CONFIG_SCHEMA');
  });

  it("the settings' defaults agree with the engine's defaults", () => {
    assert.equal(PKG.contributes.configuration.properties['dpo.beta'].default, DEFAULT_CONFIG.beta);
    assert.deepEqual(PKG.contributes.configuration.properties['dpo.backend'].enum, ['auto', ...BACKEND_NAMES]);
  });
});

// Generated bad inputs for the fault suite: data lines, run configs and model folders. Each case runs
// `dpo train` with a time limit and must end in a clear error naming the file and the line or field.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FIELDS } from '../../src/protocol';
import { makeTinyModel, TINY_MODEL_DEFAULTS } from '../../src/engine/model/tiny';
import { DPO, Outcome, escape, judgeError, runNode } from './harness';
import { EngineUnderTest } from './engines';

export interface Fixture {
  root: string;
  model: string;
  data: string;
}

const TINY = { ...TINY_MODEL_DEFAULTS, layers: 1, dModel: 16, heads: 2, maxPositions: 32, seed: 1 };
const good = (i: number) => ({ prompt: `Q${i}: yes?`, chosen: ' yes.', rejected: ' NO!!' });
const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

export function makeFixture(root: string): Fixture {
  const model = path.join(root, 'model');
  makeTinyModel(model, TINY);
  const data = path.join(root, 'pairs.jsonl');
  // Line 17's prompt is the classic input of catastrophic backtracking for (a+)+$: the model cases' hostile tokenizers meet it.
  fs.writeFileSync(data, jsonl([...Array.from({ length: 16 }, (_, i) => good(i)), { ...good(16), prompt: 'a'.repeat(40) + '!' }]));
  return { root, model, data };
}

let runCount = 0;
const freshOut = (f: Fixture) => path.join(f.root, 'runs', `r${++runCount}`);
const trainArgs = (f: Fixture, e: EngineUnderTest, extra: string[]) => [
  DPO,
  'train',
  '--out',
  freshOut(f),
  '--max-steps',
  '1',
  '--eval-fraction',
  '0',
  '--batch-size',
  '2',
  ...e.trainFlags,
  ...extra,
];

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/**
 * Bad lines: [name, the line (object or raw text or bytes)]. The bad line is line 3 of 6. A line
 * without "prompt" is not among them: it is TRL's implicit-prompt format (src/protocol/implicit-prompt.ts).
 */
export const BAD_LINES: [string, unknown][] = [
  ['not JSON', '{"prompt": "p", "chosen": '],
  ['a JSON array', '[1, 2]'],
  ['null', 'null'],
  ['a number', '42'],
  ['a string', '"prompt"'],
  ['missing chosen', { prompt: 'p', rejected: ' b' }],
  ['missing rejected', { prompt: 'p', chosen: ' a' }],
  ['chosen is a number', { prompt: 'p', chosen: 5, rejected: ' b' }],
  ['empty chosen', { prompt: 'p', chosen: '   ', rejected: ' b' }],
  ['identical responses', { prompt: 'p', chosen: ' a', rejected: ' a' }],
  ['text prompt, message responses', { prompt: 'p', chosen: [{ role: 'assistant', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }] }],
  ['message without role', { prompt: [{ content: 'p' }], chosen: [{ role: 'assistant', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }] }],
  [
    'message content a number',
    { prompt: [{ role: 'user', content: 1 }], chosen: [{ role: 'assistant', content: 'a' }], rejected: [{ role: 'assistant', content: 'b' }] },
  ],
  ['100,000-deep JSON in an extra field', `{"prompt": "p", "chosen": " a", "rejected": " b", "meta": ${deep(100000)}}`],
  ['100,000-deep JSON as the prompt', `{"prompt": ${deep(100000)}, "chosen": " a", "rejected": " b"}`],
  ['label "a" contradicts chosen/rejected', { prompt: 'p', responses: [' a', ' b'], chosen: ' b', rejected: ' a', label: 'a' }],
  ['label "tie" with chosen/rejected', { prompt: 'p', chosen: ' a', rejected: ' b', label: 'tie' }],
  ['label "skip" with chosen', { prompt: 'p', chosen: ' a', rejected: ' b', label: 'skip' }],
  ['unlabeled responses', { prompt: 'p', responses: [' a', ' b'] }],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"prompt": "p'), Buffer.from([0xc3, 0x28]), Buffer.from('", "chosen": " a", "rejected": " b"}')])],
  ['a NUL byte outside strings', '{"prompt": "p",\u0000 "chosen": " a", "rejected": " b"}'],
];

function dataFile(f: Fixture, name: string, bad: unknown): string {
  const file = path.join(f.root, 'data', `${name.replace(/[^a-z0-9]+/gi, '-')}.jsonl`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const line = (x: unknown) => (Buffer.isBuffer(x) ? x : Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)));
  const rows = [good(1), good(2), bad, good(4), good(5), good(6)].map(line);
  fs.writeFileSync(file, Buffer.concat(rows.flatMap((r) => [r, Buffer.from('\n')])));
  return file;
}

export async function dataCases(f: Fixture, e: EngineUnderTest, run: (c: () => Promise<Outcome>) => Promise<void>): Promise<void> {
  for (const [name, bad] of BAD_LINES) {
    const file = dataFile(f, name, bad);
    await run(async () =>
      judgeError(
        'data lines',
        name,
        await runNode(trainArgs(f, e, ['--model', f.model, '--data', file]), 60_000 * e.slow),
        new RegExp(`${escape(path.basename(file))}:3\\b`),
      ),
    );
    await run(async () => {
      const c = await runNode(trainArgs(f, e, ['--model', f.model, '--data', file, '--skip-bad-lines']), 60_000 * e.slow);
      const o = judgeError('data lines (--skip-bad-lines)', name, c, /$^/);
      if (o.verdict === 'accepted')
        return { ...o, verdict: /skipped 1 unusable line/.test(c.stderr) ? 'ok' : 'unclear', detail: 'trained on the 5 good lines' };
      return { ...o, verdict: o.verdict === 'unclear' ? 'unclear' : o.verdict };
    });
  }
  // Not errors: a 10 MB response is truncated, not a crash.
  const big = dataFile(f, 'a 10 MB response', { prompt: 'p', chosen: ' ' + 'a'.repeat(10_000_000), rejected: ' b' });
  await run(async () => {
    const c = await runNode(trainArgs(f, e, ['--model', f.model, '--data', big]), 120_000 * e.slow);
    const o = judgeError('data lines', 'a 10 MB response (valid: truncated)', c, /$^/);
    return o.verdict === 'accepted' ? { ...o, verdict: 'ok', detail: 'trained' } : o;
  });
}

/** A wrong value per config field, and Infinity (1e400) for every numeric one. */
export async function configCases(f: Fixture, e: EngineUnderTest, run: (c: () => Promise<Outcome>) => Promise<void>): Promise<void> {
  const cases: [string, string, string][] = []; // [name, field, JSON text of the value]
  for (const [field, schema] of Object.entries(CONFIG_FIELDS) as [string, { type?: string | string[]; enum?: unknown[] }][]) {
    if (field === 'mode') continue; // set by the subcommand (dpo train / dpo sft), not read from the file
    const types = schema.enum ? ['enum'] : ([] as string[]).concat(schema.type ?? []);
    if (types.includes('number') || types.includes('integer')) {
      cases.push([`${field} = 1e400`, field, '1e400'], [`${field} = -1e400`, field, '-1e400'], [`${field} = "x"`, field, '"x"']);
    } else if (types.includes('boolean')) cases.push([`${field} = "yes"`, field, '"yes"']);
    else if (types.includes('enum')) cases.push([`${field} = "nope"`, field, '"nope"']);
    else if (types.includes('string') && field !== 'model' && field !== 'data') cases.push([`${field} = 5`, field, '5']);
  }
  cases.push(
    ['unknown field lerning_rate', 'lerning_rate', '1e-5'],
    ['label_smoothing with ipo', 'label_smoothing', '0.1, "loss_type": "ipo"'],
    ['max_prompt_length >= max_length', 'max_prompt_length', '64, "max_length": 32'],
  );
  for (const [name, field, value] of cases) {
    const file = path.join(f.root, 'configs', e.name, `${name.replace(/[^a-z0-9]+/gi, '-')}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // The engine is chosen in the file too (a flag would override the field under test), unless it is the field.
    const engine = Object.entries(e.configFields)
      .filter(([k]) => k !== field)
      .map(([k, v]) => `, "${k}": ${JSON.stringify(v)}`)
      .join('');
    fs.writeFileSync(file, `{"model": ${JSON.stringify(f.model)}, "data": ${JSON.stringify(f.data)}${engine}, "${field}": ${value}}`);
    // No flags beside --config: a flag would override the field under test. Run where a default run folder may go.
    await run(async () =>
      judgeError(
        'run configs',
        name,
        await runNode([DPO, 'train', '--config', file], 60_000 * e.slow, { cwd: f.root }),
        new RegExp(`${escape(path.basename(file))}[\\s\\S]*${field}`),
      ),
    );
  }
  for (const [name, text] of [
    ['config not JSON', '{"model": '],
    ['config an array', '[]'],
  ] as const) {
    const file = path.join(f.root, 'configs', e.name, `${name.replace(/ /g, '-')}.json`);
    fs.writeFileSync(file, text);
    await run(async () =>
      judgeError(
        'run configs',
        name,
        await runNode([DPO, 'train', '--config', file, '--out', freshOut(f), ...e.trainFlags], 60_000 * e.slow),
        new RegExp(escape(path.basename(file))),
      ),
    );
  }
}

import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DataProblem, detectFormat, fromTrlFields, parsePreferenceLine, splitHh } from '../../../src/protocol';
import { parsePreferences } from '../../../src/engine/data/preferences';
import { convertPreferences } from '../../../src/cli/convert';
import { torchProcessEnv, torchPython } from '../../../src/node/torch-env';
import { applyDecision, editResponse, inspectLine } from '../../../src/extension/labeling/pair-line';
import { tempDir, writeJsonl } from '../helpers/fixtures';

const root = tempDir('formats');
const chat = {
  prompt: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hi?' },
  ],
  chosen: [{ role: 'assistant', content: 'hello' }],
  rejected: [{ role: 'assistant', content: 'go away' }],
};
const hh = {
  chosen: '\n\nHuman: what is 2+2?\n\nAssistant: 4\n\nHuman: and 3+3?\n\nAssistant: 6',
  rejected: '\n\nHuman: what is 2+2?\n\nAssistant: 4\n\nHuman: and 3+3?\n\nAssistant: no idea',
};
const pairOf = (value: unknown) => {
  const problems: DataProblem[] = [];
  const p = parsePreferenceLine(value, 'f.jsonl', 1, problems);
  assert.deepEqual(problems, []);
  return { prompt: p!.prompt, chosen: p!.chosen, rejected: p!.rejected };
};

describe('preference formats', () => {
  it('reads the chat-completions preference format as a conversational pair, and writes it back the same', () => {
    const cc = fromTrlFields(chat, 'chat-completions');
    assert.deepEqual(cc, { input: { messages: chat.prompt }, preferred_output: chat.chosen, non_preferred_output: chat.rejected });
    assert.equal(detectFormat(cc), 'chat-completions');
    assert.deepEqual(pairOf(cc), chat);
    assert.deepEqual(fromTrlFields(pairOf(cc), 'chat-completions'), cc);
  });

  it('reads HH transcripts as prompt + responses split at the last shared "\\n\\nAssistant:", and writes them back the same', () => {
    assert.equal(detectFormat(hh), 'hh');
    const p = pairOf(hh);
    assert.equal(p.prompt, '\n\nHuman: what is 2+2?\n\nAssistant: 4\n\nHuman: and 3+3?\n\nAssistant:');
    assert.deepEqual([p.chosen, p.rejected], [' 6', ' no idea']);
    assert.deepEqual(fromTrlFields(p, 'hh'), hh);
    assert.equal(splitHh('\n\nHuman: a\n\nAssistant: b', '\n\nHuman: x\n\nAssistant: y'), undefined, 'no shared assistant turn');
  });

  it("reports format errors with the line's own field names", () => {
    const problems: DataProblem[] = [];
    parsePreferenceLine({ input: { messages: [] }, preferred_output: 'x', non_preferred_output: [] }, 'f.jsonl', 3, problems);
    assert.deepEqual(
      problems.map((p) => [p.line, p.field]),
      [[3, 'preferred_output']],
    );
    problems.length = 0;
    parsePreferenceLine({ chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: c\n\nAssistant: d' }, 'f.jsonl', 4, problems);
    assert.match(problems[0].message, /HH format/);
  });

  it('dpo convert: TRL -> chat-completions -> TRL and HH -> TRL -> HH give the same pairs', () => {
    const trl = writeJsonl(path.join(root, 'trl.jsonl'), [chat, { ...chat, chosen: chat.rejected, rejected: chat.chosen }]);
    convertPreferences({ input: trl, output: path.join(root, 'cc.jsonl'), to: 'chat-completions', split: 'train' });
    convertPreferences({ input: path.join(root, 'cc.jsonl'), output: path.join(root, 'back.jsonl'), to: 'trl', split: 'train' });
    assert.equal(fs.readFileSync(path.join(root, 'back.jsonl'), 'utf8'), fs.readFileSync(trl, 'utf8'));
    const hhFile = writeJsonl(path.join(root, 'hh.jsonl'), [hh]);
    convertPreferences({ input: hhFile, output: path.join(root, 'hh-trl.jsonl'), to: 'trl', split: 'train' });
    assert.equal(parsePreferences(fs.readFileSync(path.join(root, 'hh-trl.jsonl'), 'utf8'), 'x').pairs[0].prompt, pairOf(hh).prompt);
    convertPreferences({ input: path.join(root, 'hh-trl.jsonl'), output: path.join(root, 'hh-back.jsonl'), to: 'hh', split: 'train' });
    assert.equal(fs.readFileSync(path.join(root, 'hh-back.jsonl'), 'utf8'), fs.readFileSync(hhFile, 'utf8'));
  });

  it("dpo convert reads Parquet through the torch environment's datasets, or says how to set it up", () => {
    const parquet = path.join(root, 'd.parquet');
    if (!fs.existsSync(torchPython())) {
      fs.writeFileSync(parquet, '');
      assert.throws(() => convertPreferences({ input: parquet, output: path.join(root, 'p.jsonl'), to: 'trl', split: 'train' }), /dpo setup-torch/);
      return;
    }
    const script = `import datasets, sys\ndatasets.Dataset.from_list([{"input": {"messages": [{"role": "user", "content": "hi"}]}, "preferred_output": [{"role": "assistant", "content": "a"}], "non_preferred_output": [{"role": "assistant", "content": "b"}]}]).to_parquet(sys.argv[1])`;
    const r = spawnSync(torchPython(), ['-c', script, parquet], { env: torchProcessEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    convertPreferences({ input: parquet, output: path.join(root, 'p.jsonl'), to: 'trl', split: 'train' });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(root, 'p.jsonl'), 'utf8')), {
      prompt: [{ role: 'user', content: 'hi' }],
      chosen: [{ role: 'assistant', content: 'a' }],
      rejected: [{ role: 'assistant', content: 'b' }],
    });
  });

  it('the labeling editor shows chat-completions and HH lines for review and flips them in their own fields, recording who and when', () => {
    const cc = JSON.stringify(fromTrlFields(chat, 'chat-completions'));
    const seen = inspectLine(cc);
    assert.equal(seen.kind, 'a');
    assert.deepEqual(seen.responses, [chat.chosen, chat.rejected]);
    const flipped = JSON.parse(applyDecision(cc, 'b', { annotator: 'ann', time: '2026-11-26T00:00:00Z' }));
    assert.deepEqual([flipped.preferred_output, flipped.non_preferred_output, flipped.label, flipped.annotator], [chat.rejected, chat.chosen, 'b', 'ann']);
    assert.equal('chosen' in flipped, false, 'the line keeps its format');
    const h = JSON.parse(applyDecision(JSON.stringify(hh), 'b', { annotator: 'ann', time: 't' }));
    assert.deepEqual([h.chosen, h.rejected], [hh.rejected, hh.chosen]);
    assert.throws(() => editResponse(cc, 0, 'hi'), /chat-completions format: edit its responses in the text editor/);
  });
});

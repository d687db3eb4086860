// The embedded engine's reward model: TRL's text (EOS appended once, chat template), transformers'
// pooled position, the score against the decoder's own hidden states, tensors freed, every refusal
// (not a classifier, labels, architecture, adapter, tokenizer, weights), and the requests over stdio.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { tempDir, useTestBackend } from '../helpers/fixtures';
import { tinyRewardModel } from '../helpers/reward-model';
import { loadModel } from '../../../src/engine/model/checkpoint';
import { loadTokenizer } from '../../../src/engine/tokenizer/tokenizer';
import { RewardModel, rewardInputIds, scoredPosition } from '../../../src/engine/probe/reward-model';
import { requestLine } from '../../../src/protocol';

const root = tempDir('reward-model');
const small = { layers: 1, dModel: 32, heads: 2, maxPositions: 64 };
const EOS = '<|endoftext|>';

/** The decoder's final hidden state at `pos` · the score head: the score computed another way. */
async function expectedScore(causalDir: string, ids: number[], pos: number, head: Float32Array): Promise<number> {
  const { model } = loadModel(causalDir, { trainable: false });
  try {
    const h = model.hidden(tf.tensor2d([ids], [1, ids.length], 'int32'));
    const row = ((await h.data()) as Float32Array).slice(pos * head.length, (pos + 1) * head.length);
    h.dispose();
    return row.reduce((a, v, i) => a + v * head[i], 0);
  } finally {
    model.dispose();
  }
}

function patchConfig(dir: string, change: (raw: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(raw);
  fs.writeFileSync(file, JSON.stringify(raw));
}

describe('reward models on the embedded engine', () => {
  before(useTestBackend);

  it("builds TRL's text: EOS appended once to text, the response as the assistant's turn in a conversation", () => {
    const { dir } = tinyRewardModel(path.join(root, 'text'), small);
    const tok = loadTokenizer(dir);
    const eos = tok.eosId!;
    const plain = rewardInputIds(tok, 'Hi', false, ' there');
    assert.deepEqual(plain, [...tok.encode('Hi there', true), eos]);
    assert.deepEqual(rewardInputIds(tok, 'Hi', false, ` there${EOS}`), plain, 'a response that ends with EOS gets no second one');
    const chat = rewardInputIds(tok, 'Hi', true, 'Hello!');
    assert.deepEqual(chat, tok.encode('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n', false));
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi' },
    ];
    assert.deepEqual(
      rewardInputIds(tok, 'ignored', true, 'Yo', messages),
      tok.encode('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n', false),
    );
  });

  it("pools transformers' position: the rightmost non-pad token, 0 when all are pad, the last without a pad id", () => {
    assert.equal(scoredPosition([5, 6, 7, 9, 9], 9), 2);
    assert.equal(scoredPosition([9, 5, 9], 9), 1);
    assert.equal(scoredPosition([9, 9], 9), 0);
    assert.equal(scoredPosition([5, 6, 9], undefined), 2);
  });

  for (const [name, opts] of [
    ['gpt2', { family: 'gpt2' as const }],
    ['llama (GQA)', { family: 'llama' as const, kvHeads: 1 }],
  ] as const) {
    it(`${name}: the score is the score head on the pooled hidden state, and scoring leaves no tensor behind`, async () => {
      // pad = EOS (256) pools the token before the appended EOS; no pad id pools the EOS itself.
      for (const padId of [256, null]) {
        const made = tinyRewardModel(path.join(root, `score-${name.replace(/\W+/g, '-')}-${padId}`), { ...small, ...opts, seed: 3, padId });
        const rm = RewardModel.load(made.dir);
        const ids = rewardInputIds(rm.tokenizer, 'The sky is', false, ' blue');
        assert.equal(ids[ids.length - 1], 256);
        const pos = padId === null ? ids.length - 1 : ids.length - 2;
        const want = await expectedScore(made.causalDir, ids, pos, made.score);
        const first = await rm.score('The sky is', false, ' blue');
        assert.ok(Math.abs(first - want) < 1e-4, `${first} vs ${want}`);
        assert.ok(Math.abs(first) > 1e-3, 'a score of zero would not tell positions apart');
        const other = await rm.score('The sky is', false, ' green');
        assert.notEqual(other, first);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) await rm.score('Hello', i % 2 === 0, `answer ${i}`);
        assert.equal(tf.memory().numTensors, before, 'scores do not grow the tensor count');
        assert.equal(await rm.score('The sky is', false, ' blue'), first, 'the same text scores the same');
        const held = tf.memory().numTensors;
        rm.dispose();
        assert.ok(tf.memory().numTensors < held, 'dispose frees the weights and the head');
        await assert.rejects(rm.score('a', false, 'b'), /unloaded: send reward-model\/load/);
      }
    });
  }

  it('refuses what is not a one-label sequence classifier of a supported architecture, naming the file and what to do', () => {
    const base = tinyRewardModel(path.join(root, 'errors'), small);
    const variant = (name: string, change?: (raw: Record<string, unknown>) => void) => {
      const dir = path.join(root, `errors-${name}`);
      fs.cpSync(base.dir, dir, { recursive: true });
      if (change) patchConfig(dir, change);
      return dir;
    };
    const cases: [string, string, RegExp][] = [
      [
        'causal LM',
        base.causalDir,
        /config\.json: architectures is \["GPT2LMHeadModel"\], not a sequence classifier; a reward model is a \*ForSequenceClassification/,
      ],
      ['two labels', variant('labels', (r) => (r.id2label = { 0: 'bad', 1: 'good' })), /num_labels is 2 .*one label/],
      [
        'no id2label (transformers: 2)',
        variant('default-labels', (r) => {
          delete r.id2label;
          delete r.num_labels;
        }),
        /num_labels is 2/,
      ],
      [
        'unsupported',
        variant('falcon', (r) => (r.architectures = ['FalconForSequenceClassification'])),
        /FalconForSequenceClassification is not supported by the embedded engine \(supported: GPT2ForSequenceClassification, .*\); use the PyTorch engine/,
      ],
      ['no folder', path.join(root, 'nothing-here'), /not a folder/],
    ];
    for (const [what, dir, message] of cases) assert.throws(() => RewardModel.load(dir), message, what);

    const adapter = path.join(root, 'errors-adapter');
    fs.mkdirSync(adapter);
    fs.writeFileSync(path.join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: base.dir }));
    assert.throws(
      () => RewardModel.load(adapter),
      /adapter_config\.json: a PEFT adapter; the embedded engine loads whole reward models: use the PyTorch engine .*merge_and_unload/,
    );

    const noTok = variant('no-tokenizer');
    fs.rmSync(path.join(noTok, 'tokenizer.json'));
    assert.throws(() => RewardModel.load(noTok), /tokenizer\.json: missing/);

    // The head: missing (it would be noise), or shaped for another model.
    const headless = variant('no-head');
    fs.copyFileSync(path.join(base.causalDir, 'model.safetensors'), path.join(headless, 'model.safetensors'));
    assert.throws(() => RewardModel.load(headless), /missing 1 tensor\(s\) that GPT2ForSequenceClassification needs: 'score\.weight'/);
    const twoHeads = tinyRewardModel(path.join(root, 'errors-two-heads'), { ...small, labels: 2 }).dir;
    patchConfig(twoHeads, (r) => (r.id2label = { 0: 'LABEL_0' }));
    assert.throws(
      () => RewardModel.load(twoHeads),
      /tensor 'score\.weight' has shape \[2,32\] but GPT2ForSequenceClassification with this config\.json needs \[1,32\]/,
    );
  });

  it('refuses a text longer than the model, naming both lengths', async () => {
    const { dir } = tinyRewardModel(path.join(root, 'long'), { ...small, maxPositions: 16 });
    const rm = RewardModel.load(dir);
    await assert.rejects(rm.score('x '.repeat(40), false, 'y'), /prompt \+ response are \d+ tokens, more than the reward model's 16 positions/);
    rm.dispose();
  });

  it('answers reward-model/load and reward-model/score over stdio, and errors without dying', async () => {
    const { dir } = tinyRewardModel(path.join(root, 'stdio'), { ...small, seed: 7 });
    const main = path.resolve(__dirname, '../../../src/engine/main.js');
    const child = spawn(process.execPath, [main, '--backend', 'wasm'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const replies = new Map<number, (m: { ok: boolean; result?: unknown; error?: string }) => void>();
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = JSON.parse(line);
      if (m.kind === 'reply') replies.get(m.id)?.(m);
    });
    const ask = (id: number, type: 'reward-model/load' | 'reward-model/score', params: never) =>
      new Promise<{ ok: boolean; result?: unknown; error?: string }>((resolve) => {
        replies.set(id, resolve);
        child.stdin.write(requestLine(id, type, params));
      });
    try {
      const early = await ask(1, 'reward-model/score', { prompt: 'a', chat: false, response: 'b' } as never);
      assert.deepEqual(early, { kind: 'reply', id: 1, ok: false, error: 'no reward model loaded: send reward-model/load first' });
      const bad = await ask(2, 'reward-model/load', { dir: path.join(root, 'nothing') } as never);
      assert.equal(bad.ok, false);
      assert.match(bad.error!, /not a folder/);
      const loaded = await ask(3, 'reward-model/load', { dir } as never);
      assert.ok(loaded.ok, loaded.error);
      assert.equal((loaded.result as { architecture: string }).architecture, 'GPT2ForSequenceClassification');
      assert.equal((loaded.result as { chatTemplate: boolean }).chatTemplate, true);
      const refused = await ask(5, 'reward-model/load', { dir: path.join(root, 'nothing') } as never);
      assert.equal(refused.ok, false, 'a refused load keeps the model loaded before');
      const scored = await ask(4, 'reward-model/score', { prompt: 'Hi', chat: true, response: 'Hello', messages: [{ role: 'user', content: 'Hi' }] } as never);
      assert.ok(scored.ok, scored.error);
      const rm = RewardModel.load(dir);
      const direct = await rm.score('Hi', true, 'Hello');
      rm.dispose();
      assert.ok(Math.abs((scored.result as { score: number }).score - direct) < 1e-5);
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.on('exit', resolve));
    }
  });
});

// `dpo serve` on the PyTorch engine: a seeded chat completion (the model's chat template, messages
// passed whole) twice the same, and its stream equal to it. Skipped without .cache/torch-env.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir, tinyModel } from '../helpers/fixtures';
import { torchPython } from '../../../src/node/torch-env';
import { ModelServer } from '../../../src/node/serve/server';
import { engineCommandFor } from '../../../src/node/engine-command';
import { resolveServedModel } from '../../../src/node/serve/model-folder';

const hasTorch = fs.existsSync(torchPython());

describe('dpo serve on the torch engine', { skip: hasTorch ? false : 'no torch environment (.cache/torch-env): run npx dpo setup-torch' }, () => {
  let server: ModelServer;
  before(async () => {
    const dir = tinyModel(path.join(tempDir('serve-torch'), 'tiny-torch'));
    server = await ModelServer.start({ model: resolveServedModel(dir), command: engineCommandFor('torch'), port: 0, log: () => undefined });
  });
  after(() => server?.close());

  it('a seeded chat completion is the same twice and its stream concatenates to it', async () => {
    const body = {
      model: 'tiny-torch',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'More?' },
      ],
      max_tokens: 10,
      seed: 3,
      temperature: 1,
    };
    const post = async (b: unknown) => {
      const r = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: JSON.stringify(b) });
      assert.equal(r.status, 200);
      return r;
    };
    const a = (await (await post(body)).json()) as { choices: { message: { content: string }; finish_reason: string }[]; usage: Record<string, number> };
    const b = (await (await post(body)).json()) as typeof a;
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    assert.ok(a.usage.prompt_tokens > 'HiHelloMore?'.length, 'the whole conversation went through the chat template');
    assert.ok(a.usage.completion_tokens >= 1 && a.usage.completion_tokens <= 10);
    assert.ok(['stop', 'length'].includes(a.choices[0].finish_reason));
    const text = await (await post({ ...body, stream: true })).text();
    const chunks = text
      .split('\n\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[] });
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), a.choices[0].message.content);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'));
  });
});

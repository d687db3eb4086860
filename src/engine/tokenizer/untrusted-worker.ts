// The worker of untrusted.ts: builds the tokenizer and the chat template of one model folder and
// answers calls; each answer is posted, then the shared flag is set and notified (in that order, so
// the waiting thread always finds the answer on its port).
import * as fs from 'node:fs';
import { MessagePort, workerData } from 'node:worker_threads';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { renderBounded } from './bounded-template';
import type { Answer, Call, WorkerSource } from './untrusted';

/** Rendered templates longer than this are refused: a prompt is KBs, not 100s of MB. */
const MAX_RENDER_CHARS = 16 * 1024 * 1024;

const { source, port, flag } = workerData as { source: WorkerSource; port: MessagePort; flag: Int32Array };
const json = JSON.parse(fs.readFileSync(source.tokenizerFile, 'utf8'));
const config = source.configFile ? JSON.parse(fs.readFileSync(source.configFile, 'utf8')) : {};
const tokenizer = new Tokenizer(json, config);
const template = source.template ? new Template(source.template.text) : undefined;

function answer(c: Call): Answer {
  if (c.op === 'render') {
    try {
      const text = renderBounded(template!, c.items);
      if (text.length > MAX_RENDER_CHARS) return { ok: false, file: 'template', error: `renders ${text.length} characters (limit ${MAX_RENDER_CHARS})` };
      return { ok: true, value: text };
    } catch (err) {
      return { ok: false, file: 'template', error: (err as Error).message };
    }
  }
  try {
    const e = tokenizer.encode(c.text, { add_special_tokens: c.op === 'encode' && c.addSpecialTokens });
    return { ok: true, value: c.op === 'encode' ? e.ids : e.tokens };
  } catch (err) {
    return { ok: false, file: 'tokenizer', error: `cannot encode: ${(err as Error).message}` };
  }
}

port.on('message', (c: Call) => {
  port.postMessage(answer(c));
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});

// Test-only bridge from the Python reference tests (python/tests/reference) to the embedded engine:
// reads a JSON list of requests on stdin, answers a JSON list on stdout, one process per batch so
// tfjs starts once. Needs the compiled engine (`npx tsc -p .`). Not a product interface.
'use strict';
const path = require('node:path');
const out = path.join(__dirname, '..', '..', 'out', 'src', 'engine');
const tf = require('@tensorflow/tfjs');
const { selectBackend } = require(path.join(out, 'backend'));
const { loadModel } = require(path.join(out, 'model', 'checkpoint'));
const { loadTokenizer } = require(path.join(out, 'tokenizer', 'tokenizer'));
const { tokenLogps } = require(path.join(out, 'dpo', 'logps'));
const { readPreferenceFile } = require(path.join(out, 'data', 'preferences'));
const { tokenizePairs } = require(path.join(out, 'data', 'tokenize'));

/** Per-token log-probs of each row: entry t of a row is log p(row[t+1] | row[..t]). */
function rowLogps(model, rows) {
  return rows.map((row) => tf.tidy(() => Array.from(tokenLogps(model, tf.tensor2d([row], [1, row.length], 'int32')).dataSync())));
}

const handlers = {
  logps(r) {
    const { model } = loadModel(r.model, { trainable: false });
    try {
      return { logps: rowLogps(model, r.rows) };
    } finally {
      model.dispose();
    }
  },
  encode(r) {
    const tok = loadTokenizer(r.tokenizer);
    return { ids: r.texts.map((t) => tok.encode(t, r.add_special_tokens ?? false)) };
  },
  chat(r) {
    const tok = loadTokenizer(r.tokenizer);
    return {
      rendered: r.conversations.map((c) => {
        try {
          return { text: tok.applyChatTemplate(c.messages, c.add_generation_prompt) };
        } catch (err) {
          return { error: err.message };
        }
      }),
    };
  },
  read_pairs(r) {
    return { pairs: readPreferenceFile(r.file).pairs };
  },
  tokenize_pairs(r) {
    const tok = loadTokenizer(r.tokenizer);
    const { pairs } = readPreferenceFile(r.file);
    return { pairs: tokenizePairs(tok, pairs, { maxLength: r.max_length ?? 1 << 30, rule: r.rule }).pairs };
  },
};

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  await selectBackend(process.env.DPO_BACKEND || undefined);
  const answers = [];
  for (const r of JSON.parse(input)) {
    try {
      answers.push({ ok: true, ...handlers[r.op](r) });
    } catch (err) {
      answers.push({ ok: false, error: err.message });
    }
  }
  process.stdout.write(JSON.stringify(answers));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});

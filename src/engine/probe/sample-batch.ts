// Several samples of one prompt at once: the rows of a batch share the prompt, so the KV cache is
// filled with one [n, P] pass and then grows one [n, 1] step at a time with no padding. Used where
// many completions are needed (sampling preference pairs, measuring reward and KL); the probe panel
// streams one at a time through generate().
import * as tf from '@tensorflow/tfjs';
import { CausalLM, LayerCache } from '../model/transformer';
import { TextTokenizer } from '../tokenizer/tokenizer';
import { Rng } from '../rng';
import { SamplingOptions, logSoftmax, sampleToken } from './sampling';
import { cachedStep } from './generate';

export interface BatchSampleOptions extends SamplingOptions {
  maxNewTokens: number;
  seed: number;
}

export interface Sample {
  /** Response ids, ending with EOS when the model chose to stop. */
  ids: number[];
  /** Text of the response without EOS. */
  text: string;
  /** Σ log π(token | prefix) over `ids`, under the full (untempered, unfiltered) distribution. */
  logprob: number;
  /** True when the model emitted EOS within maxNewTokens. */
  finished: boolean;
}

/** `n` samples of `promptIds`, each row with its own draw from one seeded stream. */
export async function sampleCompletions(model: CausalLM, tokenizer: TextTokenizer, promptIds: number[], n: number, o: BatchSampleOptions): Promise<Sample[]> {
  if (promptIds.length === 0) throw new Error('the prompt is empty: sampling needs at least one token to start from');
  const V = model.config.vocabSize;
  const steps = Math.min(o.maxNewTokens, model.config.maxPositions - promptIds.length);
  const rng = new Rng(o.seed);
  const rows = Array.from({ length: n }, () => ({ ids: [] as number[], logprob: 0, finished: false }));
  let cache: LayerCache[] | undefined;
  let last: number[] = [];
  try {
    for (let step = 0; step < steps && rows.some((r) => !r.finished); step++) {
      const logitsT = tf.tidy(() => {
        const input =
          step === 0
            ? tf.tensor2d(
                Array.from({ length: n }, () => promptIds),
                [n, promptIds.length],
                'int32',
              )
            : tf.tensor2d(last, [n, 1], 'int32');
        const r = cachedStep(model, input, cache);
        cache = r.cache;
        return r.logits; // [n, V]
      });
      const logits = await logitsT.data();
      logitsT.dispose();
      last = rows.map((row, i) => {
        // Finished rows keep stepping (the batch moves together); what they draw is discarded.
        const rowLogits = logits.subarray(i * V, (i + 1) * V);
        const id = sampleToken(rowLogits, o, rng);
        if (row.finished) return id;
        row.ids.push(id);
        row.logprob += logSoftmax(rowLogits)[id];
        if (id === tokenizer.eosId) row.finished = true;
        return id;
      });
    }
  } finally {
    if (cache) for (const l of cache) tf.dispose([l.k, l.v]);
  }
  return rows.map((r) => {
    const textIds = r.finished ? r.ids.slice(0, -1) : r.ids;
    return {
      ids: r.ids,
      text: textIds.length > 0 ? tokenizer.decode(textIds, true) : '',
      logprob: r.logprob,
      finished: r.finished,
    };
  });
}

// llama.cpp itself (through node-llama-cpp's prebuilt CPU binaries) on a GGUF file, for the export tests
// and bench: tokenize, every position's next-token log-probs, greedy continuation, the chat template as
// the file holds it. Not a general llama.cpp client.
import type * as NodeLlama from 'node-llama-cpp';

// node-llama-cpp is ESM with top-level await: a real import(), which TypeScript's CommonJS output would
// otherwise turn into require().
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<typeof NodeLlama>;

let llamaReady: Promise<{ lib: typeof NodeLlama; llama: NodeLlama.Llama }> | undefined;

export function loadLlama(): Promise<{ lib: typeof NodeLlama; llama: NodeLlama.Llama }> {
  llamaReady ??= (async () => {
    const lib = await importEsm('node-llama-cpp');
    return { lib, llama: await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error }) };
  })();
  return llamaReady;
}

export interface GgufModel {
  model: NodeLlama.LlamaModel;
  tokenize(text: string): number[];
  /** Row t: log p(token | ids[..t]) for every token llama.cpp returns (all of them at temperature 1). */
  logps(ids: number[]): Promise<Map<number, number>[]>;
  greedy(ids: number[], n: number): Promise<number[]>;
  metadata(): Record<string, unknown>;
  dispose(): Promise<void>;
}

export async function openGguf(file: string, threads = 1): Promise<GgufModel> {
  const { llama } = await loadLlama();
  const model = await llama.loadModel({ modelPath: file });
  // f32 KV cache and no flash attention: llama.cpp's defaults (f16 cache) round keys and values.
  const context = await model.createContext({
    contextSize: 256,
    threads,
    batchSize: 256,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
  const sequence = context.getSequence();
  const full = { temperature: 1, topK: 0, topP: 1, minP: 0 };
  return {
    model,
    tokenize: (text) => model.tokenize(text, false).map(Number),
    async logps(ids) {
      await sequence.clearHistory();
      const out = await sequence.controlledEvaluate(ids.map((t) => [t as NodeLlama.Token, { generateNext: { probabilities: true, options: full } }]));
      return out.map((o) => new Map([...(o?.next?.probabilities ?? new Map()).entries()].map(([t, p]) => [Number(t), Math.log(p)])));
    },
    async greedy(ids, n) {
      await sequence.clearHistory();
      const tokens: number[] = [];
      for await (const t of sequence.evaluate(ids as NodeLlama.Token[], { temperature: 0, yieldEogToken: true })) {
        tokens.push(Number(t));
        if (tokens.length === n) break;
      }
      return tokens;
    },
    metadata: () => model.fileInfo.metadata as unknown as Record<string, unknown>,
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}

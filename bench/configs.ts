// Model shapes the benchmarks use, by name. gpt2-small is GPT-2 124M; "small" is the config the
// notes timed PyTorch on (4 layers, d 256); tiny is a smoke test.
import { ModelConfig, parseModelConfig } from '../src/engine/model/config';

export interface BenchShape {
  config: ModelConfig;
  /** Sequences per step and tokens per sequence. */
  batch: number;
  seq: number;
}

const gpt2 = (layers: number, d: number, heads: number, vocab: number, positions: number) =>
  parseModelConfig({ architectures: ['GPT2LMHeadModel'], n_layer: layers, n_embd: d, n_head: heads, vocab_size: vocab, n_positions: positions });

export const BENCH_SHAPES: Record<string, () => BenchShape> = {
  tiny: () => ({ config: gpt2(2, 64, 4, 259, 256), batch: 4, seq: 64 }),
  small: () => ({ config: gpt2(4, 256, 4, 8192, 256), batch: 8, seq: 128 }),
  'gpt2-small': () => ({ config: gpt2(12, 768, 12, 50257, 1024), batch: 1, seq: 256 }),
  'llama-gqa-small': () => ({
    config: parseModelConfig({
      architectures: ['LlamaForCausalLM'],
      hidden_size: 256,
      intermediate_size: 688,
      num_hidden_layers: 4,
      num_attention_heads: 8,
      num_key_value_heads: 2,
      vocab_size: 8192,
      max_position_embeddings: 256,
      tie_word_embeddings: true,
    }),
    batch: 8,
    seq: 128,
  }),
};

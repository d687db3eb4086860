// Pre-flight check of a run against the GPU adapter's buffer limits (webgpu backend): every tensor
// is one GPU buffer, and a kernel cannot bind a buffer over maxStorageBufferBindingSize (128 MiB on
// many adapters), so a run whose largest activation is bigger must be refused before it starts,
// not fail mid-step. It estimates sizes from the shapes; it does not measure memory.
import { BackendReport, DpoConfig, backendLabel } from '../protocol';
import { ModelConfig } from './model/config';
import { fusedAttentionEnabled } from './kernels/attention';
import { webgpuAttentionTakes } from './kernels/attention-webgpu';

export class DeviceLimitError extends Error {}

interface Need {
  what: string;
  bytes: number;
  /** What makes it smaller. */
  fix: string;
}

const FLOAT_BYTES = 4;

/**
 * The largest single tensors of one forward+backward pass, by what they hold. `fusedAttention`: the
 * WGSL attention kernels take this model's attention, so no [sequences, heads, T, T] scores exist.
 */
export function largestTensors(model: ModelConfig, config: Pick<DpoConfig, 'mode' | 'batch_size' | 'max_length'>, fusedAttention = false): Need[] {
  const sequences = config.mode !== 'sft' ? 2 * config.batch_size : config.batch_size; // chosen and rejected (KTO: completions and KL completions) in one pass
  const T = Math.min(config.max_length, model.maxPositions);
  const rows = `${config.batch_size} pair(s) x ${sequences / config.batch_size} sequence(s)`;
  const activation = 'Lower batch_size or max_length';
  const needs: Need[] = [
    {
      what: `the logits [${sequences * (T - 1)}, ${model.vocabSize}] (${rows} x ${T - 1} tokens x vocab ${model.vocabSize})`,
      bytes: sequences * (T - 1) * model.vocabSize * FLOAT_BYTES,
      fix: activation,
    },
    ...(fusedAttention
      ? []
      : [
          {
            what: `the attention scores [${sequences}, ${model.numHeads}, ${T}, ${T}] (${rows}, ${model.numHeads} heads, ${T} tokens)`,
            bytes: sequences * model.numHeads * T * T * FLOAT_BYTES,
            fix: activation,
          },
        ]),
    { what: `the MLP activations [${sequences * T}, ${model.intermediateSize}]`, bytes: sequences * T * model.intermediateSize * FLOAT_BYTES, fix: activation },
    {
      what: `the embedding matrix [${model.vocabSize}, ${model.hiddenSize}] (and its gradient and AdamW moments)`,
      bytes: model.vocabSize * model.hiddenSize * FLOAT_BYTES,
      fix: 'This model is too large for this adapter',
    },
  ];
  return needs.sort((a, b) => b.bytes - a.bytes);
}

/** The longest prompt + response of the data: batches are padded to their longest row, no further. */
export function longestSequence(pairs: { promptIds: number[]; chosenIds: number[]; rejectedIds: number[] }[]): number {
  let longest = 2;
  for (const p of pairs) longest = Math.max(longest, p.promptIds.length + Math.max(p.chosenIds.length, p.rejectedIds.length));
  return longest;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;

/** Throws DeviceLimitError, naming the tensor, the limit and what to change, when a run cannot fit. */
export function checkDeviceLimits(backend: BackendReport, model: ModelConfig, config: Pick<DpoConfig, 'mode' | 'batch_size' | 'max_length'>): void {
  const a = backend.adapter;
  if (!a) return;
  const { maxStorageBufferBindingSize: binding, maxBufferSize: buffer } = a.limits;
  const limit = Math.min(binding, buffer);
  const which = binding <= buffer ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
  const T = Math.min(config.max_length, model.maxPositions);
  const shape = { heads: model.numHeads, kvHeads: model.numKvHeads, T, Tk: T, hd: model.headDim, softcap: model.attnSoftcap };
  const [largest] = largestTensors(model, config, fusedAttentionEnabled() && webgpuAttentionTakes(shape, a.software));
  if (largest.bytes <= limit) return;
  throw new DeviceLimitError(
    `${largest.what} need ${mib(largest.bytes)} in one GPU buffer, but the ${backendLabel(backend)} adapter allows at most ` +
      `${mib(limit)} (${which}). ${largest.fix}, or run on another backend (--backend wasm).`,
  );
}

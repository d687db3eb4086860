// How many parameters a Hugging Face model folder holds, without loading it: the safetensors headers
// (8-byte little-endian length, then JSON with each tensor's shape) are read, not the weights; a
// folder without them falls back to an estimate from config.json. Used to default LoRA on for big models.
import * as fs from 'node:fs';
import * as path from 'node:path';

function headerParameters(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    fs.readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 100 * 2 ** 20) throw new Error(`${file}: not a safetensors file (header length ${n})`);
    const header = Buffer.alloc(n);
    fs.readSync(fd, header, 0, n, 8);
    let total = 0;
    for (const [name, t] of Object.entries(JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>)) {
      if (name !== '__metadata__' && t.shape) total += t.shape.reduce((a, b) => a * b, 1);
    }
    return total;
  } finally {
    fs.closeSync(fd);
  }
}

/** From config.json: embeddings plus ~12·d² per layer (attention 4d², MLP 8d²); GPT-2 and Llama names. */
function configEstimate(dir: string): number | undefined {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return undefined;
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number | undefined>;
  const d = c.hidden_size ?? c.n_embd;
  const layers = c.num_hidden_layers ?? c.n_layer;
  const vocab = c.vocab_size ?? 0;
  if (!d || !layers) return undefined;
  const mlp = c.intermediate_size ? 3 * d * c.intermediate_size : 8 * d * d;
  return vocab * d + layers * (4 * d * d + mlp);
}

export function countParameters(dir: string): number | undefined {
  const shards = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')) : [];
  try {
    if (shards.length > 0) return shards.reduce((sum, f) => sum + headerParameters(path.join(dir, f)), 0);
  } catch {
    // an unreadable header: fall back to the config's estimate
  }
  return configEstimate(dir);
}

/** Above this, LoRA is the default on the torch engine (full fine-tuning needs ~16 bytes a parameter). */
export const LORA_DEFAULT_ABOVE = 1e9;

/**
 * Above this, New Training Run asks whether the embedded engine trains LoRA adapters (with blocks
 * recomputed in the backward pass): full DPO keeps weights, packed copies and gradients inside
 * wasm's 4 GiB heap, so GPT-2-small (124M) fits only at 256 tokens with recomputed blocks (2.83 GiB
 * measured) while LoRA with recomputed blocks reaches 512. Below it (the tiny and demo models) full
 * fine-tuning fits and nothing is asked.
 */
export const EMBEDDED_LORA_ASK_ABOVE = 20e6;

/** Whether New Training Run asks the embedded engine's LoRA question for a model of `params` parameters. */
export function embeddedLoraOffered(params: number | undefined): boolean {
  return (params ?? 0) > EMBEDDED_LORA_ASK_ABOVE;
}

export function formatParameters(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}K`;
}

/**
 * The learning rate New Training Run offers for a model of `params` parameters, with the reason.
 * TRL's default (1e-6, the DPO paper's for 1B+ models) barely moves a tiny random model in a few
 * hundred steps: flat curves. Smaller models take larger steps; the demo tunes its 0.1M model at 5e-4.
 */
export function defaultLearningRate(params: number | undefined): { value: number; why: string } {
  if (params === undefined) return { value: 1e-6, why: 'model size unknown: TRL’s default, the DPO paper’s choice' };
  const size = `${formatParameters(params)} parameters`;
  if (params < 10e6) return { value: 5e-4, why: `${size}: a tiny model needs large steps to move within a few hundred steps` };
  if (params < 1e9) return { value: 5e-6, why: `${size}: a small model; 1e-6 (TRL’s default) learns slowly below 1B` };
  return { value: 1e-6, why: `${size}: TRL’s default, the DPO paper’s choice for 1B+ models` };
}

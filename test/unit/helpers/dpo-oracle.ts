// An independent DPO/SFT step for the wiring tests: the tiny models' byte tokenization and the
// truncation rule written out by hand, float64 log-probs from NaiveLM, and the papers' formulas.
// Nothing here calls the engine's tokenizer, batching, log-prob or loss code.
import { NaiveLM } from './naive-lm';
import { readModelWeights } from '../../../src/engine/model/checkpoint';
import { WeightData } from '../../../src/engine/model/transformer';

export interface PairText {
  prompt: string;
  chosen: string;
  rejected: string;
}

export interface PairIds {
  /** 1-based data-file line. */
  line: number;
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/** `dpo make-tiny-model`'s tokenizer: one token per byte, `<|endoftext|>` (256) as EOS, no BOS. */
export const TINY_EOS = 256;

/**
 * Text pairs -> ids as the design says: the response gets EOS; a prompt over max_prompt_length
 * keeps its end; responses are cut to the room max_length leaves; a pair whose prompt leaves no
 * room for one response token is dropped.
 */
export function byteIds(rows: PairText[], o: { maxLength: number; maxPromptLength?: number | null; eos?: number }): PairIds[] {
  const eos = o.eos ?? TINY_EOS;
  const out: PairIds[] = [];
  rows.forEach((r, i) => {
    let prompt = [...Buffer.from(r.prompt, 'utf8')];
    if (o.maxPromptLength && prompt.length > o.maxPromptLength) prompt = prompt.slice(prompt.length - o.maxPromptLength);
    const room = o.maxLength - prompt.length;
    if (room < 1) return;
    const response = (s: string) => [...Buffer.from(s, 'utf8'), eos].slice(0, room);
    out.push({ line: i + 1, prompt, chosen: response(r.chosen), rejected: response(r.rejected) });
  });
  return out;
}

/** A float64 model from a model folder, or from weights already in memory. */
export function naiveModel(dir: string, weights?: Map<string, WeightData>): NaiveLM {
  const loaded = readModelWeights(dir);
  return new NaiveLM(loaded.config, weights ?? loaded.weights);
}

type Member = 'sigmoid' | 'ipo' | 'hinge' | 'bco_pair' | 'sft';

export interface StepOptions {
  mode?: 'dpo' | 'sft';
  lossType?: Exclude<Member, 'sft'>;
  beta: number;
  labelSmoothing?: number;
  referenceFree?: boolean;
  /** The "sft" term's weight beside lossType (the deprecated sft_weight). */
  sftWeight?: number;
  /** A loss list with weights (overrides lossType and sftWeight). */
  terms?: { type: Member; weight: number }[];
}

/** One pair's expected values (log-probs are the loss inputs: per-token means for IPO). */
export interface PairExpect {
  line: number;
  loss: number;
  chosenLogps: number;
  rejectedLogps: number;
  chosenReward: number;
  rejectedReward: number;
}

/** log σ(z), stable for large |z|. */
export function logSigmoid(z: number): number {
  return z < 0 ? z - Math.log1p(Math.exp(z)) : -Math.log1p(Math.exp(-z));
}

interface PairLogps {
  pc: number;
  pr: number;
  rc: number;
  rr: number;
  lc: number;
  lr: number;
}

/** One member's per-pair loss (not "sft", a batch term). */
function memberLoss(type: Exclude<Member, 'sft'>, l: PairLogps, o: StepOptions): number {
  const h = l.pc - l.pr - (l.rc - l.rr);
  const z = o.beta * h;
  switch (type) {
    case 'sigmoid': {
      const eps = o.labelSmoothing ?? 0; // cDPO: −(1−ε) log σ(βh) − ε log σ(−βh)
      return -(1 - eps) * logSigmoid(z) - eps * logSigmoid(-z);
    }
    case 'ipo': {
      // IPO's loss reads per-token mean log-probs (TRL), for the reference too.
      const hm = l.pc / l.lc - l.pr / l.lr - (l.rc / l.lc - l.rr / l.lr);
      return (hm - 1 / (2 * o.beta)) ** 2; // Eq. 17, arXiv:2310.12036
    }
    case 'hinge':
      return Math.max(0, 1 - z); // SLiC
    case 'bco_pair': // TRL's: −log σ(β·chosen log-ratio) − log σ(−β·rejected log-ratio)
      return -logSigmoid(o.beta * (l.pc - l.rc)) - logSigmoid(-o.beta * (l.pr - l.rr));
  }
}

/**
 * Expected per-pair values of the first step (the policy before its update). `pairs` is one batch:
 * an "sft" term is TRL's NLL over all chosen tokens of the batch, −Σ log p / Σ tokens, on each pair.
 */
export function expectPairs(pairs: PairIds[], policy: NaiveLM, reference: NaiveLM | undefined, o: StepOptions): PairExpect[] {
  if (o.mode === 'sft')
    return pairs.map((p) => {
      const pc = policy.responseLogp(p.prompt, p.chosen);
      return { line: p.line, loss: -pc / p.chosen.length, chosenLogps: pc, rejectedLogps: NaN, chosenReward: NaN, rejectedReward: NaN };
    });
  const useRef = !o.referenceFree;
  const logps: PairLogps[] = pairs.map((p) => ({
    pc: policy.responseLogp(p.prompt, p.chosen),
    pr: policy.responseLogp(p.prompt, p.rejected),
    rc: useRef ? reference!.responseLogp(p.prompt, p.chosen) : 0,
    rr: useRef ? reference!.responseLogp(p.prompt, p.rejected) : 0,
    lc: p.chosen.length,
    lr: p.rejected.length,
  }));
  const batchNll = -logps.reduce((a, l) => a + l.pc, 0) / logps.reduce((a, l) => a + l.lc, 0);
  const terms = o.terms ?? [{ type: o.lossType ?? 'sigmoid', weight: 1 }, ...(o.sftWeight ? [{ type: 'sft' as const, weight: o.sftWeight }] : [])];
  return pairs.map((p, i) => {
    const l = logps[i];
    const loss = terms.reduce((a, t) => a + t.weight * (t.type === 'sft' ? batchNll : memberLoss(t.type, l, o)), 0);
    return { line: p.line, loss, chosenLogps: l.pc, rejectedLogps: l.pr, chosenReward: o.beta * (l.pc - l.rc), rejectedReward: o.beta * (l.pr - l.rr) };
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** TRL's metric names over pairs; `prefix` is '' or 'eval_'. */
export function expectMetrics(per: PairExpect[], prefix = '', mode: 'dpo' | 'sft' = 'dpo'): Record<string, number> {
  const m: Record<string, number> = { [`${prefix}loss`]: mean(per.map((p) => p.loss)), [`${prefix}logps/chosen`]: mean(per.map((p) => p.chosenLogps)) };
  if (mode === 'sft') return m;
  m[`${prefix}logps/rejected`] = mean(per.map((p) => p.rejectedLogps));
  m[`${prefix}rewards/chosen`] = mean(per.map((p) => p.chosenReward));
  m[`${prefix}rewards/rejected`] = mean(per.map((p) => p.rejectedReward));
  m[`${prefix}rewards/margins`] = mean(per.map((p) => p.chosenReward - p.rejectedReward));
  m[`${prefix}rewards/accuracies`] = mean(per.map((p) => (p.chosenReward > p.rejectedReward ? 1 : 0)));
  return m;
}

/** Mean loss of a set of pairs under given policy weights (for finite-difference gradient checks). */
export function meanLoss(pairs: PairIds[], policy: NaiveLM, reference: NaiveLM | undefined, o: StepOptions): number {
  return mean(expectPairs(pairs, policy, reference, o).map((p) => p.loss));
}

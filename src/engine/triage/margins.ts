// Margins from `dpo logps` files: the policy's and the reference's summed response log-probs of
// each pair (either engine writes this file), turned into β·log-ratio margins per data line.
import * as fs from 'node:fs';
import { implicitReward } from '../dpo/implicit-reward';

export interface PairLogps {
  chosen_logp: number;
  rejected_logp: number;
}

/** Reads a logps JSONL (line, chosen_logp, rejected_logp, ...) into a map by data line. */
export function readLogpsFile(file: string): Map<number, PairLogps> {
  const out = new Map<number, PairLogps>();
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      if (raw.trim() === '') return;
      const o = JSON.parse(raw) as { line?: unknown; chosen_logp?: unknown; rejected_logp?: unknown };
      if (typeof o.line !== 'number' || typeof o.chosen_logp !== 'number' || typeof o.rejected_logp !== 'number') {
        throw new Error(`${file}:${i + 1}: expected {"line", "chosen_logp", "rejected_logp"} numbers`);
      }
      out.set(o.line, { chosen_logp: o.chosen_logp, rejected_logp: o.rejected_logp });
    });
  return out;
}

/** margin = β·[(log πθ(y_w) − log πref(y_w)) − (log πθ(y_l) − log πref(y_l))], per line both hold. */
export function implicitMargins(policy: Map<number, PairLogps>, reference: Map<number, PairLogps>, beta: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [line, p] of policy) {
    const r = reference.get(line);
    if (r) out.set(line, implicitReward(p.chosen_logp, r.chosen_logp, beta) - implicitReward(p.rejected_logp, r.rejected_logp, beta));
  }
  return out;
}

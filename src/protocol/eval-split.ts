// Which pairs a run holds out for evaluation when it has no eval_data: a seeded draw of
// round(n · eval_fraction) (at least 1) of its n usable pairs. Both engines apply this rule (the
// torch engine through python/dpo_studio/rng.py, the same generator), and `dpo eval` uses it to find a
// run's held-out prompts; test/conformance/eval-split holds the cases both sides pass.
import { Rng } from './rng';

/** The held-out indices among `n` pairs, ascending. */
export function heldOutIndices(n: number, fraction: number, seed: number): number[] {
  if (fraction <= 0 || n < 2) return [];
  // xor'd with a constant so the split is independent of the training order's RNG (seeded with `seed`).
  const order = new Rng(seed ^ 0x5eed).shuffle(Array.from({ length: n }, (_, i) => i));
  return order.slice(0, Math.max(1, Math.round(n * fraction))).sort((a, b) => a - b);
}

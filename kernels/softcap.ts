// Gemma 2's attention soft-capping for kernels/attention.ts: scores = cap·tanh(scores/cap) on a
// tile, and the factor its backward pass multiplies dS by. tanh on f32x4 lanes, as Cephes' tanhf.
import { expv } from './simd';

/** tanh per lane: Cephes' odd polynomial below |x| = 0.625 (no cancellation near 0), 1 − 2/(e^{2|x|} + 1) above. */
function tanhv(x: v128): v128 {
  const a = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  // e^{2|x|} saturates at e^88 for |x| ≥ 44, where 2/(e + 1) is ~1e-38: tanh is exactly ±1 there.
  const e = expv(f32x4.add(a, a));
  const big = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(e, f32x4.splat(1.0))));
  const signed = v128.or(big, v128.and(x, f32x4.splat(-0.0))); // big ≥ 0: take x's sign bit
  return v128.bitselect(signed, small, f32x4.gt(a, f32x4.splat(0.625)));
}

/** s[0..n) = cap·tanh(s/cap) in place; n a multiple of 4. Runs before the mask, as Gemma 2 caps the raw scores. */
export function softcapTile(s: usize, n: i32, cap: f32): void {
  const inv = f32x4.splat(1.0 / cap);
  const c = f32x4.splat(cap);
  for (let i = 0; i < n; i += 4) {
    const p = s + ((<usize>i) << 2);
    v128.store(p, f32x4.mul(tanhv(f32x4.mul(v128.load(p), inv)), c));
  }
}

/**
 * d(cap·tanh(x/cap))/dx = 1 − tanh² = 1 − (s/cap)² from the capped score s. A masked score is −inf:
 * the pmin keeps its factor at 0 (its probability is 0 too) rather than −inf, whose product with 0 is NaN.
 */
export function softcapSlope(s: v128, invCap: v128): v128 {
  const t = f32x4.mul(s, invCap);
  return f32x4.sub(f32x4.splat(1.0), f32x4.pmin(f32x4.mul(t, t), f32x4.splat(1.0)));
}

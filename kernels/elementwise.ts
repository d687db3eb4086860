// The model's element-wise layers in one pass each, forward and backward, in AssemblyScript with
// wasm SIMD (f32x4): GELU's tanh approximation (GPT-2's gelu_new, Gemma's gelu_pytorch_tanh),
// LayerNorm, and RMSNorm (with Gemma's (1 + w) scale). tfjs builds each from 5-9 element-wise ops
// and autodiff about twice as many again, every one a full pass over the activations.
// GELU as x·σ(2u), the same function as 0.5·x·(1 + tanh u) without the tanh (see expNeg2u).
// One thread; the host (src/engine/kernels/elementwise.ts) lays out memory. Built by
// scripts/build-kernels.mjs into src/engine/kernels/elementwise-wasm.ts.
import { expv, madd } from './simd';

export function heapBase(): usize {
  return __heap_base;
}

const GELU_C: f32 = 0.7978845608028654; // √(2/π)
const GELU_A: f32 = 0.044715;

/**
 * e = e^{−2u} for u = c·(x + a·x³) = x·(c + c·a·x²), the argument of gelu's tanh. 0.5·(1 + tanh u)
 * = σ(2u) = 1/(1 + e), so gelu(x) = x/(1 + e) with one exp and no tanh: fewer instructions than
 * through softcap.ts's tanhv (its polynomial branch, exp, division and select; forward 3.7 against
 * 4.6 ms a million floats, bench/RESULTS.md), and no cancellation in 1 + tanh u for negative x.
 * −2u is capped at 80: σ stays a normal float (≥ 1.8e−35) where gelu is 0 to float precision, so
 * no denormals (slow on x86) reach the division.
 */
function expNeg2u(v: v128, v2: v128): v128 {
  const u = f32x4.mul(v, madd(f32x4.splat(GELU_C * GELU_A), v2, f32x4.splat(GELU_C)));
  return expv(f32x4.pmin(f32x4.mul(u, f32x4.splat(-2.0)), f32x4.splat(80.0)));
}

/** x[0..n) = gelu(x) in place. Whole vectors: the host pads every buffer to 16 bytes and reads back only n. */
export function geluForward(x: usize, n: i32): void {
  const one = f32x4.splat(1.0);
  for (let i = 0; i < n; i += 4) {
    const p = x + ((<usize>i) << 2);
    const v = v128.load(p);
    v128.store(p, f32x4.div(v, f32x4.add(one, expNeg2u(v, f32x4.mul(v, v)))));
  }
}

/**
 * dy[0..n) = dy·gelu'(x) in place, e computed again (cheaper than a saved tensor's copies). With
 * s = σ(2u) = 1/(1 + e) and 1 − s = e·s: gelu'(x) = s + x·s(1 − s)·2u'(x) = s·(1 + 2x·e·s·(c + 3ca·x²)).
 */
export function geluBackward(x: usize, dy: usize, n: i32): void {
  const one = f32x4.splat(1.0);
  const c2 = f32x4.splat(2 * GELU_C);
  const ca6 = f32x4.splat(6 * GELU_C * GELU_A);
  for (let i = 0; i < n; i += 4) {
    const o = (<usize>i) << 2;
    const v = v128.load(x + o);
    const v2 = f32x4.mul(v, v);
    const e = expNeg2u(v, v2);
    const s = f32x4.div(one, f32x4.add(one, e));
    const du2 = madd(ca6, v2, c2); // 2u'(x)
    // e·s = 1 − s ≤ 1 first: x·e alone overflows for x ≲ −1e4 (e reaches e^80).
    const slope = f32x4.mul(s, madd(f32x4.mul(v, f32x4.mul(e, s)), du2, one));
    v128.store(dy + o, f32x4.mul(v128.load(dy + o), slope));
  }
}

/** Σ of a row's d floats at p (4 lanes, then the lanes, then the tail). */
function rowSum(p: usize, d: i32): f32 {
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= d; j += 4) acc = f32x4.add(acc, v128.load(p + ((<usize>j) << 2)));
  let s = hsum(acc);
  for (; j < d; j++) s += load<f32>(p + ((<usize>j) << 2));
  return s;
}

function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Σ (x − m)² over a row: the mean subtracted first, as torch and tfjs's graph do (no E[x²] − m² cancellation). */
function rowSqDev(p: usize, d: i32, m: f32): f32 {
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const c = f32x4.sub(v128.load(p + ((<usize>j) << 2)), mv);
    acc = madd(c, c, acc);
  }
  let s = hsum(acc);
  for (; j < d; j++) {
    const c = load<f32>(p + ((<usize>j) << 2)) - m;
    s += c * c;
  }
  return s;
}

/**
 * LayerNorm of `rows` rows of width d at x, in place: y = (x − mean)·rstd·w + b, rstd = 1/√(var + eps),
 * var biased (torch.nn.LayerNorm's). Per row mean and rstd are written for the backward pass.
 * RMSNorm when `rms`: no mean (0 is stored), rstd = 1/√(mean(x²) + eps), y = x·rstd·w, no b.
 */
export function normForward(x: usize, rows: i32, d: i32, w: usize, b: usize, eps: f32, rms: bool, mean: usize, rstd: usize): void {
  const inv = <f32>1.0 / <f32>d;
  for (let r = 0; r < rows; r++) {
    const p = x + ((<usize>(r * d)) << 2);
    const m: f32 = rms ? 0 : rowSum(p, d) * inv;
    const s: f32 = <f32>1.0 / Mathf.sqrt(rowSqDev(p, d, m) * inv + eps);
    store<f32>(mean + ((<usize>r) << 2), m);
    store<f32>(rstd + ((<usize>r) << 2), s);
    const mv = f32x4.splat(m);
    const sv = f32x4.splat(s);
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = (<usize>j) << 2;
      const xh = f32x4.mul(f32x4.sub(v128.load(p + o), mv), sv);
      v128.store(p + o, rms ? f32x4.mul(xh, v128.load(w + o)) : madd(xh, v128.load(w + o), v128.load(b + o)));
    }
    for (; j < d; j++) {
      const o = (<usize>j) << 2;
      const xh = (load<f32>(p + o) - m) * s;
      store<f32>(p + o, rms ? xh * load<f32>(w + o) : xh * load<f32>(w + o) + load<f32>(b + o));
    }
  }
}

/**
 * The backward pass of normForward, dy → dx in place, with x, w and the saved mean and rstd; dw
 * (and db unless `rms`) are set to the sums over rows. With x̂ = (x − mean)·rstd and g = dy·w:
 * dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) (RMSNorm: mean 0 and no mean(g) term; `mean` is not read), dw = Σ dy·x̂, db = Σ dy.
 */
export function normBackward(x: usize, dy: usize, rows: i32, d: i32, w: usize, rms: bool, mean: usize, rstd: usize, dw: usize, db: usize): void {
  memory.fill(dw, 0, (<usize>d) << 2);
  if (!rms) memory.fill(db, 0, (<usize>d) << 2);
  const inv = <f32>1.0 / <f32>d;
  for (let r = 0; r < rows; r++) {
    const o0 = (<usize>(r * d)) << 2;
    const px = x + o0;
    const pd = dy + o0;
    const m: f32 = rms ? 0 : load<f32>(mean + ((<usize>r) << 2));
    const s = load<f32>(rstd + ((<usize>r) << 2));
    const mv = f32x4.splat(m);
    const sv = f32x4.splat(s);
    // Pass 1: Σ g and Σ g·x̂.
    let ag = f32x4.splat(0);
    let agx = ag;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = (<usize>j) << 2;
      const g = f32x4.mul(v128.load(pd + o), v128.load(w + o));
      ag = f32x4.add(ag, g);
      agx = madd(g, f32x4.mul(f32x4.sub(v128.load(px + o), mv), sv), agx);
    }
    let sg = hsum(ag);
    let sgx = hsum(agx);
    for (; j < d; j++) {
      const o = (<usize>j) << 2;
      const g = load<f32>(pd + o) * load<f32>(w + o);
      sg += g;
      sgx += g * (load<f32>(px + o) - m) * s;
    }
    const mg: f32 = rms ? 0 : sg * inv;
    const mgx = sgx * inv;
    // Pass 2: dx over dy, and the row's share of dw and db.
    const mgv = f32x4.splat(mg);
    const mgxv = f32x4.splat(mgx);
    j = 0;
    for (; j + 4 <= d; j += 4) {
      const o = (<usize>j) << 2;
      const dyv = v128.load(pd + o);
      const xh = f32x4.mul(f32x4.sub(v128.load(px + o), mv), sv);
      v128.store(dw + o, madd(dyv, xh, v128.load(dw + o)));
      if (!rms) v128.store(db + o, f32x4.add(v128.load(db + o), dyv));
      const g = f32x4.mul(dyv, v128.load(w + o));
      v128.store(pd + o, f32x4.mul(sv, f32x4.sub(f32x4.sub(g, mgv), f32x4.mul(xh, mgxv))));
    }
    for (; j < d; j++) {
      const o = (<usize>j) << 2;
      const dyv = load<f32>(pd + o);
      const xh = (load<f32>(px + o) - m) * s;
      store<f32>(dw + o, load<f32>(dw + o) + dyv * xh);
      if (!rms) store<f32>(db + o, load<f32>(db + o) + dyv);
      store<f32>(pd + o, s * (dyv * load<f32>(w + o) - mg - xh * mgx));
    }
  }
}

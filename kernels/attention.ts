// Fused causal attention in AssemblyScript with wasm SIMD (f32x4), FlashAttention-style: the
// forward pass tiles over keys with an online softmax and keeps only each row's log-sum-exp; the
// backward pass recomputes every tile's probabilities from it, so no L×L tensor exists. Each call
// does one work unit on one thread; the host (src/engine/kernels/attention.ts) lays out the shared
// memory, hands units to its threads and wraps both passes as one tfjs op. Built by
// scripts/build-kernels.mjs into src/engine/kernels/attention-wasm.ts.
import { copyPadded, expv, gemm, transposePadded } from './simd';
import { softcapSlope, softcapTile } from './softcap';

/** Query rows per block and keys per tile: small, so the masked half of the diagonal tiles costs little at 128 tokens (32×32 measured no slower than 32×64 or 64×64 at 512). */
const BR: i32 = 32;
const BC: i32 = 32;
/** The log-sum-exp of a padding row: exp(s - PAD_LSE) is 0 for every score, so padding rows add nothing. */
const PAD_LSE: f32 = 3.0e38;

export function heapBase(): usize {
  return __heap_base;
}

/** Query rows per block: the host's forward chunks are multiples of it. */
export function blockRows(): i32 {
  return BR;
}

/** Keys per tile: the host's backward key ranges are multiples of it. */
export function blockKeys(): i32 {
  return BC;
}

function roundUp(n: i32, m: i32): i32 {
  return ((n + m - 1) / m) * m;
}

/** Floats of scratch that forward (backward = false) or backward needs for these sizes. */
export function workFloats(T: i32, Tk: i32, hd: i32, backward: bool): i32 {
  const tp = roundUp(T, BR);
  const kp = roundUp(Tk, BC);
  if (!backward) return tp * hd + 2 * kp * hd + BR * BC + BR * hd + 2 * BR;
  return 3 * tp * hd + 2 * tp + 5 * kp * hd + 2 * BR * BC;
}

/** Whether every (row, key) of the block starting at (i0, j0) is visible: no mask to apply. */
function tileVisible(i0: i32, j0: i32, Tk: i32, past: i32, window: i32): bool {
  if (j0 + BC - 1 > past + i0 || j0 + BC > Tk) return false;
  return window == 0 || past + i0 + BR - 1 - j0 < window;
}

/** Sets to -inf the scores of row r that its query may not see: later keys, padding keys, keys outside the window. */
function maskRow(s: usize, r: i32, i0: i32, j0: i32, Tk: i32, past: i32, window: i32): void {
  const pos = past + i0 + r;
  for (let c = 0; c < BC; c++) {
    const j = j0 + c;
    if (j > pos || j >= Tk || (window > 0 && pos - j >= window)) store<f32>(s + ((<usize>(r * BC + c)) << 2), -Infinity);
  }
}

/**
 * Forward pass, one unit: sequence b, kv head g and query rows [c·chunk, (c+1)·chunk) of its H / KV
 * query heads, for unit = (b·KV + g)·chunks + c. q [B, H, T, hd] (pointer), k and v [B, KV, Tk, hd],
 * out [B, T, H, hd], lse [B, H, T]; units write disjoint rows of out and lse. Query i sits at
 * position past + i and sees keys j ≤ past + i (and past + i − j < window when window > 0); cap > 0
 * soft-caps the scores first (Gemma 2). Query head h reads kv head h / (H / KV), as HF's repeat_kv.
 */
export function forward(
  B: i32,
  H: i32,
  KV: i32,
  T: i32,
  Tk: i32,
  hd: i32,
  past: i32,
  window: i32,
  cap: f32,
  scale: f32,
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  lse: usize,
  work: usize,
  chunk: i32,
  unit: i32,
): void {
  const tp = roundUp(T, BR);
  const kp = roundUp(Tk, BC);
  const rep = H / KV;
  const chunks = (T + chunk - 1) / chunk;
  const bg = unit / chunks;
  const b = bg / KV;
  const g = bg % KV;
  const iStart = (unit % chunks) * chunk;
  const iEnd = min(T, iStart + chunk);
  const qp = work;
  const kt = qp + ((<usize>(tp * hd)) << 2);
  const vp = kt + ((<usize>(kp * hd)) << 2);
  const s = vp + ((<usize>(kp * hd)) << 2);
  const acc = s + ((<usize>(BR * BC)) << 2);
  const m = acc + ((<usize>(BR * hd)) << 2);
  const l = m + ((<usize>BR) << 2);
  const kvOff = (<usize>((b * KV + g) * Tk * hd)) << 2;
  transposePadded(k + kvOff, Tk, hd, kp, kt);
  copyPadded(v + kvOff, hd, Tk, hd, kp, vp, 1.0);
  for (let hr = 0; hr < rep; hr++) {
    const h = g * rep + hr;
    // Only this chunk's rows, at their own offset in qp (iStart is a multiple of BR).
    const qStart = (<usize>(iStart * hd)) << 2;
    copyPadded(q + ((<usize>((b * H + h) * T * hd)) << 2) + qStart, hd, iEnd - iStart, hd, roundUp(iEnd - iStart, BR), qp + qStart, scale);
    for (let i0 = iStart; i0 < iEnd; i0 += BR) {
      forwardBlock(qp, kt, vp, s, acc, m, l, i0, Tk, kp, hd, past, window, cap);
      const rows = min(BR, T - i0);
      for (let r = 0; r < rows; r++) {
        const inv = f32x4.splat(1.0 / load<f32>(l + ((<usize>r) << 2)));
        const o = out + ((<usize>(((b * T + i0 + r) * H + h) * hd)) << 2);
        const a = acc + ((<usize>(r * hd)) << 2);
        for (let d = 0; d < hd; d += 4) v128.store(o + ((<usize>d) << 2), f32x4.mul(v128.load(a + ((<usize>d) << 2)), inv));
        store<f32>(lse + ((<usize>((b * H + h) * T + i0 + r)) << 2), load<f32>(m + ((<usize>r) << 2)) + Mathf.log(load<f32>(l + ((<usize>r) << 2))));
      }
    }
  }
}

/** One block of BR query rows against every key tile it can see: the online softmax, unnormalised output in acc. */
function forwardBlock(
  qp: usize,
  kt: usize,
  vp: usize,
  s: usize,
  acc: usize,
  m: usize,
  l: usize,
  i0: i32,
  Tk: i32,
  kp: i32,
  hd: i32,
  past: i32,
  window: i32,
  cap: f32,
): void {
  memory.fill(acc, 0, (<usize>(BR * hd)) << 2);
  for (let r = 0; r < BR; r++) {
    store<f32>(m + ((<usize>r) << 2), -Infinity);
    store<f32>(l + ((<usize>r) << 2), 0);
  }
  const lastKey = min(Tk - 1, past + i0 + BR - 1);
  const firstKey = window > 0 ? max(0, past + i0 - window + 1) : 0;
  for (let j0 = (firstKey / BC) * BC; j0 <= lastKey; j0 += BC) {
    gemm(qp + ((<usize>(i0 * hd)) << 2), hd, 1, kt + ((<usize>j0) << 2), kp, s, BC, BR, BC, hd, false);
    if (cap > 0) softcapTile(s, BR * BC, cap);
    const visible = tileVisible(i0, j0, Tk, past, window);
    for (let r = 0; r < BR; r++) {
      if (!visible) maskRow(s, r, i0, j0, Tk, past, window);
      const row = s + ((<usize>(r * BC)) << 2);
      let mx = v128.load(row);
      for (let c = 4; c < BC; c += 4) mx = f32x4.pmax(mx, v128.load(row + ((<usize>c) << 2)));
      const rowMax = max(max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
      const mOld = load<f32>(m + ((<usize>r) << 2));
      const mNew = max(mOld, rowMax);
      // A row that has seen only masked keys so far keeps -inf; shifting by 0 then keeps its exps at 0, not NaN.
      const shift: f32 = mNew == -Infinity ? 0 : mNew;
      const sh = f32x4.splat(shift);
      let sum = f32x4.splat(0);
      for (let c = 0; c < BC; c += 4) {
        const p = expv(f32x4.sub(v128.load(row + ((<usize>c) << 2)), sh));
        v128.store(row + ((<usize>c) << 2), p);
        sum = f32x4.add(sum, p);
      }
      const rowSum = f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3);
      const alpha = Mathf.exp(mOld - shift);
      store<f32>(l + ((<usize>r) << 2), load<f32>(l + ((<usize>r) << 2)) * alpha + rowSum);
      store<f32>(m + ((<usize>r) << 2), mNew);
      if (alpha != 1) {
        const av = f32x4.splat(alpha);
        const a = acc + ((<usize>(r * hd)) << 2);
        for (let d = 0; d < hd; d += 4) v128.store(a + ((<usize>d) << 2), f32x4.mul(v128.load(a + ((<usize>d) << 2)), av));
      }
    }
    gemm(s, BC, 1, vp + ((<usize>(j0 * hd)) << 2), hd, acc, hd, BR, hd, BC, true);
  }
}

/**
 * Backward pass, one unit: sequence b, kv head g and keys [r·keyChunk, (r+1)·keyChunk), for unit =
 * (b·KV + g)·ranges + r. From dout [B, T, H, hd] (out's layout) and the forward's out and lse, the
 * gradients dq [B, H, T, hd], dk and dv [B, KV, Tk, hd] (overwritten). FlashAttention-2's order: key
 * tiles outside, query blocks inside, so dK and dV of a tile accumulate in place. A unit owns its
 * rows of dk and dv; its dq is the sum over its keys only, written to dq + r·B·H·T·hd floats (the
 * host adds the ranges' parts when there are several), so units never write the same memory.
 */
export function backward(
  B: i32,
  H: i32,
  KV: i32,
  T: i32,
  Tk: i32,
  hd: i32,
  past: i32,
  window: i32,
  cap: f32,
  scale: f32,
  q: usize,
  k: usize,
  v: usize,
  out: usize,
  lse: usize,
  dout: usize,
  dq: usize,
  dk: usize,
  dv: usize,
  work: usize,
  keyChunk: i32,
  unit: i32,
): void {
  const tp = roundUp(T, BR);
  const kp = roundUp(Tk, BC);
  const rep = H / KV;
  const ranges = (Tk + keyChunk - 1) / keyChunk;
  const r = unit % ranges;
  const kStart = r * keyChunk;
  const kEnd = min(Tk, kStart + keyChunk);
  const qp = work;
  const dop = qp + ((<usize>(tp * hd)) << 2);
  const dqa = dop + ((<usize>(tp * hd)) << 2);
  const dd = dqa + ((<usize>(tp * hd)) << 2);
  const lp = dd + ((<usize>tp) << 2);
  const kt = lp + ((<usize>tp) << 2);
  const vt = kt + ((<usize>(kp * hd)) << 2);
  const kr = vt + ((<usize>(kp * hd)) << 2);
  const dka = kr + ((<usize>(kp * hd)) << 2);
  const dva = dka + ((<usize>(kp * hd)) << 2);
  const s = dva + ((<usize>(kp * hd)) << 2);
  const dp = s + ((<usize>(BR * BC)) << 2);
  const rowStride = H * hd;
  const b = unit / ranges / KV;
  const g = (unit / ranges) % KV;
  const kvOff = (<usize>((b * KV + g) * Tk * hd)) << 2;
  transposePadded(k + kvOff, Tk, hd, kp, kt);
  transposePadded(v + kvOff, Tk, hd, kp, vt);
  copyPadded(k + kvOff, hd, Tk, hd, kp, kr, 1.0);
  memory.fill(dka, 0, (<usize>(2 * kp * hd)) << 2); // dka and dva are adjacent
  for (let hr = 0; hr < rep; hr++) {
    const h = g * rep + hr;
    copyPadded(q + ((<usize>((b * H + h) * T * hd)) << 2), hd, T, hd, tp, qp, scale);
    const headOut = (<usize>((b * T * H + h) * hd)) << 2;
    copyPadded(dout + headOut, rowStride, T, hd, tp, dop, 1.0);
    for (let i = 0; i < tp; i++) {
      let d: f32 = 0;
      let lv: f32 = PAD_LSE;
      if (i < T) {
        const o = out + headOut + ((<usize>(i * rowStride)) << 2);
        const g2 = dop + ((<usize>(i * hd)) << 2);
        let acc = f32x4.splat(0);
        for (let c = 0; c < hd; c += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(o + ((<usize>c) << 2)), v128.load(g2 + ((<usize>c) << 2))));
        d = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        lv = load<f32>(lse + ((<usize>((b * H + h) * T + i)) << 2));
      }
      store<f32>(dd + ((<usize>i) << 2), d);
      store<f32>(lp + ((<usize>i) << 2), lv);
    }
    memory.fill(dqa, 0, (<usize>(tp * hd)) << 2);
    for (let j0 = kStart; j0 < kEnd; j0 += BC) {
      const iFirst = max(0, j0 - past);
      const iEnd = window > 0 ? min(T, j0 + BC - 1 + window - past) : T;
      for (let i0 = (iFirst / BR) * BR; i0 < iEnd; i0 += BR)
        backwardTile(qp, dop, dqa, dd, lp, kt, vt, kr, dka, dva, s, dp, i0, j0, Tk, kp, hd, past, window, cap);
    }
    const dqHead = dq + ((<usize>(r * B * H * T * hd + (b * H + h) * T * hd)) << 2);
    copyPadded(dqa, hd, T, hd, T, dqHead, scale);
  }
  const kOff = (<usize>(kStart * hd)) << 2;
  copyPadded(dka + kOff, hd, kEnd - kStart, hd, kEnd - kStart, dk + kvOff + kOff, 1.0);
  copyPadded(dva + kOff, hd, kEnd - kStart, hd, kEnd - kStart, dv + kvOff + kOff, 1.0);
}

/** One (query block, key tile) of the backward pass: P recomputed from lse, then dV, dS, dQ and dK. */
function backwardTile(
  qp: usize,
  dop: usize,
  dqa: usize,
  dd: usize,
  lp: usize,
  kt: usize,
  vt: usize,
  kr: usize,
  dka: usize,
  dva: usize,
  s: usize,
  dp: usize,
  i0: i32,
  j0: i32,
  Tk: i32,
  kp: i32,
  hd: i32,
  past: i32,
  window: i32,
  cap: f32,
): void {
  const qBlock = qp + ((<usize>(i0 * hd)) << 2);
  const doBlock = dop + ((<usize>(i0 * hd)) << 2);
  gemm(qBlock, hd, 1, kt + ((<usize>j0) << 2), kp, s, BC, BR, BC, hd, false); // S = Q Kᵀ (Q pre-scaled)
  gemm(doBlock, hd, 1, vt + ((<usize>j0) << 2), kp, dp, BC, BR, BC, hd, false); // dP = dO Vᵀ
  if (cap > 0) softcapTile(s, BR * BC, cap);
  const invCap = f32x4.splat(cap > 0 ? 1.0 / cap : 0);
  const visible = tileVisible(i0, j0, Tk, past, window);
  for (let r = 0; r < BR; r++) {
    if (!visible) maskRow(s, r, i0, j0, Tk, past, window);
    const row = s + ((<usize>(r * BC)) << 2);
    const drow = dp + ((<usize>(r * BC)) << 2);
    const lv = f32x4.splat(load<f32>(lp + ((<usize>(i0 + r)) << 2)));
    const dv = f32x4.splat(load<f32>(dd + ((<usize>(i0 + r)) << 2)));
    for (let c = 0; c < BC; c += 4) {
      const off = (<usize>c) << 2;
      const sc = v128.load(row + off);
      const p = expv(f32x4.sub(sc, lv));
      v128.store(row + off, p);
      let ds = f32x4.mul(p, f32x4.sub(v128.load(drow + off), dv)); // dS = P ∘ (dP − D)
      if (cap > 0) ds = f32x4.mul(ds, softcapSlope(sc, invCap)); // through the cap: × (1 − tanh²)
      v128.store(drow + off, ds);
    }
  }
  gemm(s, 1, BC, doBlock, hd, dva + ((<usize>(j0 * hd)) << 2), hd, BC, hd, BR, true); // dV += Pᵀ dO
  gemm(dp, BC, 1, kr + ((<usize>(j0 * hd)) << 2), hd, dqa + ((<usize>(i0 * hd)) << 2), hd, BR, hd, BC, true); // dQ += dS K
  gemm(dp, 1, BC, qBlock, hd, dka + ((<usize>(j0 * hd)) << 2), hd, BC, hd, BR, true); // dK += dSᵀ (scale·Q)
}

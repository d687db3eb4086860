// A single-precision matrix product C = A·B in AssemblyScript with wasm SIMD (f32x4), for the
// model's dense products (x·W, x·Wᵀ, dy·W, dyᵀ·x): A and B are read through strides, so a
// transposed operand costs only its packing, never a separate transpose. GotoBLAS's blocking
// (K in blocks of KC, rows in blocks of MC, both operands packed), a 4×8 register block. `gemm` is
// one thread; `gemmUnit` is one block of C's rows or columns, so that the host's threads (on a
// shared memory) split a product; each element sums over K in the same order either way.
// Built by scripts/build-kernels.mjs into src/engine/kernels/gemm-wasm.ts; the host
// (src/engine/kernels/gemm.ts) lays out memory and decides when this runs instead of XNNPACK.
import { madd } from './simd';

/** Register block: 4 rows × 8 columns = 8 f32x4 accumulators (V8 keeps 15 xmm registers free: 6×8 would spill). */
const MR: i32 = 4;
const NR: i32 = 8;
/** K block: a packed 4-row A panel (4 KiB) and an 8-column B panel (8 KiB) stay in L1 across a tile. */
const KC: i32 = 256;
/** Rows per packed A block (128 KiB at KC = 256, within L2) and columns per packed B block (1 MiB). */
const MC: i32 = 128;
const NC: i32 = 1024;

export function heapBase(): usize {
  return __heap_base;
}

/** Floats of scratch that gemm needs: the packed A block, the packed B block and one edge tile. */
export function workFloats(): i32 {
  return MC * KC + NC * KC + MR * NR;
}

/**
 * C [M×N, row stride N] = A·B. A's element (i, k) is at a + 4·(i·ars + k·aks) and B's (k, j) at
 * b + 4·(k·bks + j·bjs): A = Xᵀ is ars = 1, aks = rows of X; B = Wᵀ is bks = 1, bjs = columns of W.
 * Any M, N, K ≥ 1 (edges are zero-padded in the packs). `work` holds workFloats() floats, 16-byte aligned.
 */
export function gemm(M: i32, N: i32, K: i32, a: usize, ars: i32, aks: i32, b: usize, bks: i32, bjs: i32, c: usize, work: usize): void {
  product(M, N, K, a, ars, aks, b, bks, bjs, c, N, work);
}

/**
 * Unit u of gemm's product split into blocks of mu rows × nu columns of C, row-major over the
 * blocks (the host makes mu a multiple of 4 and nu of 8, so the register tiles are gemm's own). Each
 * unit packs its own operands into its thread's `work`, and writes only its block of C.
 */
export function gemmUnit(
  M: i32,
  N: i32,
  K: i32,
  a: usize,
  ars: i32,
  aks: i32,
  b: usize,
  bks: i32,
  bjs: i32,
  c: usize,
  work: usize,
  mu: i32,
  nu: i32,
  u: i32,
): void {
  const perRow = (N + nu - 1) / nu;
  const i0 = (u / perRow) * mu;
  const j0 = (u % perRow) * nu;
  if (i0 >= M) return;
  const ap = a + ((<usize>(i0 * ars)) << 2);
  const bp = b + ((<usize>(j0 * bjs)) << 2);
  const cp = c + ((<usize>(i0 * N + j0)) << 2);
  product(min(mu, M - i0), min(nu, N - j0), K, ap, ars, aks, bp, bks, bjs, cp, N, work);
}

/** gemm with C's row stride `ldc`. */
function product(M: i32, N: i32, K: i32, a: usize, ars: i32, aks: i32, b: usize, bks: i32, bjs: i32, c: usize, ldc: i32, work: usize): void {
  const pa = work;
  const pb = pa + ((<usize>(MC * KC)) << 2);
  const edge = pb + ((<usize>(NC * KC)) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b, bks, bjs, pc, kc, jc, nc, pb);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(a, ars, aks, ic, mc, pc, kc, pa);
        block(pa, pb, c, ldc, ic, mc, jc, nc, kc, pc > 0, edge);
      }
    }
  }
}

/** Packs B's rows pc..pc+kc, columns jc..jc+nc as panels of NR columns, k-major (NR floats per k), zero columns past nc. */
function packB(b: usize, bks: i32, bjs: i32, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    const panel = dst + ((<usize>(j0 * kc)) << 2);
    const src = b + ((<usize>(pc * bks + (jc + j0) * bjs)) << 2);
    if (bjs == 1 && cols == NR) {
      const step = (<usize>bks) << 2;
      let s = src;
      let d = panel;
      for (let k = 0; k < kc; k++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        s += step;
        d += NR << 2;
      }
      continue;
    }
    // Transposed B (bks = 1: each column is contiguous in k) or an edge panel: element by element.
    if (cols < NR) memory.fill(panel, 0, (<usize>(kc * NR)) << 2);
    for (let c = 0; c < cols; c++) {
      const s = src + ((<usize>(c * bjs)) << 2);
      const d = panel + ((<usize>c) << 2);
      for (let k = 0; k < kc; k++) store<f32>(d + ((<usize>(k * NR)) << 2), load<f32>(s + ((<usize>(k * bks)) << 2)));
    }
  }
}

/** Packs A's rows ic..ic+mc, columns pc..pc+kc as panels of MR rows, k-major (MR floats per k), zero rows past mc. */
function packA(a: usize, ars: i32, aks: i32, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    const panel = dst + ((<usize>(i0 * kc)) << 2);
    const src = a + ((<usize>((ic + i0) * ars + pc * aks)) << 2);
    if (ars == 1 && rows == MR) {
      // A = Xᵀ: the MR rows of each k are adjacent.
      const step = (<usize>aks) << 2;
      let s = src;
      let d = panel;
      for (let k = 0; k < kc; k++) {
        v128.store(d, v128.load(s));
        s += step;
        d += MR << 2;
      }
      continue;
    }
    if (rows < MR) memory.fill(panel, 0, (<usize>(kc * MR)) << 2);
    for (let r = 0; r < rows; r++) {
      const s = src + ((<usize>(r * ars)) << 2);
      const d = panel + ((<usize>r) << 2);
      for (let k = 0; k < kc; k++) store<f32>(d + ((<usize>(k * MR)) << 2), load<f32>(s + ((<usize>(k * aks)) << 2)));
    }
  }
}

/** Every MR×NR tile of the packed blocks into C; `add` accumulates onto C (K blocks after the first). */
function block(pa: usize, pb: usize, c: usize, ldc: i32, ic: i32, mc: i32, jc: i32, nc: i32, kc: i32, add: bool, edge: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const bp = pb + ((<usize>(j0 * kc)) << 2);
    const cols = min(NR, nc - j0);
    for (let i0 = 0; i0 < mc; i0 += MR) {
      const ap = pa + ((<usize>(i0 * kc)) << 2);
      const rows = min(MR, mc - i0);
      const cp = c + ((<usize>((ic + i0) * ldc + jc + j0)) << 2);
      if (rows == MR && cols == NR) {
        micro(ap, bp, kc, cp, ldc, add);
        continue;
      }
      // Edge tile: computed whole into `edge`, then only its valid part goes to C.
      micro(ap, bp, kc, edge, NR, false);
      for (let r = 0; r < rows; r++) {
        for (let q = 0; q < cols; q++) {
          const dst = cp + ((<usize>(r * ldc + q)) << 2);
          const v = load<f32>(edge + ((<usize>(r * NR + q)) << 2));
          store<f32>(dst, add ? load<f32>(dst) + v : v);
        }
      }
    }
  }
}

/** C[MR×NR] (+)= Apanel·Bpanel over kc: 8 accumulators, two B vectors and one broadcast A value per step. */
function micro(ap: usize, bp: usize, kc: i32, cp: usize, ldc: i32, add: bool): void {
  const cRow = (<usize>ldc) << 2;
  let c00 = f32x4.splat(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let pa = ap;
  let pb = bp;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let av = v128.load32_splat(pa);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(pa, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(pa, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(pa, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    pa += MR << 2;
    pb += NR << 2;
  }
  if (add) {
    c00 = f32x4.add(c00, v128.load(cp));
    c01 = f32x4.add(c01, v128.load(cp, 16));
    c10 = f32x4.add(c10, v128.load(cp + cRow));
    c11 = f32x4.add(c11, v128.load(cp + cRow, 16));
    c20 = f32x4.add(c20, v128.load(cp + 2 * cRow));
    c21 = f32x4.add(c21, v128.load(cp + 2 * cRow, 16));
    c30 = f32x4.add(c30, v128.load(cp + 3 * cRow));
    c31 = f32x4.add(c31, v128.load(cp + 3 * cRow, 16));
  }
  v128.store(cp, c00);
  v128.store(cp, c01, 16);
  v128.store(cp + cRow, c10);
  v128.store(cp + cRow, c11, 16);
  v128.store(cp + 2 * cRow, c20);
  v128.store(cp + 2 * cRow, c21, 16);
  v128.store(cp + 3 * cRow, c30);
  v128.store(cp + 3 * cRow, c31, 16);
}

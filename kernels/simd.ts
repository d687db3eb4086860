// SIMD building blocks of the kernels (kernels/attention.ts): a register-blocked matrix product,
// e^x on f32x4 lanes, and padded copies and transposes. One thread; pointers into linear memory.

/** a·b + c: one fused multiply-add where the build has relaxed SIMD (the FMA build), else a product and a sum. */
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/**
 * C[M×N] (+)= A·B. A's element (i, k) is at a + 4·(i·ars + k·aks), so a transposed A is just other
 * strides; B is row-major with row stride ldb; C has row stride ldc. M and N are multiples of 4.
 * 4×8 register block: 8 accumulators, two B vectors and one broadcast A value.
 */
export function gemm(a: usize, ars: i32, aks: i32, b: usize, ldb: i32, c: usize, ldc: i32, M: i32, N: i32, K: i32, add: bool): void {
  const aStep = (<usize>aks) << 2;
  const bStep = (<usize>ldb) << 2;
  const aRow = (<usize>ars) << 2;
  const cRow = (<usize>ldc) << 2;
  for (let i = 0; i < M; i += 4) {
    const a0 = a + ((<usize>(i * ars)) << 2);
    const c0 = c + ((<usize>(i * ldc)) << 2);
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      const cp = c0 + ((<usize>j) << 2);
      let c00 = f32x4.splat(0);
      let c01 = c00;
      let c10 = c00;
      let c11 = c00;
      let c20 = c00;
      let c21 = c00;
      let c30 = c00;
      let c31 = c00;
      if (add) {
        c00 = v128.load(cp);
        c01 = v128.load(cp, 16);
        c10 = v128.load(cp + cRow);
        c11 = v128.load(cp + cRow, 16);
        c20 = v128.load(cp + 2 * cRow);
        c21 = v128.load(cp + 2 * cRow, 16);
        c30 = v128.load(cp + 3 * cRow);
        c31 = v128.load(cp + 3 * cRow, 16);
      }
      let pa = a0;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        let av = v128.load32_splat(pa);
        c00 = madd(av, b0, c00);
        c01 = madd(av, b1, c01);
        av = v128.load32_splat(pa + aRow);
        c10 = madd(av, b0, c10);
        c11 = madd(av, b1, c11);
        av = v128.load32_splat(pa + 2 * aRow);
        c20 = madd(av, b0, c20);
        c21 = madd(av, b1, c21);
        av = v128.load32_splat(pa + 3 * aRow);
        c30 = madd(av, b0, c30);
        c31 = madd(av, b1, c31);
        pa += aStep;
        pb += bStep;
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
    if (j < N) {
      const cp = c0 + ((<usize>j) << 2);
      let c00 = f32x4.splat(0);
      let c10 = c00;
      let c20 = c00;
      let c30 = c00;
      if (add) {
        c00 = v128.load(cp);
        c10 = v128.load(cp + cRow);
        c20 = v128.load(cp + 2 * cRow);
        c30 = v128.load(cp + 3 * cRow);
      }
      let pa = a0;
      let pb = b + ((<usize>j) << 2);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(pb);
        c00 = madd(v128.load32_splat(pa), b0, c00);
        c10 = madd(v128.load32_splat(pa + aRow), b0, c10);
        c20 = madd(v128.load32_splat(pa + 2 * aRow), b0, c20);
        c30 = madd(v128.load32_splat(pa + 3 * aRow), b0, c30);
        pa += aStep;
        pb += bStep;
      }
      v128.store(cp, c00);
      v128.store(cp + cRow, c10);
      v128.store(cp + 2 * cRow, c20);
      v128.store(cp + 3 * cRow, c30);
    }
  }
}

/**
 * e^x per lane (Cephes' expf polynomial, ~1 ulp); x below -87 (masked scores are -inf) gives exactly 0.
 * pmin/pmax and the 1.5·2²³ rounding trick rather than min/max/nearest/trunc_sat, which V8 lowers
 * to several instructions each for their NaN and saturation rules (irrelevant here).
 */
export function expv(x: v128): v128 {
  const keep = f32x4.ge(x, f32x4.splat(-87.0));
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const magic = f32x4.splat(12582912.0); // 1.5·2²³: adding it rounds to an integer held in the low mantissa bits
  const nm = f32x4.add(f32x4.mul(xc, f32x4.splat(1.44269504)), magic);
  const n = f32x4.sub(nm, magic);
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.1219444e-4)));
  let p = f32x4.splat(1.98756915e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.39819995e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.33345191e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.16657959e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.66666655e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.00000012e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1.0));
  // nm's bits are 0x4B400000 + n: adding 127 and shifting by 23 leaves 2^n's exponent field.
  const pow2 = i32x4.shl(i32x4.add(nm, i32x4.splat(127 - 0x4b400000)), 23);
  return v128.and(f32x4.mul(p, pow2), keep);
}

/** Copies `rows` rows of `cols` floats (row stride `stride`) into a dense buffer of `padRows` rows, zeros after; scaled by `scale`. */
export function copyPadded(src: usize, stride: i32, rows: i32, cols: i32, padRows: i32, dst: usize, scale: f32): void {
  const sv = f32x4.splat(scale);
  for (let r = 0; r < padRows; r++) {
    const d = dst + ((<usize>(r * cols)) << 2);
    if (r >= rows) {
      memory.fill(d, 0, (<usize>cols) << 2);
      continue;
    }
    const s = src + ((<usize>(r * stride)) << 2);
    for (let c = 0; c < cols; c += 4) v128.store(d + ((<usize>c) << 2), f32x4.mul(v128.load(s + ((<usize>c) << 2)), sv));
  }
}

/** dst [cols × padRows] = srcᵀ for src [rows × cols], zero columns from `rows` on. */
export function transposePadded(src: usize, rows: i32, cols: i32, padRows: i32, dst: usize): void {
  memory.fill(dst, 0, (<usize>(cols * padRows)) << 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) store<f32>(dst + ((<usize>(c * padRows + r)) << 2), load<f32>(src + ((<usize>(r * cols + c)) << 2)));
  }
}

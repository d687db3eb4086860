// WGSL sources of the fused attention kernels for the webgpu backend (attention-webgpu.ts runs
// them): forward (online softmax over key tiles, writing the output and each row's log-sum-exp)
// and the backward pass in two kernels (dQ per query row; dK and dV per key row), both recomputing
// the scores from the saved log-sum-exp. Only the shader text lives here, no tfjs calls.

/** Threads per workgroup: one query row (forward, dQ) or one key row (dK/dV) each. */
export const ROWS_PER_WORKGROUP = 64;

/**
 * The kernels read q, k, v and dy as vec4s (the head dim must be a multiple of 4): a quarter of the
 * loop iterations, which matters on software adapters too (llvmpipe stops any invocation after 65535
 * loop iterations in all; see loopIterations).
 */
export const VEC4_INPUTS = [4, 4, 4, 4, 1];

/**
 * Rows of keys (or queries) staged in workgroup memory per tile: two tiles of `tile × hd` floats
 * (plus a few per-row floats) stay within 16 KiB, WebGPU's default maxComputeWorkgroupStorageSize.
 */
export function tileRows(hd: number): number {
  return Math.max(1, Math.min(32, Math.floor(1984 / hd)));
}

/**
 * An upper bound on the loop iterations one invocation runs, over all its loops, in the costliest of
 * the three kernels (every tile counted as live). Mesa's llvmpipe (and lavapipe) end an invocation
 * after 65535 in all, silently: its output is then wrong, so software adapters decline above a limit.
 */
export function loopIterations(hd: number, T: number, Tk: number, rep: number): number {
  const h4 = hd / 4;
  const tile = tileRows(hd);
  const load = Math.ceil((tile * h4) / ROWS_PER_WORKGROUP);
  const forward = 2 * h4 + Math.ceil(Tk / tile) * (1 + load + 2 * tile * (h4 + 1) + h4);
  const query = 2 * h4 + Math.ceil(Tk / tile) * (1 + load + tile * (2 * h4 + 1));
  const keyValue = 2 * h4 + rep * (1 + Math.ceil(T / tile) * (2 + load + Math.ceil(tile / ROWS_PER_WORKGROUP) + tile * (2 * h4 + 1)));
  return Math.max(forward, query, keyValue);
}

/**
 * Uniforms every kernel reads, after tfjs's own (shapes and strides): attnDims = (B, H, KV, T),
 * attnDims2 = (Tk, past, window, 0), attnScale. Causal: query i sits at position past + i and sees
 * key j when j ≤ past + i and, with a window, past + i − j < window.
 */
export const UNIFORMS = 'attnDims : vec4<i32>, attnDims2 : vec4<i32>, attnScale : f32,';

/**
 * The loops that hold a workgroupBarrier run over every key tile (bounds from uniforms only): tfjs
 * copies the workgroup id into a private variable, which WGSL's uniformity analysis treats as
 * varying, so the causal and window skips are per-tile conditions around the work, not loop bounds.
 */
function header(hd: number, tile: number): string {
  return `
const ATT_HD : i32 = ${hd / 4}; // in vec4s
const ATT_TILE : i32 = ${tile};
const ATT_WG : i32 = ${ROWS_PER_WORKGROUP};
fn attVisible(pos : i32, j : i32, win : i32) -> bool {
  return j <= pos && (win == 0 || pos - j < win);
}
fn attStore(at : i32, x : vec4<f32>) {
  result[at] = x.x; result[at + 1] = x.y; result[at + 2] = x.z; result[at + 3] = x.w;
}`;
}

/**
 * Forward. Workgroup (query tile, head, batch); inputs Q [B,H,T,hd], K and V [B,KV,Tk,hd];
 * result: the output in [B,T,H,hd] order (what the output projection reads), then lse [B,H,T].
 */
export function forwardSource(hd: number): string {
  const tile = tileRows(hd);
  return `${header(hd, tile)}
var<workgroup> kTile : array<vec4<f32>, ${(tile * hd) / 4}>;
var<workgroup> vTile : array<vec4<f32>, ${(tile * hd) / 4}>;

fn main() {
  let H = uniforms.attnDims.y; let KV = uniforms.attnDims.z; let T = uniforms.attnDims.w;
  let Tk = uniforms.attnDims2.x; let past = uniforms.attnDims2.y; let win = uniforms.attnDims2.z;
  let B = uniforms.attnDims.x;
  let r = i32(localId.x);
  let i0 = i32(workgroupId.x) * ATT_WG;
  let h = i32(workgroupId.y); let b = i32(workgroupId.z);
  let i = i0 + r;
  let rowOk = i < T;
  let ic = min(i, T - 1);
  let pos = past + ic;
  let kvBase = (b * KV + h / (H / KV)) * Tk * ATT_HD;
  let qBase = ((b * H + h) * T + ic) * ATT_HD;
  var qr : array<vec4<f32>, ATT_HD>;
  var acc : array<vec4<f32>, ATT_HD>;
  var sc : array<f32, ATT_TILE>;
  for (var d = 0; d < ATT_HD; d++) { qr[d] = Q[qBase + d] * uniforms.attnScale; acc[d] = vec4<f32>(0.0); }
  // The keys any row of this workgroup sees: [jLo, jHi).
  let jHi = past + min(i0 + ATT_WG, T);
  var jLo = 0;
  if (win > 0) { jLo = max(0, past + i0 - win + 1); }
  var m = -3.0e38;
  var l = 0.0;
  let tiles = (Tk + ATT_TILE - 1) / ATT_TILE;
  for (var tt = 0; tt < tiles; tt++) {
    let j0 = tt * ATT_TILE;
    let live = j0 < jHi && j0 + ATT_TILE > jLo;
    workgroupBarrier();
    if (live) {
      let n = min(ATT_TILE, Tk - j0) * ATT_HD;
      for (var x = r; x < n; x += ATT_WG) {
        kTile[x] = K[kvBase + j0 * ATT_HD + x];
        vTile[x] = V[kvBase + j0 * ATT_HD + x];
      }
    }
    workgroupBarrier();
    if (live) {
      let n = min(ATT_TILE, Tk - j0);
      var mt = -3.0e38;
      for (var t = 0; t < n; t++) {
        var s = -3.0e38;
        if (attVisible(pos, j0 + t, win)) {
          s = 0.0;
          for (var d = 0; d < ATT_HD; d++) { s += dot(qr[d], kTile[t * ATT_HD + d]); }
          mt = max(mt, s);
        }
        sc[t] = s;
      }
      if (mt > -1.0e38) {
        let mNew = max(m, mt);
        let c = exp(m - mNew);
        l *= c;
        for (var d = 0; d < ATT_HD; d++) { acc[d] *= c; }
        m = mNew;
        for (var t = 0; t < n; t++) {
          if (sc[t] > -1.0e38) {
            let p = exp(sc[t] - m);
            l += p;
            for (var d = 0; d < ATT_HD; d++) { acc[d] += p * vTile[t * ATT_HD + d]; }
          }
        }
      }
    }
  }
  if (rowOk) {
    let oBase = ((b * T + i) * H + h) * ATT_HD;
    for (var d = 0; d < ATT_HD; d++) { attStore(4 * (oBase + d), acc[d] / l); }
    result[4 * B * T * H * ATT_HD + (b * H + h) * T + i] = m + log(l);
  }
}
`;
}

/**
 * dQ. Workgroup (query tile, head, batch); inputs Q, K, V, DY [B,T,H,hd] and STATS (lse [B,H,T]
 * then delta = rowsum(dy·out) [B,H,T]); result dQ [B,H,T,hd].
 */
export function backwardQuerySource(hd: number): string {
  const tile = tileRows(hd);
  return `${header(hd, tile)}
var<workgroup> kTile : array<vec4<f32>, ${(tile * hd) / 4}>;
var<workgroup> vTile : array<vec4<f32>, ${(tile * hd) / 4}>;

fn main() {
  let B = uniforms.attnDims.x; let H = uniforms.attnDims.y; let KV = uniforms.attnDims.z; let T = uniforms.attnDims.w;
  let Tk = uniforms.attnDims2.x; let past = uniforms.attnDims2.y; let win = uniforms.attnDims2.z;
  let scale = uniforms.attnScale;
  let r = i32(localId.x);
  let i0 = i32(workgroupId.x) * ATT_WG;
  let h = i32(workgroupId.y); let b = i32(workgroupId.z);
  let i = i0 + r;
  let ic = min(i, T - 1);
  let pos = past + ic;
  let kvBase = (b * KV + h / (H / KV)) * Tk * ATT_HD;
  let qBase = ((b * H + h) * T + ic) * ATT_HD;
  let dyBase = ((b * T + ic) * H + h) * ATT_HD;
  let row = (b * H + h) * T + ic;
  let lse = STATS[row];
  let delta = STATS[B * H * T + row];
  var qr : array<vec4<f32>, ATT_HD>;
  var dyr : array<vec4<f32>, ATT_HD>;
  var dq : array<vec4<f32>, ATT_HD>;
  for (var d = 0; d < ATT_HD; d++) { qr[d] = Q[qBase + d] * scale; dyr[d] = DY[dyBase + d]; dq[d] = vec4<f32>(0.0); }
  let jHi = past + min(i0 + ATT_WG, T);
  var jLo = 0;
  if (win > 0) { jLo = max(0, past + i0 - win + 1); }
  let tiles = (Tk + ATT_TILE - 1) / ATT_TILE;
  for (var tt = 0; tt < tiles; tt++) {
    let j0 = tt * ATT_TILE;
    let live = j0 < jHi && j0 + ATT_TILE > jLo;
    workgroupBarrier();
    if (live) {
      let n = min(ATT_TILE, Tk - j0) * ATT_HD;
      for (var x = r; x < n; x += ATT_WG) {
        kTile[x] = K[kvBase + j0 * ATT_HD + x];
        vTile[x] = V[kvBase + j0 * ATT_HD + x];
      }
    }
    workgroupBarrier();
    if (live) {
      let n = min(ATT_TILE, Tk - j0);
      for (var t = 0; t < n; t++) {
        if (attVisible(pos, j0 + t, win)) {
          var s = 0.0;
          var dp = 0.0;
          for (var d = 0; d < ATT_HD; d++) {
            s += dot(qr[d], kTile[t * ATT_HD + d]);
            dp += dot(dyr[d], vTile[t * ATT_HD + d]);
          }
          let ds = exp(s - lse) * (dp - delta);
          for (var d = 0; d < ATT_HD; d++) { dq[d] += ds * kTile[t * ATT_HD + d]; }
        }
      }
    }
  }
  if (i < T) {
    for (var d = 0; d < ATT_HD; d++) { attStore(4 * (qBase + d), dq[d] * scale); }
  }
}
`;
}

/**
 * dK and dV. Workgroup (key tile, kv head, batch): each thread owns one key row and walks the
 * query rows of every head that shares its kv head, staged in tiles; inputs as for dQ; result: dK
 * [B,KV,Tk,hd] then dV [B,KV,Tk,hd].
 */
export function backwardKeyValueSource(hd: number): string {
  const tile = tileRows(hd);
  return `${header(hd, tile)}
var<workgroup> qTile : array<vec4<f32>, ${(tile * hd) / 4}>;
var<workgroup> dyTile : array<vec4<f32>, ${(tile * hd) / 4}>;
var<workgroup> lseTile : array<f32, ${tile}>;
var<workgroup> deltaTile : array<f32, ${tile}>;

fn main() {
  let B = uniforms.attnDims.x; let H = uniforms.attnDims.y; let KV = uniforms.attnDims.z; let T = uniforms.attnDims.w;
  let Tk = uniforms.attnDims2.x; let past = uniforms.attnDims2.y; let win = uniforms.attnDims2.z;
  let scale = uniforms.attnScale;
  let rep = H / KV;
  let r = i32(localId.x);
  let j0k = i32(workgroupId.x) * ATT_WG;
  let kvh = i32(workgroupId.y); let b = i32(workgroupId.z);
  let j = j0k + r;
  let jc = min(j, Tk - 1);
  let kBase = ((b * KV + kvh) * Tk + jc) * ATT_HD;
  var kr : array<vec4<f32>, ATT_HD>;
  var vr : array<vec4<f32>, ATT_HD>;
  var dk : array<vec4<f32>, ATT_HD>;
  var dv : array<vec4<f32>, ATT_HD>;
  for (var d = 0; d < ATT_HD; d++) { kr[d] = K[kBase + d] * scale; vr[d] = V[kBase + d]; dk[d] = vec4<f32>(0.0); dv[d] = vec4<f32>(0.0); }
  // The query rows any key of this workgroup is seen by: positions [j0k, jLast + window).
  let jLast = min(j0k + ATT_WG, Tk) - 1;
  let iLo = j0k - past;
  var iHi = T;
  if (win > 0) { iHi = min(T, jLast + win - past); }
  let tiles = (T + ATT_TILE - 1) / ATT_TILE;
  for (var hh = 0; hh < rep; hh++) {
    let h = kvh * rep + hh;
    for (var tt = 0; tt < tiles; tt++) {
      let i0 = tt * ATT_TILE;
      let live = i0 + ATT_TILE > iLo && i0 < iHi;
      workgroupBarrier();
      if (live) {
        let n = min(ATT_TILE, T - i0);
        for (var x = r; x < n * ATT_HD; x += ATT_WG) {
          let t = x / ATT_HD;
          let d = x - t * ATT_HD;
          qTile[x] = Q[((b * H + h) * T + i0 + t) * ATT_HD + d];
          dyTile[x] = DY[((b * T + i0 + t) * H + h) * ATT_HD + d];
        }
        for (var t = r; t < n; t += ATT_WG) {
          let row = (b * H + h) * T + i0 + t;
          lseTile[t] = STATS[row];
          deltaTile[t] = STATS[B * H * T + row];
        }
      }
      workgroupBarrier();
      if (live) {
        let n = min(ATT_TILE, T - i0);
        for (var t = 0; t < n; t++) {
          if (attVisible(past + i0 + t, jc, win)) {
            var s = 0.0;
            var dp = 0.0;
            for (var d = 0; d < ATT_HD; d++) {
              s += dot(qTile[t * ATT_HD + d], kr[d]);
              dp += dot(dyTile[t * ATT_HD + d], vr[d]);
            }
            let p = exp(s - lseTile[t]);
            let ds = p * (dp - deltaTile[t]);
            for (var d = 0; d < ATT_HD; d++) {
              dv[d] += p * dyTile[t * ATT_HD + d];
              dk[d] += ds * qTile[t * ATT_HD + d];
            }
          }
        }
      }
    }
  }
  if (j < Tk) {
    let kOut = ((b * KV + kvh) * Tk + j) * ATT_HD;
    let vOut = B * KV * Tk * ATT_HD + kOut;
    for (var d = 0; d < ATT_HD; d++) { attStore(4 * (kOut + d), dk[d] * scale); attStore(4 * (vOut + d), dv[d]); }
  }
}
`;
}

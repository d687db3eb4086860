// Thinning a long series for drawing without losing what a line at that width would show.

/**
 * Min/max decimation over shared buckets: each bucket of `b` points becomes two points, at its
 * first and last x, carrying the bucket's min and max in index order, so spikes stay visible.
 */
export function decimate(x: number[], ys: number[][], lo: number, hi: number, maxPoints: number): { x: number[]; ys: number[][] } {
  const n = hi - lo;
  if (n <= maxPoints) return { x: x.slice(lo, hi), ys: ys.map((y) => y.slice(lo, hi)) };
  const b = Math.ceil((2 * n) / maxPoints);
  const outX: number[] = [];
  const outY: number[][] = ys.map(() => []);
  for (let start = lo; start < hi; start += b) {
    const end = Math.min(hi, start + b);
    outX.push(x[start], x[end - 1]);
    for (let s = 0; s < ys.length; s++) {
      const y = ys[s];
      let min = Infinity;
      let max = -Infinity;
      let iMin = start;
      let iMax = start;
      for (let i = start; i < end; i++) {
        const v = y[i];
        if (v < min) {
          min = v;
          iMin = i;
        }
        if (v > max) {
          max = v;
          iMax = i;
        }
      }
      if (min === Infinity) outY[s].push(NaN, NaN);
      else if (iMin <= iMax) outY[s].push(min, max);
      else outY[s].push(max, min);
    }
  }
  return { x: outX, ys: outY };
}

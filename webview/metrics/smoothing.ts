// TensorBoard's smoothing: an exponential moving average de-biased for its zero start, so the
// first points are not pulled toward 0. Non-finite values pass through without moving the average.
export class Ema {
  private last = 0;
  private count = 0;

  constructor(private readonly weight: number) {}

  next(y: number): number {
    if (!Number.isFinite(y)) return y;
    if (this.weight <= 0) return y;
    this.last = this.last * this.weight + (1 - this.weight) * y;
    this.count++;
    return this.last / (1 - this.weight ** this.count);
  }
}

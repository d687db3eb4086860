// Training-health checks over the logged metrics: each warning fires once per run, at the step where
// the pattern became clear, with what to do about it.
import { HealthWarning, LossType, MetricsRecord } from '../../protocol';

export interface HealthSettings {
  stuckSteps: number;
  fallingWindow: number;
  lossType: LossType;
}

export class HealthMonitor {
  private stuck = 0;
  private readonly chosenLogps: number[] = [];
  private readonly fired = new Set<string>();

  constructor(private readonly s: HealthSettings) {}

  /** Feed one logged train metrics line; returns the warnings it triggers. */
  observe(record: MetricsRecord): HealthWarning[] {
    const out: HealthWarning[] = [];
    const m = record.values;
    const fire = (code: HealthWarning['code'], message: string) => {
      if (this.fired.has(code)) return;
      this.fired.add(code);
      out.push({ code, message, step: record.step });
    };
    const rc = m['rewards/chosen'];
    const rr = m['rewards/rejected'];
    if (rc !== undefined && Math.abs(rc) < 1e-6 && Math.abs(rr) < 1e-6) this.stuck++;
    else this.stuck = 0;
    if (this.stuck >= this.s.stuckSteps) {
      const at = this.s.lossType === 'sigmoid' ? `at log 2 ≈ 0.6931 (${m.loss.toFixed(4)})` : `at ${m.loss.toFixed(4)}`;
      fire('stuck-loss', `loss stuck ${at} with zero rewards for ${this.stuck} logged steps: the policy equals the reference. Check that beta > 0 and the learning rate is not too small, and that the policy is not frozen.`);
    }
    const lc = m['logps/chosen'];
    if (lc !== undefined) {
      this.chosenLogps.push(lc);
      if (this.chosenLogps.length > this.s.fallingWindow) this.chosenLogps.shift();
      const w = this.chosenLogps;
      if (w.length === this.s.fallingWindow && slope(w) < 0 && w[w.length - 1] < w[0] - 1) {
        fire('falling-chosen-logps', `logps/chosen fell over the last ${w.length} logged steps (${w[0].toFixed(2)} → ${w[w.length - 1].toFixed(2)}): the policy is making chosen responses less likely too, a known DPO failure. Consider sft_weight > 0 (RPO), a lower learning_rate, or a larger beta.`);
      }
    }
    return out;
  }
}

/** Least-squares slope of equally spaced values. */
function slope(ys: number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

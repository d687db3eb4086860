// Training-health checks over the logged metrics: each warning fires once per run, at the step where
// the pattern became clear, with what to do about it. A trend claim is read from what it claims
// about: held-out (eval) values when the run has them, otherwise a noise-aware comparison of smoothed
// train values, never single noisy per-batch values. python/dpo_studio/health.py follows the same
// rules; test/conformance/health holds the cases both pass. The advice fits the objective
// (objectives.ts): an NLL term is "sft" in a DPO loss list, cpo_alpha in SimPO, built into ORPO.
import { DpoConfig, EngineName, HealthWarning, MetricsRecord, objectiveOf } from '../../protocol';

export interface HealthSettings {
  stuckSteps: number;
  fallingWindow: number;
  /** The config's loss_type (a name or a list); a name this version does not know gets the generic advice. */
  lossType: DpoConfig['loss_type'] | string;
  /** True when the run evaluates held-out pairs: the falling-logps rule then reads eval values only. */
  hasEval?: boolean;
  /** The run's settings, so that the advice fits it. */
  learningRate?: number;
  beta?: number;
  sftWeight?: number;
  /** loss_weights of a loss list (the "sft" member's weight is read from it). */
  lossWeights?: number[] | null;
  /** The engine the advice is for (both take the same objectives now; kept for the case files). */
  engine?: EngineName;
}

/** A drop smaller than this (in nats of summed log-prob) is not worth a warning. */
const MIN_DROP = 1;
/** Evaluations needed before a held-out trend is called. */
const MIN_EVALS = 3;

export class HealthMonitor {
  private stuck = 0;
  private readonly chosenLogps: number[] = [];
  private readonly evalLogps: number[] = [];
  private readonly evalMargins: number[] = [];
  private readonly fired = new Set<string>();

  constructor(private readonly s: HealthSettings) {}

  private fire(out: HealthWarning[], code: HealthWarning['code'], message: string, step: number): void {
    if (this.fired.has(code)) return;
    this.fired.add(code);
    out.push({ code, message, step });
  }

  /** Feed one logged train metrics line; returns the warnings it triggers. */
  observe(record: MetricsRecord): HealthWarning[] {
    const out: HealthWarning[] = [];
    const m = record.values;
    const rc = m['rewards/chosen'];
    const rr = m['rewards/rejected'];
    if (rc !== undefined && Math.abs(rc) < 1e-6 && Math.abs(rr) < 1e-6) this.stuck++;
    else this.stuck = 0;
    // Zero rewards mean "policy equals reference" only where rewards are against a reference.
    if (this.stuck >= this.s.stuckSteps && objectiveOf(this.s.lossType).reference) {
      const at = this.s.lossType === 'sigmoid' ? `at log 2 ≈ 0.6931 (${m.loss.toFixed(4)})` : `at ${m.loss.toFixed(4)}`;
      this.fire(
        out,
        'stuck-loss',
        `loss stuck ${at} with zero rewards for ${this.stuck} logged steps: the policy equals the reference. Check that beta > 0 and the learning rate is not too small, and that the policy is not frozen.`,
        record.step,
      );
    }
    const lc = m['logps/chosen'];
    if (lc !== undefined && !this.s.hasEval) {
      this.chosenLogps.push(lc);
      if (this.chosenLogps.length > this.s.fallingWindow) this.chosenLogps.shift();
      const w = this.chosenLogps;
      if (w.length === this.s.fallingWindow) {
        // Halves of the window, compared against their own spread: per-batch values differ by batch.
        const half = Math.floor(w.length / 2);
        const a = w.slice(0, half);
        const b = w.slice(w.length - half);
        const drop = mean(a) - mean(b);
        const noise = Math.sqrt(variance(a) / a.length + variance(b) / b.length);
        if (drop > MIN_DROP && drop > 3 * noise) {
          this.fire(
            out,
            'falling-chosen-logps',
            `logps/chosen (train, averaged over ${half} logged steps) fell from ${mean(a).toFixed(2)} to ${mean(b).toFixed(2)}: ${this.advice()}`,
            record.step,
          );
        }
      }
    }
    return out;
  }

  /** Feed one eval metrics line (eval_ names); returns the warnings it triggers. */
  observeEval(record: MetricsRecord): HealthWarning[] {
    const out: HealthWarning[] = [];
    const m = record.values;
    const lc = m['eval_logps/chosen'];
    if (lc === undefined) return out;
    this.evalLogps.push(lc);
    this.evalMargins.push(m['eval_rewards/margins'] ?? 0);
    const e = this.evalLogps;
    const n = e.length;
    // Held-out values come from the same pairs each time: a fall over the last evaluations is real.
    if (n >= MIN_EVALS && e[n - 1] < e[n - 2] && e[n - 2] < e[n - 3] && e[0] - e[n - 1] > MIN_DROP) {
      const margins = this.evalMargins;
      const marginNote = margins[n - 1] > margins[0] ? ' while the reward margin rose (the rejected responses fell faster)' : '';
      this.fire(
        out,
        'falling-chosen-logps',
        `held-out logps/chosen fell over ${n} evaluations (${e[0].toFixed(2)} → ${e[n - 1].toFixed(2)})${marginNote}: ${this.advice()}`,
        record.step,
      );
    }
    return out;
  }

  /** The weight of the run's "sft" term: a loss list's member, or the deprecated sft_weight. */
  private sftTermWeight(): number {
    const lt = this.s.lossType;
    if (Array.isArray(lt) && lt.includes('sft')) return this.s.lossWeights?.[lt.indexOf('sft')] ?? 1;
    return this.s.sftWeight ?? 0;
  }

  /** What to change, given the objective and what the run already does. */
  private advice(): string {
    const id = objectiveOf(this.s.lossType).id;
    const tips: string[] = [];
    const sft = this.sftTermWeight();
    if (id === 'simpo') tips.push("a larger cpo_alpha (CPO's NLL term on the chosen responses)");
    else if (id === 'orpo')
      tips.push(`a smaller beta (λ, the odds-ratio term's weight against ORPO's NLL${this.s.beta !== undefined ? `; now ${this.s.beta}` : ''})`);
    else if (id === 'kto') tips.push('a larger desirable_weight (the weight of the desirable examples)');
    else
      tips.push(
        sft > 0 ? `a larger "sft" weight (now ${sft})` : 'loss_type ["sigmoid","sft"] (an NLL term on the chosen responses, RPO; formerly sft_weight > 0)',
      );
    if (this.s.learningRate !== undefined && this.s.learningRate > 1e-6) tips.push(`a lower learning_rate (now ${this.s.learningRate})`);
    // β is the KL strength toward the reference; SimPO's is a reward scale and ORPO's is λ (above).
    if (this.s.beta !== undefined && id !== 'simpo' && id !== 'orpo') tips.push(`a larger beta (now ${this.s.beta})`);
    const what = ['simpo', 'orpo', 'kto'].includes(id)
      ? `a known failure of preference objectives (likelihood displacement)`
      : 'a known DPO failure (likelihood displacement)';
    return `the policy is making the chosen responses less likely too, ${what}. Consider ${tips.join(', or ')}.`;
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function variance(xs: number[]): number {
  const m = mean(xs);
  return xs.length > 1 ? xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) : 0;
}

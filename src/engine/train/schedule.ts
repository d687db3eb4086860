// Learning rate at an optimizer step: linear warm-up, then linear or cosine decay to 0, or constant
// (the curves of transformers' get_*_schedule_with_warmup).
import { SchedulerType } from '../../protocol';

export interface Schedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  type: SchedulerType;
}

/**
 * `step` counts from 0 (the first update uses learningRateAt(0)). Warm-up is transformers' step/W, so
 * the first update of a warm-up runs at 0 (Adam's moments still move) as on the torch engine: the two
 * engines log and apply the same rate at every step.
 */
export function learningRateAt(step: number, s: Schedule): number {
  if (step < s.warmupSteps) return (s.peak * step) / Math.max(1, s.warmupSteps);
  if (s.type === 'constant') return s.peak;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  if (s.type === 'linear') return s.peak * (1 - progress);
  return s.peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export function warmupSteps(totalSteps: number, warmupStepsSetting: number, warmupRatio: number): number {
  return warmupStepsSetting > 0 ? warmupStepsSetting : Math.ceil(totalSteps * warmupRatio);
}

/** eval_steps, or with null about 10 evaluations a run: every ⌈total / 10⌉ steps, as TRL computes its eval_steps 0.1. */
export function evalInterval(evalSteps: number | null, totalSteps: number): number {
  return evalSteps ?? Math.max(1, Math.ceil(totalSteps * 0.1));
}

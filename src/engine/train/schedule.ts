// Learning rate at an optimizer step: linear warm-up, then linear or cosine decay to 0, or constant
// (the curves of transformers' get_*_schedule_with_warmup).
import { SchedulerType } from '../../protocol';

export interface Schedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  type: SchedulerType;
}

/** `step` counts from 0 (the first update uses learningRateAt(0)). */
export function learningRateAt(step: number, s: Schedule): number {
  if (step < s.warmupSteps) return (s.peak * (step + 1)) / (s.warmupSteps + 1);
  if (s.type === 'constant') return s.peak;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  if (s.type === 'linear') return s.peak * (1 - progress);
  return s.peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export function warmupSteps(totalSteps: number, warmupStepsSetting: number, warmupRatio: number): number {
  return warmupStepsSetting > 0 ? warmupStepsSetting : Math.ceil(totalSteps * warmupRatio);
}

// What a training run reports, shared by the engine (which writes it), the host (status bar,
// notifications) and the metrics webview (charts). Metric names are TRL's, so users recognise them.

/** One metrics.jsonl line: TRL's names; eval metrics carry the `eval_` prefix. */
export interface MetricsRecord {
  step: number;
  epoch: number;
  [metric: string]: number;
}

/** One pairs.jsonl line: a pair's values at a logged step, to trace a chart point to its data. */
export interface PairRecord {
  step: number;
  split: 'train' | 'eval';
  /** 1-based line in the data file (eval_data for eval pairs when given). */
  line: number;
  chosen_reward: number;
  rejected_reward: number;
  margin: number;
  loss: number;
}

export const RUN_PHASES = ['loading', 'tokenizing', 'reference', 'training', 'evaluating', 'saving'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export const HEALTH_WARNINGS = ['stuck-loss', 'falling-chosen-logps', 'non-finite', 'slow-backend', 'data'] as const;
export type HealthWarningCode = (typeof HEALTH_WARNINGS)[number];

export interface HealthWarning {
  code: HealthWarningCode;
  message: string;
  step: number;
}

export type FinishReason = 'completed' | 'stopped';

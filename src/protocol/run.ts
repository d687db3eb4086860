// What a training run reports, shared by the engine (which writes it), the host (status bar,
// notifications) and the metrics webview (charts). Metric names are TRL's, so users recognise them.

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

// How the trainer's pieces tell the run what happened: log lines, health warnings and progress.
// The Trainer implements it once (log.txt, metrics.jsonl warning records, TrainerEvents).
// TrainingError is a failure the user can act on (its message says how).
import { HealthWarning, RunPhase } from '../../protocol';

export interface Report {
  log(line: string): void;
  warn(warning: HealthWarning): void;
  progress(phase: RunPhase, done: number, total: number, message?: string): void;
}

export class TrainingError extends Error {}

// A config rule JSON Schema cannot state (split from config.ts, which applies it in resolveConfig).
import type { ConfigProblem } from './config';

/**
 * JSON Schema cannot tell Infinity from a number, and JSON.parse turns 1e400 into Infinity: every
 * numeric field is checked to be finite here (an infinite learning rate gives a NaN model, an
 * infinite max_steps never ends).
 */
export function nonFiniteFields(candidate: Record<string, unknown>): ConfigProblem[] {
  return Object.entries(candidate)
    .filter(([, v]) => typeof v === 'number' && !Number.isFinite(v))
    .map(([field, v]) => ({ field, message: `must be a finite number, got ${v} (a literal such as 1e400 overflows)` }));
}

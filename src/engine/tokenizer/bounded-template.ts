// Chat templates come from model folders: untrusted. @huggingface/jinja's range() builds its whole
// list, and range(1000000000) aborts Node itself ("Fatal JavaScript invalid size error"), which no
// try/catch or worker survives. While a template renders, range() is swapped for one that counts
// the elements all calls of the render make, and refuses past a budget.
import { Environment, Template } from '@huggingface/jinja';

/** Elements all range() calls of one render may make: real templates loop over a few messages. */
export const RANGE_BUDGET = 100_000;

export class TemplateBudgetError extends Error {}

type EnvSet = (this: Environment, name: string, value: unknown) => unknown;

export function renderBounded(template: Template, items: Record<string, unknown>): string {
  let used = 0;
  const range = (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    const n = step === 0 ? 0 : Math.max(0, Math.ceil((stop - start) / step));
    used += n;
    if (!Number.isFinite(n) || used > RANGE_BUDGET)
      throw new TemplateBudgetError(`range() would make over ${RANGE_BUDGET.toLocaleString('en-US')} elements in one render`);
    if (step === 0) throw new Error('range() step must not be zero');
    return Array.from({ length: n }, (_, i) => start + i * step);
  };
  const proto = Environment.prototype as unknown as { set: EnvSet };
  const original = proto.set;
  // Synchronous render, so no other render sees the swap; restored in finally.
  proto.set = function (name, value) {
    return original.call(this, name, name === 'range' ? range : value);
  };
  try {
    return template.render(items);
  } finally {
    proto.set = original;
  }
}

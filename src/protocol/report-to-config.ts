// The run config's report_to (live logging to an experiment tracker): its schema, and the one reading
// of a name-or-list value. The writers are python/dpo_studio/export_metrics*.py; CONFIG_FIELDS spreads
// the field in. Only TensorBoard: nothing is sent over the network.
export const REPORT_TARGETS = ['tensorboard'] as const;
export type ReportTarget = (typeof REPORT_TARGETS)[number];

export const REPORT_TO_FIELDS = {
  report_to: {
    anyOf: [{ enum: ['none', ...REPORT_TARGETS] }, { type: 'array', items: { enum: [...REPORT_TARGETS] }, uniqueItems: true }],
    default: [],
    description:
      'Live logging during the run: ["tensorboard"] writes TensorBoard event files to <run>/tensorboard as the run goes (the metrics panel\'s names: train/…, eval/…, gen/…; config as hyperparameters; warnings as text). Needs the torch environment (`dpo setup-torch`), also for the tfjs engine. [] or "none": off.',
  },
} as const;

/** Whether a config's report_to (a list, one name, or "none") names the target. */
export function reportsTo(value: readonly string[] | string | undefined, target: ReportTarget): boolean {
  if (value === undefined || value === 'none') return false;
  return typeof value === 'string' ? value === target : value.includes(target);
}

// The charts of the runs shown, titled for their objectives (src/protocol/objectives.ts): a
// reference-free run's rewards are not β·log(πθ/πref), a length-normalised run's log-probs are not
// sums, and objective-only series (KTO's kl, ORPO's log odds, nll_loss) get their own charts.
// Pure (no webview API), so unit tests load it.
import { OBJECTIVE_CHARTS, objectiveChartLabels, objectiveOf } from '../../src/protocol/objectives';

export interface ChartDef {
  id: string;
  title: string;
  metrics: string[];
  /** The y axis's label: what the numbers are and their unit. */
  yLabel: string;
}

export const CHARTS: ChartDef[] = [
  { id: 'loss', title: 'Loss', metrics: ['loss'], yLabel: 'loss (nats)' },
  { id: 'rewards', title: 'Rewards: chosen / rejected', metrics: ['rewards/chosen', 'rewards/rejected'], yLabel: 'reward β·Δlog p' },
  { id: 'margins', title: 'Reward margin', metrics: ['rewards/margins'], yLabel: 'chosen − rejected' },
  { id: 'accuracies', title: 'Reward accuracy', metrics: ['rewards/accuracies'], yLabel: 'accuracy (0 to 1)' },
  { id: 'logps', title: 'Log-probs: chosen / rejected', metrics: ['logps/chosen', 'logps/rejected'], yLabel: 'summed log p' },
  { id: 'grad_norm', title: 'Gradient norm', metrics: ['grad_norm'], yLabel: 'L2 norm' },
  { id: 'learning_rate', title: 'Learning rate', metrics: ['learning_rate'], yLabel: 'learning rate' },
  { id: 'tokens_per_second', title: 'Tokens per second', metrics: ['tokens_per_second'], yLabel: 'tokens / s' },
  // Series only some objectives log (KTO's kl, ORPO's log odds, nll_loss): drawn when a run has them.
  ...OBJECTIVE_CHARTS,
  // Evaluate during training (checkpoint_eval_prompts): the host turns eval/*/summary.json into eval points of these.
  { id: 'gen_kl', title: 'KL(π‖π_ref) of sampled answers', metrics: ['gen/kl'], yLabel: 'nats per answer' },
  { id: 'gen_win_rate', title: 'Win rate against the reference', metrics: ['gen/win_rate'], yLabel: 'win rate (0 to 1)' },
  { id: 'gen_reward', title: 'Reward-model score: policy / reference', metrics: ['gen/reward_policy', 'gen/reward_reference'], yLabel: 'mean score' },
];

/** Every chart the panel can draw, titled for the loss types of the runs shown (SFT runs have none). */
export function chartDefs(lossTypes: (string | string[] | undefined)[]): ChartDef[] {
  const known = lossTypes.filter((t) => t !== undefined);
  // No objective known (a run starting before its config is read, a folder from an older version): DPO's titles.
  if (known.length === 0) return CHARTS;
  const labels = objectiveChartLabels(known.map((t) => objectiveOf(t)));
  return CHARTS.map((c) => (c.id === 'rewards' || c.id === 'margins' || c.id === 'logps' ? { ...c, ...labels[c.id] } : c));
}

/** The charts a run of this mode draws from its first step: their frames stand in until then, so the layout does not jump. */
export function placeholderCharts(mode: string): string[] {
  const always = ['loss', 'grad_norm', 'learning_rate', 'tokens_per_second'];
  return mode === 'sft' ? always : ['loss', 'rewards', 'margins', 'accuracies', 'logps', 'grad_norm', 'learning_rate', 'tokens_per_second'];
}

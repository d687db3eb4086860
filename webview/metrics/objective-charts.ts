// The charts of the runs shown, titled for their objectives (src/protocol/objectives.ts): a
// reference-free run's rewards are not β·log(πθ/πref), a length-normalised run's log-probs are not
// sums, and objective-only series (KTO's kl, ORPO's log odds, nll_loss) get their own charts.
import { objectiveChartLabels, objectiveOf } from '../../src/protocol/objectives';
import { CHARTS, ChartDef } from './state';

/** Every chart the panel can draw, titled for the loss types of the runs shown (SFT runs have none). */
export function chartDefs(lossTypes: (string | string[] | undefined)[]): ChartDef[] {
  const labels = objectiveChartLabels(lossTypes.filter((t) => t !== undefined).map((t) => objectiveOf(t)));
  return CHARTS.map((c) => (c.id === 'rewards' || c.id === 'margins' || c.id === 'logps' ? { ...c, ...labels[c.id] } : c));
}

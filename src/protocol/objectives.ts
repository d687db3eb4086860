// What each training objective means for the people reading its run: its paper, when to pick it,
// whether it has a reference model and length-normalised log-probs, and so what its charts are
// called and which extra series (TRL's metric names) it logs. Pure data for the metrics panel, the
// New Training Run flow, health advice and the README table; the losses themselves live in the engines.

export interface ObjectiveInfo {
  /** loss_type as the config spells it ("sigmoid+sft" for a list). */
  id: string;
  title: string;
  paper: string;
  /** One line: when to pick it. */
  when: string;
  /** The loss compares against a frozen reference model. */
  reference: boolean;
  /** logps/* are per-token means (TRL's CPO/ORPO trainers), not sums over the response. */
  meanLogps: boolean;
  /** Trains on unpaired {prompt, completion, label} lines. */
  unpaired: boolean;
  /** The config field that adds (or is) an NLL term on the chosen responses, for advice; undefined: none. */
  nllField?: string;
}

export interface ChartLabel {
  title: string;
  yLabel: string;
}

/** Charts only some objectives log (TRL's names): shown when a run has the series. */
export const OBJECTIVE_CHARTS: { id: string; title: string; metrics: string[]; yLabel: string }[] = [
  { id: 'kl', title: 'KL reference point (KTO)', metrics: ['kl'], yLabel: 'KL estimate (nats)' },
  { id: 'nll_loss', title: 'NLL of the chosen responses', metrics: ['nll_loss'], yLabel: 'nats per token' },
  { id: 'log_odds_ratio', title: 'Log odds ratio term (ORPO)', metrics: ['log_odds_ratio'], yLabel: 'mean log σ(Δ log odds)' },
  { id: 'log_odds_chosen', title: 'Log odds, chosen − rejected (ORPO)', metrics: ['log_odds_chosen'], yLabel: 'mean Δ log odds' },
];

const DPO_PAPER = 'Rafailov et al., 2023, arXiv:2305.18290';

export const OBJECTIVES: Record<string, ObjectiveInfo> = {
  sigmoid: {
    id: 'sigmoid',
    title: 'DPO',
    paper: DPO_PAPER,
    when: 'The default: paired preferences and a good SFT model as the reference.',
    reference: true,
    meanLogps: false,
    unpaired: false,
    nllField: 'loss_type "sft" member',
  },
  ipo: {
    id: 'ipo',
    title: 'IPO',
    paper: 'Azar et al., 2023, arXiv:2310.12036',
    when: 'Near-deterministic preferences where DPO overfits: a squared loss toward a fixed margin 1/(2β).',
    reference: true,
    meanLogps: false,
    unpaired: false,
    nllField: 'loss_type "sft" member',
  },
  hinge: {
    id: 'hinge',
    title: 'hinge (SLiC)',
    paper: 'Zhao et al., 2023, arXiv:2305.10425',
    when: 'Stop pushing a pair once its margin passes 1/β; robust to a few wrong labels.',
    reference: true,
    meanLogps: false,
    unpaired: false,
    nllField: 'loss_type "sft" member',
  },
  bco_pair: {
    id: 'bco_pair',
    title: 'BCO (pair)',
    paper: 'Jung et al., 2024, arXiv:2404.04656',
    when: 'Scores chosen and rejected on their own (a classifier per response); a part of MPO lists.',
    reference: true,
    meanLogps: false,
    unpaired: false,
    nllField: 'loss_type "sft" member',
  },
  cdpo: {
    id: 'cdpo',
    title: 'cDPO',
    paper: 'Mitchell, 2023 (conservative DPO note)',
    when: 'Noisy labels: assume a fraction ε of them is flipped (embedded engine).',
    reference: true,
    meanLogps: false,
    unpaired: false,
  },
  rpo: {
    id: 'sigmoid+sft',
    title: 'RPO (DPO + NLL)',
    paper: 'Pang et al., 2024, arXiv:2404.19733',
    when: 'DPO lowers the chosen responses too (likelihood displacement): add an NLL term on them.',
    reference: true,
    meanLogps: false,
    unpaired: false,
    nllField: 'the "sft" weight in loss_weights',
  },
  simpo: {
    id: 'simpo',
    title: 'SimPO',
    paper: 'Meng et al., 2024, arXiv:2405.14734',
    when: 'No reference model (half the memory); length-normalised, with a target margin γ.',
    reference: false,
    meanLogps: true,
    unpaired: false,
    nllField: 'cpo_alpha',
  },
  orpo: {
    id: 'orpo',
    title: 'ORPO',
    paper: 'Hong et al., 2024, arXiv:2403.07691',
    when: 'No SFT model yet: SFT and preference in one stage, no reference model.',
    reference: false,
    meanLogps: true,
    unpaired: false,
  },
  kto: {
    id: 'kto',
    title: 'KTO',
    paper: 'Ethayarajh et al., 2024, arXiv:2402.01306',
    when: 'Thumbs up/down data without pairs, or unbalanced good and bad examples.',
    reference: true,
    meanLogps: false,
    unpaired: true,
  },
};

/** The README and New Run order. */
export const OBJECTIVE_ORDER = ['sigmoid', 'ipo', 'cdpo', 'hinge', 'simpo', 'orpo', 'kto', 'rpo', 'bco_pair'] as const;

/**
 * The objective of a config's loss_type (a name or a list). A list is named by its members
 * ("sigmoid+sft" is RPO); a name this version does not know gets a neutral entry, so a run folder
 * from a newer engine still opens.
 */
export function objectiveOf(lossType: unknown, labelSmoothing = 0): ObjectiveInfo {
  if (Array.isArray(lossType)) {
    const id = lossType.map(String).join('+');
    if (id === 'sigmoid+sft') return OBJECTIVES.rpo;
    const members = lossType.map((t) => OBJECTIVES[String(t)]).filter((x): x is ObjectiveInfo => x !== undefined);
    return {
      id,
      title: `Combined: ${id}`,
      paper: 'TRL loss_type list',
      when: 'A weighted sum of DPO losses (loss_weights).',
      reference: members.some((m) => m.reference) || members.length === 0,
      meanLogps: false,
      unpaired: false,
      nllField: 'the "sft" weight in loss_weights',
    };
  }
  const name = String(lossType);
  if (name === 'sigmoid' && labelSmoothing > 0) return OBJECTIVES.cdpo;
  if (Object.prototype.hasOwnProperty.call(OBJECTIVES, name) && name !== 'rpo' && name !== 'cdpo') return OBJECTIVES[name];
  return { id: name, title: name, paper: '', when: '', reference: true, meanLogps: false, unpaired: false };
}

/**
 * Titles and axis labels of the charts whose meaning depends on the objective, for the runs shown
 * together: one objective's own words, or neutral words when the runs' objectives differ.
 */
export function objectiveChartLabels(objectives: ObjectiveInfo[]): Record<'rewards' | 'margins' | 'logps', ChartLabel> {
  const all = (f: (o: ObjectiveInfo) => boolean) => objectives.length > 0 && objectives.every(f);
  const none = (f: (o: ObjectiveInfo) => boolean) => objectives.every((o) => !f(o));
  const rewards: ChartLabel = all((o) => o.reference)
    ? { title: 'Rewards: chosen / rejected', yLabel: 'reward β·log(πθ/πref)' }
    : none((o) => o.reference)
      ? { title: 'Rewards: chosen / rejected (no reference: β·mean log πθ)', yLabel: 'β·mean log πθ' }
      : { title: 'Rewards: chosen / rejected (each run’s own definition)', yLabel: 'reward' };
  const margins: ChartLabel = { title: `Reward margin${none((o) => o.reference) ? ' (no reference)' : ''}`, yLabel: 'chosen − rejected' };
  const logps: ChartLabel = none((o) => o.meanLogps)
    ? {
        // IPO's loss reads per-token means, but TRL (and both engines) log its summed log-probs.
        title: `Log-probs: chosen / rejected${all((o) => o.id === 'ipo') ? ' (summed; IPO’s loss reads per-token means)' : ''}`,
        yLabel: 'summed log p',
      }
    : all((o) => o.meanLogps)
      ? { title: 'Log-probs per token: chosen / rejected', yLabel: 'mean log p per token' }
      : { title: 'Log-probs: chosen / rejected (summed or per token, by run)', yLabel: 'log p' };
  return { rewards, margins, logps };
}

/** The run-config fields that select an objective of the table (RPO: the list with α = 1). */
export function objectiveFields(key: string): Record<string, unknown> {
  if (key === 'rpo') return { loss_type: ['sigmoid', 'sft'], loss_weights: [1, 1] };
  if (key === 'cdpo') return { loss_type: 'sigmoid', label_smoothing: 0.1 };
  return { loss_type: key };
}

/** The key of the table a config's fields select (the inverse of objectiveFields; 'sigmoid' by default). */
export function objectiveKey(fields: Record<string, unknown>): string {
  const o = objectiveOf(fields.loss_type ?? 'sigmoid', typeof fields.label_smoothing === 'number' ? fields.label_smoothing : 0);
  return Object.keys(OBJECTIVES).find((k) => OBJECTIVES[k] === o) ?? o.id;
}

/** Which score triage and the probe use for a run of this objective, in words for the log and the docs. */
export function scoreNote(lossType: unknown): string {
  const o = objectiveOf(lossType);
  return o.reference
    ? `score: the implicit reward margin β·log(πθ/πref) of chosen over rejected (DPO's reward; ${o.title} trains against that reference)`
    : `score: the implicit reward margin β·log(πθ/πref) with the starting model as πref (${o.title} trains without a reference, so this is not its training score)`;
}

/**
 * What the probe's score (DPO's implicit reward β·(log πθ − log πref) against the reference) is for a
 * run of `mode` and `lossType`, when it is not the objective's own score; undefined when it is (DPO,
 * IPO, hinge, loss lists) or for SFT (no run objective to compare).
 */
export function probeScoreNote(mode: string, lossType: unknown): string | undefined {
  if (mode === 'kto')
    return "Score: β·(log πθ − log πref), KTO's reward of an answer before its batch's KL reference point z is subtracted (the probe has no batch).";
  if (lossType === 'simpo')
    return "Score: DPO's implicit reward β·(log πθ − log πref) against the base model, for comparison. This run trained SimPO, which has no reference: its own reward is β·mean log πθ (rewards/* in the metrics panel).";
  if (lossType === 'orpo')
    return "Score: DPO's implicit reward β·(log πθ − log πref) against the base model, for comparison. This run trained ORPO, which has no reference: its own score is the log odds ratio of mean log πθ (log_odds_ratio in the metrics panel).";
  return undefined;
}

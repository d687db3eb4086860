// Evaluation folders written by hand per the contract (src/protocol/eval-results.ts), for the
// Evaluate panel's tests (unit, electron and e2e): a summary.json and a results.jsonl with the
// policy's and the reference's answer for each prompt, and each judge's verdict on the policy line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalResultLine, EvalSummary, JudgeSummary, Verdict } from '../../../src/protocol';

export interface HandPair {
  prompt: string;
  policy: string;
  reference: string;
  /** Judge name → verdict of the policy answer. */
  verdicts: Record<string, Verdict>;
  policyReward?: number;
  referenceReward?: number;
  messages?: { role: 'system' | 'user' | 'assistant'; content: string }[];
}

export interface HandEval {
  step?: number;
  kl: number;
  klCi?: [number, number];
  meanReward?: number;
  /** Judge name → win rate (interval ±0.1 around it). */
  judges: Record<string, number>;
  pairs: HandPair[];
  /** The model folders summary.json names (default: made-up paths inside the folder). */
  policy?: string;
  reference?: string;
}

export function judgeSummary(name: string, winRate: number): JudgeSummary {
  return {
    kind: name.startsWith('llm:') ? 'llm' : name.startsWith('implicit') ? 'implicit-reward' : 'reward-model',
    independent: !name.startsWith('implicit'),
    source: name,
    wins: 0,
    ties: 0,
    losses: 0,
    win_rate: winRate,
    win_rate_ci: [Math.max(0, winRate - 0.1), Math.min(1, winRate + 0.1)],
    lc_win_rate: winRate - 0.02,
    mean_length_policy: 12,
    mean_length_reference: 10,
  };
}

/** Writes `dir`/summary.json and results.jsonl; returns the summary. */
export function writeEvalFolder(dir: string, e: HandEval): EvalSummary {
  fs.mkdirSync(dir, { recursive: true });
  const lines: EvalResultLine[] = e.pairs.flatMap((p, i) => {
    const base = { prompt_index: i, prompt: p.prompt, sample: 0, seed: i, finish_reason: 'eos', policy_logp: -5 - i, reference_logp: -6 - i };
    const messages = p.messages ? { messages: p.messages } : {};
    return [
      {
        ...base,
        ...messages,
        model: 'policy' as const,
        text: p.policy,
        tokens: p.policy.length,
        reward: p.policyReward,
        verdicts: Object.fromEntries(Object.entries(p.verdicts).map(([j, v]) => [j, { verdict: v }])),
      },
      { ...base, ...messages, model: 'reference' as const, text: p.reference, tokens: p.reference.length, reward: p.referenceReward },
    ];
  });
  fs.writeFileSync(path.join(dir, 'results.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const names = Object.keys(e.judges);
  const first = names[0] ? judgeSummary(names[0], e.judges[names[0]]) : undefined;
  const summary: EvalSummary = {
    version: 1,
    created: '2026-12-03T00:00:00Z',
    engine: 'tfjs',
    policy: e.policy ?? path.join(dir, 'policy-model'),
    reference: e.reference ?? path.join(dir, 'reference-model'),
    ...(e.step !== undefined ? { step: e.step } : {}),
    prompts: e.pairs.length,
    samples: 1,
    seed: 0,
    max_new_tokens: 32,
    temperature: 1,
    kl: e.kl,
    kl_ci: e.klCi ?? [e.kl - 0.05, e.kl + 0.05],
    kl_exact_sampler: true,
    ...(first ? { win_rate: first.win_rate, win_rate_ci: first.win_rate_ci, lc_win_rate: first.lc_win_rate } : {}),
    judges: Object.fromEntries(names.map((n) => [n, judgeSummary(n, e.judges[n])])),
    models: {
      policy: { answers: e.pairs.length, mean_length: 12, ...(e.meanReward !== undefined ? { mean_reward: e.meanReward } : {}) },
      reference: { answers: e.pairs.length, mean_length: 10 },
    },
  };
  fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** A run folder with just enough to be listed (config.json, metrics.jsonl). */
export function writeRunFolder(dir: string, model = '/models/base'): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ mode: 'dpo', model, data: '/d.jsonl', eval_data: null }));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
}

// The implicit reward of a response, β·(log πθ(y|x) − log πref(y|x)), and its per-token terms:
// the sequence reward is the sum of the per-token ones (the log-probs are sums over tokens).
import * as tf from '@tensorflow/tfjs';
import { CausalLM } from '../model/transformer';
import { tokenLogps } from '../dpo/logps';
import { implicitReward } from '../dpo/implicit-reward';

export interface TokenReward {
  id: number;
  policyLogp: number;
  referenceLogp: number;
  /** β·(policyLogp − referenceLogp) */
  reward: number;
}

export interface ResponseScore {
  tokens: TokenReward[];
  policyLogp: number;
  referenceLogp: number;
  reward: number;
}

async function responseTokenLogps(model: CausalLM, promptIds: number[], responseIds: number[]): Promise<number[]> {
  const all = [...promptIds, ...responseIds];
  const t = tf.tidy(() => tokenLogps(model, tf.tensor2d([all], [1, all.length], 'int32')));
  const values = Array.from(await t.data());
  t.dispose();
  return values.slice(promptIds.length - 1); // entry t scores token t+1
}

export async function scoreResponse(policy: CausalLM, reference: CausalLM, promptIds: number[], responseIds: number[], beta: number): Promise<ResponseScore> {
  if (promptIds.length === 0) throw new Error('the prompt is empty: the first response token needs a token before it');
  if (responseIds.length === 0) return { tokens: [], policyLogp: 0, referenceLogp: 0, reward: 0 };
  const p = await responseTokenLogps(policy, promptIds, responseIds);
  const r = await responseTokenLogps(reference, promptIds, responseIds);
  const tokens = responseIds.map((id, i) => ({ id, policyLogp: p[i], referenceLogp: r[i], reward: implicitReward(p[i], r[i], beta) }));
  const policyLogp = p.reduce((a, b) => a + b, 0);
  const referenceLogp = r.reduce((a, b) => a + b, 0);
  return { tokens, policyLogp, referenceLogp, reward: implicitReward(policyLogp, referenceLogp, beta) };
}

/** σ(margin): the preference probability DPO's Bradley–Terry model assigns. */
export function preferenceProbability(margin: number): number {
  return 1 / (1 + Math.exp(-margin));
}

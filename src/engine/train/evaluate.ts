// Evaluation: the policy's forward pass over the eval pairs in batches, through the same objective
// as training (no gradient), so eval metrics are the train metrics' twins with the eval_ prefix.
import * as tf from '@tensorflow/tfjs';
import { DpoConfig } from '../../protocol';
import { CausalLM } from '../model/transformer';
import { TokenizedPair } from '../data/tokenize';
import { objective, pairBatch, policyForward, readValues } from './objective';
import { PairValues, appendValues, emptyValues } from './pair-values';
import { ReferenceLogps } from './reference';
import { ktoBatchInputs } from './kto-step';
import { Report } from './report';

export async function evaluate(
  c: DpoConfig,
  policy: CausalLM,
  reference: ReferenceLogps,
  pairs: TokenizedPair[],
  padId: number,
  report: Report,
): Promise<PairValues> {
  const total = emptyValues();
  for (let i = 0; i < pairs.length; i += c.batch_size) {
    const chunk = pairs.slice(i, i + c.batch_size);
    const batch = pairBatch(chunk, c.mode, padId);
    const kto = c.mode === 'kto' ? await ktoBatchInputs(policy, reference, chunk, 'eval', padId) : undefined;
    const ref = kto ? kto.reference : await reference.forBatch(chunk, 'eval', batch, c.mode);
    const t = tf.tidy(() => objective(policyForward(policy, batch, chunk, c), ref, chunk, c, kto?.kl));
    appendValues(total, await readValues(t, chunk, batch.realTokens, kto && { kl: kto.kl, beta: c.beta }));
    report.progress('evaluating', Math.min(i + c.batch_size, pairs.length), pairs.length);
  }
  return total;
}

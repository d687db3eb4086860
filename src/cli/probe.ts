// `dpo probe`: the tuned model's answer streamed to the terminal, then the reference's, with the
// implicit reward of each answer and the DPO preference probability between them.
import { loadModel } from '../engine/model/checkpoint';
import { loadTokenizer } from '../engine/tokenizer/tokenizer';
import { GenerateOptions, generate } from '../engine/probe/generate';
import { preferenceProbability, scoreResponse } from '../engine/probe/reward';

export interface ProbeJob {
  modelDir: string;
  refDir?: string;
  prompt: string;
  chat: boolean;
  beta: number;
  generate: Partial<GenerateOptions>;
  write: (text: string) => void;
}

export async function runProbe(job: ProbeJob): Promise<void> {
  const tokenizer = loadTokenizer(job.modelDir);
  const promptText = job.chat ? tokenizer.applyChatTemplate([{ role: 'user', content: job.prompt }], true) : job.prompt;
  const promptIds = tokenizer.encode(promptText, !job.chat);
  if (promptIds.length === 0 && tokenizer.bosId !== undefined) promptIds.push(tokenizer.bosId);
  const policy = loadModel(job.modelDir, { trainable: false }).model;
  const reference = job.refDir ? loadModel(job.refDir, { trainable: false }).model : undefined;
  try {
    const answers: { name: string; ids: number[] }[] = [];
    for (const [name, model] of [
      ['policy', policy],
      ['reference', reference],
    ] as const) {
      if (!model) continue;
      job.write(`${name}: `);
      const g = await generate(model, tokenizer, promptIds, job.generate, { onToken: (t) => job.write(t.text) });
      job.write(`\n  [${g.reason}, ${g.ids.length} tokens, log-prob ${g.tokens.reduce((a, t) => a + t.logprob, 0).toFixed(3)}]\n`);
      answers.push({ name, ids: g.ids });
    }
    if (!reference) return;
    const scores = [];
    for (const a of answers) {
      const s = await scoreResponse(policy, reference, promptIds, a.ids, job.beta);
      scores.push(s);
      job.write(
        `implicit reward of the ${a.name} answer: ${s.reward.toFixed(4)} (log πθ ${s.policyLogp.toFixed(3)}, log πref ${s.referenceLogp.toFixed(3)}, β ${job.beta})\n`,
      );
    }
    const margin = scores[0].reward - scores[1].reward;
    job.write(`margin (policy answer − reference answer): ${margin.toFixed(4)}; σ(margin) = ${preferenceProbability(margin).toFixed(4)}\n`);
  } finally {
    policy.dispose();
    reference?.dispose();
  }
}

// The engine side of the probe panel: a tuned model and its reference loaded once, generations
// streamed token by token (cancellable), and responses scored with their implicit reward.
import { ProbeMessage, ProbeSampling, ProbeScore, ProbeWhich } from '../../protocol';
import { loadModel } from '../model/checkpoint';
import { CausalLM } from '../model/transformer';
import { TextTokenizer, loadTokenizer } from '../tokenizer/tokenizer';
import { generate } from './generate';
import { scoreResponse } from './reward';
import { tokenTexts } from '../../protocol/token-text';

export class ProbeSession {
  private policy?: CausalLM;
  private reference?: CausalLM;
  private tokenizer?: TextTokenizer;
  private readonly cancelled = new Set<number>();
  private readonly running = new Set<number>();

  load(policyDir: string, referenceDir?: string) {
    this.dispose();
    this.tokenizer = loadTokenizer(policyDir);
    this.policy = loadModel(policyDir, { trainable: false }).model;
    if (referenceDir) this.reference = loadModel(referenceDir, { trainable: false }).model;
    return {
      architecture: this.policy.config.architecture,
      parameters: this.policy.numParameters(),
      hasReference: !!this.reference,
      chatTemplate: this.tokenizer.hasChatTemplate,
    };
  }

  /** With `chat`, `messages` (a whole conversation) replace the one user turn made of `prompt`. */
  private promptIds(prompt: string, chat: boolean, messages?: ProbeMessage[]): number[] {
    const tok = this.need(this.tokenizer, 'a model');
    const turns = messages ?? [{ role: 'user', content: prompt }];
    const ids = chat ? tok.encode(tok.applyChatTemplate(turns, true), false) : tok.encode(prompt, true);
    if (ids.length === 0) {
      const start = tok.bosId ?? tok.eosId;
      if (start !== undefined) ids.push(start);
    }
    return ids;
  }

  private need<T>(x: T | undefined, what: string): T {
    if (!x) throw new Error(`no ${what} loaded: send probe/load first`);
    return x;
  }

  async generate(
    requestId: number,
    which: ProbeWhich,
    prompt: string,
    chat: boolean,
    sampling: Partial<ProbeSampling>,
    onToken: (text: string, logprob: number) => void,
    messages?: ProbeMessage[],
  ) {
    const model = this.need(which === 'policy' ? this.policy : this.reference, which === 'policy' ? 'model' : 'reference model');
    const promptIds = this.promptIds(prompt, chat, messages);
    this.running.add(requestId);
    try {
      const g = await generate(model, this.tokenizer!, promptIds, sampling, {
        onToken: (t) => onToken(t.text, t.logprob),
        shouldStop: () => this.cancelled.has(requestId),
      });
      // ids as sampled, EOS too (generate stops before keeping it): what probe/score's responseIds take.
      const ids = g.reason === 'eos' && this.tokenizer!.eosId !== undefined ? [...g.ids, this.tokenizer!.eosId] : g.ids;
      return { text: g.text, tokens: g.ids.length, reason: g.reason, promptTokens: promptIds.length, ids };
    } finally {
      this.running.delete(requestId);
      this.cancelled.delete(requestId);
    }
  }

  cancel(): number {
    for (const id of this.running) this.cancelled.add(id);
    return this.running.size;
  }

  /**
   * With `chat`, `messages` (a whole conversation) replace the one user turn, as in generate;
   * `responseIds` (generate's ids) are scored as they are instead of `response` encoded again.
   */
  async score(prompt: string, chat: boolean, response: string, beta: number, messages?: ProbeMessage[], responseIds?: number[]): Promise<ProbeScore> {
    const policy = this.need(this.policy, 'model');
    const reference = this.need(this.reference, 'reference model');
    const tok = this.tokenizer!;
    const vocab = Math.min(policy.config.vocabSize, reference.config.vocabSize);
    const outside = responseIds?.find((id) => id >= vocab);
    if (outside !== undefined) throw new Error(`probe/score: responseIds holds ${outside}, outside the models' vocabulary of ${vocab}`);
    const ids = responseIds ?? tok.encode(response, false);
    const s = await scoreResponse(policy, reference, this.promptIds(prompt, chat, messages), ids, beta);
    // Each token's own text, so the panel can colour the response token by token (the shared rule:
    // a piece of a multi-byte character names the character instead of showing U+FFFD or nothing).
    const texts = tokenTexts(
      ids.map((_, i) => tok.decode(ids.slice(0, i + 1))),
      ids.map((id) => tok.decode([id])),
    );
    const tokens = s.tokens.map((t, i) => ({ ...texts[i], policyLogp: t.policyLogp, referenceLogp: t.referenceLogp, reward: t.reward }));
    return { tokens, policyLogp: s.policyLogp, referenceLogp: s.referenceLogp, reward: s.reward };
  }

  dispose(): void {
    this.policy?.dispose();
    this.reference?.dispose();
    this.policy = this.reference = undefined;
  }
}

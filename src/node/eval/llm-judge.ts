// An LLM judge through any OpenAI-compatible endpoint (placeholder until the judge slice lands).
import { LlmJudgeOptions, PairJudge } from './judge';

export function createLlmJudge(options: LlmJudgeOptions): PairJudge {
  throw new Error(`LLM judge ${options.model} at ${options.url}: not implemented yet`);
}

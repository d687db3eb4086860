// The implicit reward of one response (or one token), β·(log πθ(y|x) − log πref(y|x)) (Section 5 of
// arXiv:2305.18290), on plain numbers: the probe, `dpo reward` and triage use it. Training computes
// the same on tensors (implicitRewards in losses.ts); python/dpo_studio/implicit_reward.py is the
// torch engine's, and test/conformance/pair-values holds both to the same cases. No tfjs here, so
// triage can use it without loading a backend.

export function implicitReward(policyLogp: number, referenceLogp: number, beta: number): number {
  return beta * (policyLogp - referenceLogp);
}

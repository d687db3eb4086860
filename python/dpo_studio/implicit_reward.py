"""The implicit reward of DPO, β·(log πθ(y|x) − log πref(y|x)) (Section 5 of arXiv:2305.18290), on
summed response log-probs, computed here only: training's per-pair records, probe scores, `dpo reward`
and triage call this one function (the embedded engine's are implicitRewards in src/engine/dpo/losses.ts and implicitReward in
src/engine/dpo/implicit-reward.ts;
test/conformance/pair-values holds the cases both pass)."""

from typing import TypeVar

T = TypeVar("T")  # a float, or a tensor of per-pair values


def implicit_reward(policy_logps: T, reference_logps: T, beta: float) -> T:
    """β·(policy − reference), elementwise on tensors."""
    return beta * (policy_logps - reference_logps)  # type: ignore[operator]

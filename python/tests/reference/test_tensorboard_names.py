"""Our TensorBoard tags are the ones transformers' own TensorBoard logging would give the same names
(integration_utils.rewrite_logs: train/<name>, eval/<name> for eval_<name>), so a run exported here
lines up with runs logged by HF's Trainer. gen/* (checkpoint evaluations) is ours alone."""

from __future__ import annotations

import pytest
from transformers.integrations.integration_utils import rewrite_logs

from dpo_studio.export_metrics import tag_of

TRAIN = ["loss", "rewards/chosen", "rewards/margins", "logps/chosen", "grad_norm", "learning_rate", "epoch", "tokens_per_second"]
EVAL = ["eval_loss", "eval_rewards/margins", "eval_rewards/accuracies", "eval_logps/rejected"]


@pytest.mark.parametrize("split,name", [("train", n) for n in TRAIN] + [("eval", n) for n in EVAL])
def test_tags_match_transformers_rewrite_logs(split, name):
    assert rewrite_logs({name: 1.0}) == {tag_of(split, name): 1.0}


def test_checkpoint_evaluations_have_their_own_group():
    assert tag_of("eval", "eval_gen/kl") == "gen/kl"
    assert rewrite_logs({"eval_gen/kl": 1.0}) == {"eval/gen/kl": 1.0}  # what HF would have made of it

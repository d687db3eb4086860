"""pairs.py's per-pair capture fails loudly when what it gathered is not what TRL logged (a TRL change
to the order of its gathers), and refuses a loss type it has no formula for instead of writing NaN."""

import pytest
import torch

from dpo_studio.pairs import PairCaptureError, check_capture, pair_losses, unique_lines


def test_captured_rewards_must_average_to_trls_logged_means():
    chosen, rejected = torch.tensor([0.5, 0.1, -0.2]), torch.tensor([-0.3, 0.0, -0.6])
    logged = {
        "rewards/chosen": [0.9, chosen.mean().item()],
        "rewards/rejected": [rejected.mean().item()],
        "rewards/margins": [(chosen - rejected).mean().item()],
    }
    check_capture(logged, chosen, rejected)  # the right attribution passes
    with pytest.raises(PairCaptureError, match="rewards/chosen"):
        check_capture(logged, rejected, chosen)  # swapped: what a reordered TRL would hand over
    margins = chosen - rejected
    with pytest.raises(PairCaptureError, match="rewards/chosen"):
        check_capture(logged, margins, chosen)
    with pytest.raises(PairCaptureError, match="nothing logged"):
        check_capture({}, chosen, rejected)


def test_an_unknown_loss_type_is_an_error():
    x = torch.zeros(2)
    with pytest.raises(ValueError, match='loss_type "kto"'):
        pair_losses("kto", 0.1, x, x, x + 1, x + 1)


def test_padding_repeats_of_a_gathered_batch_are_recorded_once():
    # 5 eval pairs over 2 ranks: accelerate pads the last batch by repeating line 1.
    rows = [{"line": n, "margin": float(n)} for n in (4, 5, 1, 1)]
    assert [r["line"] for r in unique_lines(rows)] == [4, 5, 1]
    assert unique_lines(rows)[2]["margin"] == 1.0

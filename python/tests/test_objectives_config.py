"""SimPO and ORPO config on the torch engine: the fields reach TRL's CPOConfig / ORPOConfig (β as
SimPO's β, or ORPO's λ), TRL's own truncation is out of the way (ours cuts), and a tokenized row is
cut keep-start with the prompt whole, or reported as not fitting."""

from trl.experimental.cpo import CPOConfig
from trl.experimental.orpo import ORPOConfig

from dpo_studio import trl_map
from dpo_studio.reference_free import cut_row, prompt_fits
from dpo_studio.schemas import resolve_config

BASE = {"engine": "torch", "model": "/m", "data": "/d.jsonl", "output_dir": "/o"}


def test_simpo_fields_reach_cpo_config(tmp_path):
    c = resolve_config({**BASE, "loss_type": "simpo", "beta": 2.5, "simpo_gamma": 0.8, "cpo_alpha": 0.3})
    args = CPOConfig(**trl_map.reference_free_args(c, str(tmp_path), 64, has_eval=False))
    assert (args.loss_type, args.beta, args.simpo_gamma, args.cpo_alpha) == ("simpo", 2.5, 0.8, 0.3)
    assert args.max_length == trl_map.NO_TRL_TRUNCATION and args.alpha == 0.0  # plain SimPO, not AlphaPO
    plain = CPOConfig(**trl_map.reference_free_args(resolve_config({**BASE, "loss_type": "simpo"}), str(tmp_path), 64, has_eval=False))
    assert plain.cpo_alpha == 0.0, "our default is plain SimPO (TRL's own default is 1.0)"


def test_orpo_beta_is_lambda(tmp_path):
    c = resolve_config({**BASE, "loss_type": "orpo", "beta": 0.35})
    args = ORPOConfig(**trl_map.reference_free_args(c, str(tmp_path), 64, has_eval=False))
    assert args.beta == 0.35 and args.max_length == trl_map.NO_TRL_TRUNCATION


def test_rows_are_cut_keep_start():
    row = {f"{side}_{k}": list(range(10)) for side in ("chosen", "rejected") for k in ("input_ids", "attention_mask")} | {
        "chosen_labels": [-100] * 4 + list(range(4, 10)),
        "rejected_labels": [-100] * 4 + list(range(4, 10)),
    }
    cut = cut_row(dict(row), 6)
    assert cut["chosen_input_ids"] == [0, 1, 2, 3, 4, 5] and cut["rejected_labels"] == [-100] * 4 + [4, 5]
    assert prompt_fits(cut, 6) and not prompt_fits(cut, 4)

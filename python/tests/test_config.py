"""Every run-config field reaches TRL (DPOConfig / SFTConfig / LoraConfig) or is honoured elsewhere
by name, or is refused with a message naming field and engine; nothing is dropped silently."""

import pytest
from trl import DPOConfig, SFTConfig

from dpo_studio import schemas, trl_map
from dpo_studio.schemas import ConfigError, resolve_config

BASE = {"engine": "torch", "model": "/m", "data": "/d.jsonl", "output_dir": "/o"}


def dpo_config(tmp_path, **over):
    c = resolve_config({**BASE, **over})
    return c, DPOConfig(**trl_map.dpo_args(c, str(tmp_path), min(c["max_length"], 128), has_eval=True))


# field -> (value, attribute of DPOConfig, expected)
MAPPED = {
    "beta": (0.3, "beta", 0.3),
    "loss_type": ("ipo", "loss_type", ["ipo"]),
    "loss_weights": ([2.0], "loss_weights", [2.0]),
    "precompute_ref_log_probs": (True, "precompute_ref_log_probs", True),
    "learning_rate": (5e-4, "learning_rate", 5e-4),
    "lr_scheduler_type": ("cosine", "lr_scheduler_type", "cosine"),
    "warmup_steps": (7, "warmup_steps", 7),
    "warmup_ratio": (0.25, "warmup_steps", 0.25),
    "weight_decay": (0.01, "weight_decay", 0.01),
    "adam_beta1": (0.8, "adam_beta1", 0.8),
    "adam_beta2": (0.99, "adam_beta2", 0.99),
    "adam_epsilon": (1e-6, "adam_epsilon", 1e-6),
    "max_grad_norm": (0.5, "max_grad_norm", 0.5),
    "batch_size": (3, "per_device_train_batch_size", 3),
    "gradient_accumulation_steps": (2, "gradient_accumulation_steps", 2),
    "num_train_epochs": (2, "num_train_epochs", 2),
    "max_steps": (9, "max_steps", 9),
    "max_length": (100, "max_length", 100),
    "seed": (7, "seed", 7),
    "logging_steps": (3, "logging_steps", 3),
    "eval_steps": (5, "eval_steps", 5),
    "save_steps": (11, "save_steps", 11),
    "gradient_checkpointing": (True, "gradient_checkpointing", True),
}


@pytest.mark.parametrize("field", sorted(MAPPED))
def test_field_reaches_dpo_config(field, tmp_path):
    value, attr, expected = MAPPED[field]
    _, default_args = dpo_config(tmp_path)
    _, args = dpo_config(tmp_path, **{field: value})
    got = getattr(args, attr)
    got = got.value if hasattr(got, "value") else got
    assert got == expected, f"{field}={value!r} -> {attr}={got!r}"
    assert getattr(default_args, attr) != getattr(args, attr), "the test value differs from the default"


def test_trl_1_13_defaults_are_overridden_explicitly(tmp_path):
    _, args = dpo_config(tmp_path)
    assert args.gradient_checkpointing is False and args.bf16 is False  # TRL 1.13 turns both on by default
    assert args.learning_rate == 1e-6 and args.loss_type == ["sigmoid"] and args.max_grad_norm == 1
    _, constant = dpo_config(tmp_path, lr_scheduler_type="constant", warmup_ratio=0)
    assert constant.lr_scheduler_type.value == "constant"
    _, warm = dpo_config(tmp_path, lr_scheduler_type="constant", warmup_steps=3)
    assert warm.lr_scheduler_type.value == "constant_with_warmup"  # HF's "constant" has no warm-up
    _, noclip = dpo_config(tmp_path, max_grad_norm=0)
    assert noclip.max_grad_norm is None


def test_eval_steps_null_is_about_ten_evaluations_a_run(tmp_path):
    # HF turns a ratio below 1 into ceil(total steps * ratio): the tfjs engine's evalInterval for null.
    _, args = dpo_config(tmp_path)
    assert args.eval_steps == 0.1
    from transformers.trainer_callback import TrainerState

    state = TrainerState()
    state.compute_steps(args, 68)
    assert state.eval_steps == 7


def test_dtype_and_sft(tmp_path):
    c = resolve_config({**BASE, "dtype": "bf16", "mode": "sft"})
    kw = trl_map.sft_args(c, str(tmp_path), 64, has_eval=False)
    assert kw["bf16"] is True and kw["fp16"] is False and trl_map.DTYPES[c["dtype"]].is_floating_point
    args = SFTConfig(**{**kw, "bf16": False})  # bf16 needs a GPU to construct here; the flag itself is checked above
    assert args.completion_only_loss is True and args.max_length == 64


def test_lora_fields_reach_peft():
    c = resolve_config({**BASE, "lora_r": 8, "lora_alpha": 32, "lora_dropout": 0.05, "lora_target_modules": "q_proj, v_proj"})
    lc = trl_map.lora_config(c)
    assert (lc.r, lc.lora_alpha, lc.lora_dropout, set(lc.target_modules)) == (8, 32, 0.05, {"q_proj", "v_proj"})
    assert trl_map.lora_config(resolve_config(BASE)) is None


@pytest.mark.parametrize(
    "field,value", [("label_smoothing", 0.1), ("reference_free", True), ("max_prompt_length", 32), ("backend", "wasm")]
)
def test_refused_fields_name_field_and_engine(field, value):
    with pytest.raises(ConfigError) as e:
        resolve_config({**BASE, field: value})
    assert f"{field}: the torch engine does not honour it" in str(e.value)


@pytest.mark.parametrize(
    "over,types,weights",
    [
        ({"loss_type": ["sigmoid", "sft"], "loss_weights": [1, 0.5]}, ["sigmoid", "sft"], [1.0, 0.5]),
        ({"loss_type": ["sigmoid", "bco_pair", "sft"], "loss_weights": [0.8, 0.2, 1.0]}, ["sigmoid", "bco_pair", "sft"], [0.8, 0.2, 1.0]),
        ({"loss_type": ["hinge", "sft"]}, ["hinge", "sft"], [1.0, 1.0]),
        # The deprecated alias: sft_weight w is [loss_type, "sft"] with [1, w].
        ({"sft_weight": 0.5}, ["sigmoid", "sft"], [1.0, 0.5]),
        ({"loss_type": "ipo", "sft_weight": 2}, ["ipo", "sft"], [1.0, 2.0]),
    ],
)
def test_loss_lists_reach_dpo_config(over, types, weights, tmp_path):
    _, args = dpo_config(tmp_path, **over)
    assert [getattr(t, "value", t) for t in args.loss_type] == types and args.loss_weights == weights


def test_check_objective_refuses_a_bad_list_outside_resolve_config():
    c = resolve_config(BASE)
    with pytest.raises(ValueError, match="loss_weights: 1 weight"):
        trl_map.check_objective({**c, "loss_type": ["sigmoid", "sft"], "loss_weights": [1]})
    with pytest.raises(ValueError, match="loss_type: a loss list may hold only"):
        trl_map.check_objective({**c, "loss_type": ["sigmoid", "kto"]})


def test_every_field_is_accounted_for(tmp_path):
    names = set(schemas.config_schema()["properties"]) - {"$schema"}
    covered = set(MAPPED) | set(trl_map.HANDLED_ELSEWHERE) | {"dtype", "gradient_checkpointing"}
    assert names - covered == set(), f"fields with no mapping: {sorted(names - covered)}"


def test_bad_values_and_unknown_fields_are_named():
    with pytest.raises(ConfigError) as e:
        resolve_config({**BASE, "beta": -1, "lora_rank": 3})
    msg = str(e.value)
    assert "beta:" in msg and "lora_rank: unknown field" in msg

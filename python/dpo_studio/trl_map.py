"""Run config -> TRL's DPOConfig / SFTConfig and PEFT's LoraConfig: every field either maps to a TRL
argument here or was refused by schemas.resolve_config (x-engines), never silently dropped."""

from typing import Any

import torch

from .loss_terms import loss_members, loss_terms

# Fields that do not become a TRL argument, with where they are honoured instead.
HANDLED_ELSEWHERE = {
    "mode": "picks DPOTrainer, SFTTrainer or KTOTrainer",
    "model": "loaded from its folder",
    "reference_model": "loaded from its folder",
    "data": "read by data.read_pairs",
    "eval_data": "read by data.read_pairs",
    "eval_fraction": "data.split_eval",
    "output_dir": "the run folder",
    "skip_bad_lines": "data.read_pairs",
    "stuck_loss_steps": "health.py",
    "falling_logps_window": "health.py",
    "engine": "this engine",
    "lora_r": "LoraConfig",
    "lora_alpha": "LoraConfig",
    "lora_dropout": "LoraConfig",
    "lora_target_modules": "LoraConfig",
    "merge_lora": "final/merged",
    "num_processes": "accelerate launch",
    "accelerate_config": "accelerate launch",
    "save_total_limit": "RunFolder.adopt_checkpoint",
    "desirable_weight": "KTOConfig (kto_args)",
    "undesirable_weight": "KTOConfig (kto_args)",
    "max_length": "capped at the model context, then TRL max_length",
    "checkpoint_eval_prompts": "the host's background dpo eval (src/node/eval/checkpoint-evals.ts)",
    "checkpoint_eval_samples": "the host's background dpo eval",
    "checkpoint_eval_max_new_tokens": "the host's background dpo eval",
    "checkpoint_eval_reward_model": "the host's background dpo eval",
    "report_to": "export_metrics_callback.py: our TensorBoard writer, with the panel's names (TRL's report_to stays [])",
    # SimPO: CPOConfig arguments (cpo_args below; test_simpo_orpo.py checks they arrive).
    "simpo_gamma": "CPOConfig.simpo_gamma (loss_type simpo)",
    "cpo_alpha": "CPOConfig.cpo_alpha (loss_type simpo)",
    "sft_weight": "loss_terms: the deprecated spelling of an 'sft' member of loss_type",
    # refused when set (x-engines: tfjs): label_smoothing, reference_free, max_prompt_length, backend, threads
    "label_smoothing": "refused unless 0",
    "reference_free": "refused unless false",
    "max_prompt_length": "refused unless null",
    "backend": "refused unless null",
    "threads": "refused unless 0",
}

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# The objectives this engine hands to TRL. resolve_config refuses others; this holds for a config that
# did not pass through it (a hand-written worker spec, Run called directly): TRL would take an unknown
# loss_type and fail later or log NaN per-pair losses.
MODES = ("dpo", "sft", "kto")
LOSS_TYPES = ("sigmoid", "ipo", "hinge", "simpo", "orpo")
# No reference model: trl.experimental's CPOTrainer (loss_type "simpo") and ORPOTrainer train them.
REFERENCE_FREE = ("simpo", "orpo")
# Long enough that TRL's own CPO/ORPO truncation never fires: pairs.py cuts as both engines do.
NO_TRL_TRUNCATION = 1 << 30


def check_objective(c: dict) -> None:
    """ValueError naming the field when mode or loss_type is not one this engine maps to TRL."""
    if c.get("mode") not in MODES:
        raise ValueError(f"mode: {c.get('mode')!r} is not one of {', '.join(MODES)}; set mode to dpo or sft")
    if c["mode"] == "kto" and c.get("batch_size", 0) < 2:
        # KTOTrainer's own rule, said before anything loads: the KL estimate needs mismatched lines of one batch.
        raise ValueError('batch_size: mode "kto" needs at least 2 lines per batch (its KL reference point comes from mismatched lines)')
    if c["mode"] != "dpo":
        return
    lt = c.get("loss_type")
    if isinstance(lt, list):
        bad = [t for t in lt if t not in loss_members()]
        if not lt or bad:
            raise ValueError(f"loss_type: a loss list may hold only {', '.join(loss_members())}; got {lt!r}")
        weights = c.get("loss_weights")
        if weights is not None and len(weights) != len(lt):
            raise ValueError(f"loss_weights: {len(weights)} weight(s) for {len(lt)} loss type(s); give one per loss_type entry")
    elif lt not in LOSS_TYPES and lt not in loss_members():
        raise ValueError(f"loss_type: {lt!r} is not one of {', '.join(LOSS_TYPES)}; set loss_type to one of them")


def scheduler(c: dict) -> str:
    # HF's "constant" has no warm-up; ours warms up linearly first when asked.
    if c["lr_scheduler_type"] == "constant":
        return "constant_with_warmup" if (c["warmup_steps"] > 0 or c["warmup_ratio"] > 0) else "constant"
    return c["lr_scheduler_type"]


def common_args(c: dict, staging_dir: str, max_length: int, has_eval: bool, resumed: bool = False) -> dict:
    on_gpu = torch.cuda.is_available()
    return dict(
        output_dir=staging_dir,
        learning_rate=c["learning_rate"],
        lr_scheduler_type=scheduler(c),
        # transformers 5: a float below 1 is a ratio of the total steps.
        warmup_steps=c["warmup_steps"] if c["warmup_steps"] > 0 else float(c["warmup_ratio"]) if c["warmup_ratio"] < 1 else 1.0,
        weight_decay=c["weight_decay"],
        adam_beta1=c["adam_beta1"],
        adam_beta2=c["adam_beta2"],
        adam_epsilon=c["adam_epsilon"],
        max_grad_norm=c["max_grad_norm"] if c["max_grad_norm"] > 0 else None,
        per_device_train_batch_size=c["batch_size"],
        per_device_eval_batch_size=c["batch_size"],
        gradient_accumulation_steps=c["gradient_accumulation_steps"],
        num_train_epochs=c["num_train_epochs"],
        max_steps=c["max_steps"] or -1,
        max_length=max_length,
        seed=c["seed"],
        data_seed=c["seed"],
        logging_steps=c["logging_steps"],
        logging_first_step=False,
        eval_strategy="steps" if has_eval else "no",
        # null: about 10 evaluations a run; HF turns a ratio below 1 into ceil(total steps * ratio), as the tfjs engine does.
        eval_steps=c["eval_steps"] if c["eval_steps"] is not None else 0.1,
        # The step-0 evaluation belongs to the run's start; HF would run it again at a resumed step.
        eval_on_start=has_eval and not resumed,
        save_strategy="steps",
        save_steps=c["save_steps"],
        save_total_limit=None,
        # TRL 1.13 turns both on by default: the config decides.
        gradient_checkpointing=c["gradient_checkpointing"],
        bf16=c["dtype"] == "bf16",
        fp16=c["dtype"] == "fp16",
        use_cpu=not on_gpu,
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataset_num_proc=None,
    )


def dpo_args(c: dict, staging_dir: str, max_length: int, has_eval: bool, resumed: bool = False) -> dict:
    check_objective(c)
    return dict(
        common_args(c, staging_dir, max_length, has_eval, resumed),
        beta=c["beta"],
        # A list with weights, as DPOTrainer takes it; sft_weight arrives here as an "sft" term.
        loss_type=[t for t, _ in loss_terms(c)],
        loss_weights=[w for _, w in loss_terms(c)],
        precompute_ref_log_probs=c["precompute_ref_log_probs"],
        truncation_mode="keep_start",
    )


def reference_free_args(c: dict, staging_dir: str, max_length: int, has_eval: bool, resumed: bool = False) -> dict:
    """CPOConfig (simpo) or ORPOConfig (orpo) arguments. β is SimPO's β, or ORPO's λ (TRL's naming)."""
    check_objective(c)
    args = dict(common_args(c, staging_dir, max_length, has_eval, resumed), beta=c["beta"], max_length=NO_TRL_TRUNCATION)
    if c["loss_type"] == "simpo":
        args.update(loss_type="simpo", simpo_gamma=c["simpo_gamma"], cpo_alpha=c["cpo_alpha"])
    return args


def kto_args(c: dict, staging_dir: str, max_length: int, has_eval: bool, resumed: bool = False) -> dict:
    check_objective(c)
    return dict(
        common_args(c, staging_dir, max_length, has_eval, resumed),
        beta=c["beta"],
        loss_type="kto",
        desirable_weight=c["desirable_weight"],
        undesirable_weight=c["undesirable_weight"],
        precompute_ref_log_probs=c["precompute_ref_log_probs"],
    )


def sft_args(c: dict, staging_dir: str, max_length: int, has_eval: bool, resumed: bool = False) -> dict:
    # Prompt-completion rows: TRL masks the prompt (completion_only_loss), as the tfjs engine does.
    return dict(common_args(c, staging_dir, max_length, has_eval, resumed), completion_only_loss=True, packing=False)


def lora_config(c: dict) -> Any:
    if c["lora_r"] <= 0:
        return None
    from peft import LoraConfig

    targets = c["lora_target_modules"]
    if isinstance(targets, str) and targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    return LoraConfig(
        r=c["lora_r"], lora_alpha=c["lora_alpha"], lora_dropout=c["lora_dropout"], target_modules=targets, task_type="CAUSAL_LM"
    )

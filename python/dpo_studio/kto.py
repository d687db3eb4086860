"""Mode "kto" on TRL's KTOTrainer: the trainer built from the run config, and per-example values for
pairs.jsonl taken from what its `_compute_loss` already computes. A minimal subclass carries each
example's data-file line through the collator and records the per-token log-probs TRL's
`selective_log_softmax` returns (policy KL, policy, then reference KL and reference, in that order);
the values are checked every batch against the means TRL logs (rewards/chosen, rewards/rejected), so
a TRL change fails loudly instead of misattributing. No KTO loss is computed here but the drill-down's
per-example value (the loss formula on those numbers)."""

from collections.abc import Callable
from typing import Any

import torch
import trl.trainer.kto_trainer as kto_module
from trl import KTOTrainer
from trl.trainer.kto_trainer import DataCollatorForUnpairedPreference

from .pairs import KeepsLineColumn, PairCaptureError, unique_lines


class LinedUnpairedCollator(DataCollatorForUnpairedPreference):
    def torch_call(self, examples: list[dict]) -> dict:
        out = super().torch_call(examples)
        out["line"] = torch.tensor([e["line"] for e in examples], dtype=torch.long)
        return out


def example_rows(
    lines: list[int], labels: list[bool], rewards: torch.Tensor, kl: float, beta: float, weights: tuple[float, float]
) -> list[dict]:
    """pairs.jsonl rows (without step and split) of unpaired examples: the reward on the label's side,
    β·KL (the batch's reference point) on the other, margin their difference, loss λ·(1 − σ(margin))."""
    rows = []
    point = beta * kl
    for line, label, r in zip(lines, labels, rewards.tolist(), strict=True):
        chosen, rejected = (r, point) if label else (point, r)
        margin = chosen - rejected
        weight = weights[0] if label else weights[1]
        loss = weight * (1 - float(torch.sigmoid(torch.tensor(margin, dtype=torch.float64))))
        rows.append(
            {"line": int(line), "chosen_reward": chosen, "rejected_reward": rejected, "margin": margin, "loss": loss, "label": bool(label)}
        )
    return rows


def check_capture(logged: dict, rewards: torch.Tensor, labels: torch.Tensor) -> None:
    """Raises PairCaptureError unless the captured rewards average, per label, to what TRL logged. The
    sums are taken in the rewards' own dtype, as TRL takes them; bf16/fp16 sums round more."""
    rel = 1e-3 if rewards.dtype in (torch.float32, torch.float64) else 2e-2
    for name, mask in (("rewards/chosen", labels), ("rewards/rejected", ~labels)):
        if not bool(mask.any()):
            continue
        want = logged.get(name)
        got = float(rewards[mask].nansum()) / int(mask.sum())
        if not want or abs(got - want[-1]) > 1e-6 + rel * abs(want[-1]):
            raise PairCaptureError(
                f"pairs.jsonl capture: the per-example log-probs read from TRL's KTOTrainer._compute_loss do not average to its logged {name} "
                f"({got} vs {want[-1] if want else 'nothing logged'}); TRL changed how it computes them: update python/dpo_studio/kto.py"
            )


class LinedKTOTrainer(KeepsLineColumn, KTOTrainer):
    """KTOTrainer that reports (split, per-example records) per batch."""

    pair_sink: Callable[[str, list[dict]], None] | None = None  # set by the run

    def _compute_loss(self, model: Any, inputs: dict, return_outputs: bool) -> Any:
        lines = inputs.pop("line", None)
        captured: list[torch.Tensor] = []
        original = kto_module.selective_log_softmax

        def recording(logits: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
            out = original(logits, index)
            captured.append(out)
            return out

        kto_module.selective_log_softmax = recording
        try:
            result = super()._compute_loss(model, inputs, return_outputs)
        finally:
            kto_module.selective_log_softmax = original
        if lines is not None and self.pair_sink is not None:
            self._report(inputs, lines, captured)
        return result

    def _report(self, inputs: dict, lines: torch.Tensor, captured: list[torch.Tensor]) -> None:
        mask = inputs["completion_mask"][:, 1:].to(captured[1].dtype) if len(captured) > 1 else None
        expected = 2 if self.precompute_ref_logps else 4
        if mask is None or len(captured) != expected:
            raise PairCaptureError(
                f"pairs.jsonl capture: TRL's KTOTrainer._compute_loss took {len(captured)} log-softmax passes (expected {expected}); update python/dpo_studio/kto.py"
            )
        with torch.no_grad():
            policy = (captured[1].detach() * mask).sum(-1)
            # Precomputed reference log-probs keep their float32 (TRL subtracts them as they are).
            reference = inputs["ref_logps"].to(policy.device) if self.precompute_ref_logps else (captured[3].detach() * mask).sum(-1)
            rewards = self.beta * (policy - reference)
        split = "train" if self.model.training else "eval"
        gather = self.accelerator.gather
        labels = gather(inputs["label"].to(rewards.device).bool())
        rewards = gather(rewards)
        check_capture(self._metrics[split], rewards, labels)
        kl = self._metrics[split]["kl"][-1]
        rows = example_rows(
            gather(lines.to(rewards.device)).tolist(),
            labels.tolist(),
            rewards.float(),
            kl,
            self.beta,
            (self.desirable_weight, self.undesirable_weight),
        )
        assert self.pair_sink is not None
        self.pair_sink(split, unique_lines_labels(rows))


def unique_lines_labels(rows: list[dict]) -> list[dict]:
    """One record per (line, label): a paired file's line is two examples; a repeat is accelerate's padding."""
    by_label: dict[bool, list[dict]] = {True: [], False: []}
    for r in rows:
        by_label[r["label"]].append(r)
    kept = {id(r) for label in (True, False) for r in unique_lines(by_label[label])}
    return [r for r in rows if id(r) in kept]


def build_kto_trainer(run: Any, tok: Any, train: list, evals: list, max_length: int, callbacks: list, dtype: Any, peft_config: Any) -> Any:
    """The run's LinedKTOTrainer (rows {line, prompt, completion, label} in the order KTO reads them)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import KTOConfig

    from . import trl_map

    c = run.c
    ref = AutoModelForCausalLM.from_pretrained(c["reference_model"], dtype=dtype) if c["reference_model"] else None
    has_eval = len(evals) > 0
    args = KTOConfig(**trl_map.kto_args(c, run.folder.staging, max_length, has_eval, run.resume), model_init_kwargs={"dtype": dtype})
    trainer = LinedKTOTrainer(
        model=c["model"],
        ref_model=ref,
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(evals) if has_eval else None,
        processing_class=tok,
        peft_config=peft_config,
        data_collator=LinedUnpairedCollator(pad_token_id=tok.pad_token_id, max_length=max_length),
        callbacks=callbacks,
    )
    trainer.pair_sink = run.on_pairs
    return trainer

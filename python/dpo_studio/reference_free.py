"""SimPO and ORPO on the torch engine: trl.experimental's CPOTrainer (loss_type "simpo") and
ORPOTrainer, each with a small mixin that (1) cuts sequences to max_length as the embedded engine does
(keep the start; a pair whose prompt fills it is dropped), (2) leaves out logits/* (TRL's CPO/ORPO
average them over padding too) and logs num_tokens as DPOTrainer does, and (3) records per-pair
values for pairs.jsonl from the tensors the trainer already computes: reward β·mean log πθ(y|x),
loss = the pair's preference term plus its share of the batch's NLL term (their mean is TRL's loss).
No loss is computed here that TRL does not."""

import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

with warnings.catch_warnings():
    # TRL warns that trl.experimental may change; it is pinned, and test_simpo_orpo.py checks these two against it.
    warnings.simplefilter("ignore")
    from trl.experimental.cpo import CPOTrainer
    from trl.experimental.orpo import ORPOTrainer

from . import trl_map
from .pairs import PairCaptureError, unique_lines

if TYPE_CHECKING:
    from .train import Run

SEQUENCE_KEYS = ("input_ids", "attention_mask", "labels")


def cut_row(row: dict, max_length: int) -> dict:
    """Keep-start truncation of a tokenized CPO/ORPO row: both sequences end at max_length."""
    for side in ("chosen", "rejected"):
        for k in SEQUENCE_KEYS:
            row[f"{side}_{k}"] = row[f"{side}_{k}"][:max_length]
    return row


def _prompt_ids(row: dict, side: str) -> list[int]:
    return [i for i, label in zip(row[f"{side}_input_ids"], row[f"{side}_labels"], strict=True) if label == -100]


def prompt_fits(row: dict, max_length: int) -> bool:
    """Whether a response token is left once the prompt (the -100 labels) is in."""
    return sum(1 for x in row["chosen_labels"] if x == -100) < max_length


class _PairCapture:
    """Mixin over CPOTrainer / ORPOTrainer; see the module docstring."""

    pair_sink: Callable[[str, list[dict]], None] | None = None  # set by the run
    studio_max_length: int = 0  # set before __init__ tokenizes (class attribute of the built subclass)
    _captured: dict

    def tokenize_row(self, feature: dict, model: Any = None) -> dict:
        row = super().tokenize_row(feature, model)  # type: ignore[misc]
        if _prompt_ids(row, "chosen") != _prompt_ids(row, "rejected"):
            # TRL would train the two with different prompt ids; the embedded engine refuses the pair (tokenize-cpo.ts).
            raise ValueError(
                f"line {feature.get('line')}: the prompt's last token merges differently with the chosen and the rejected response, "
                "so the pair has no common prompt under TRL's CPO/ORPO tokenization; end the prompt with a space or newline "
                "(or start both responses with one)"
            )
        row = cut_row(row, self.studio_max_length)
        row["prompt_fits"] = prompt_fits(row, self.studio_max_length)
        return row

    def store_metrics(self, metrics: dict[str, float], train_eval: str = "train") -> None:
        kept = {k: v for k, v in metrics.items() if "logits/" not in k}
        super().store_metrics(kept, train_eval)  # type: ignore[misc]

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs:
            logs["num_tokens"] = float(getattr(self, "_total_train_tokens", 0))
        super().log(logs, start_time)  # type: ignore[misc]

    def concatenated_forward(self, model: Any, batch: dict) -> Any:
        out = super().concatenated_forward(model, batch)  # type: ignore[misc]
        self._captured["forward"] = out
        return out

    def get_batch_loss_metrics(self, model: Any, batch: dict, train_eval: str = "train") -> Any:
        self._captured = {}
        loss, metrics = super().get_batch_loss_metrics(model, batch, train_eval)  # type: ignore[misc]
        if train_eval == "train":
            # num_tokens as DPOTrainer counts it (the run's tokens_per_second reads it; CPO/ORPO count none).
            real = batch["chosen_attention_mask"].sum() + batch["rejected_attention_mask"].sum()
            self._total_train_tokens = getattr(self, "_total_train_tokens", 0) + int(self.accelerator.gather_for_metrics(real).sum().item())  # type: ignore[attr-defined]
        if self.pair_sink is not None and "line" in batch:
            self._emit(batch, metrics, train_eval)
        return loss, metrics

    def _emit(self, batch: dict, metrics: dict, split: str) -> None:
        losses, chosen, rejected = (t.detach() for t in self._captured["loss"][:3])
        acc = self.accelerator  # type: ignore[attr-defined]
        prefix = "eval_" if split == "eval" else ""
        # Gathered and averaged as TRL does, in its dtype (bf16 runs too), so a match is exact and a miss is a TRL change.
        for name, mine in (("rewards/chosen", chosen), ("rewards/margins", chosen - rejected)):
            got, want = float(acc.gather_for_metrics(mine).mean()), metrics.get(prefix + name)
            if want is None or not math.isclose(got, want, rel_tol=1e-3, abs_tol=1e-6):
                raise PairCaptureError(
                    f"pairs.jsonl capture: the per-pair rewards of {type(self).__name__} do not average to its logged {name} "
                    f"({got} vs {want}); TRL changed: update python/dpo_studio/reference_free.py"
                )
        total = self._pair_losses(batch, losses.float())
        lines = torch.tensor(batch["line"], device=chosen.device, dtype=torch.float64)
        cols = acc.gather_for_metrics(torch.stack([lines, chosen.double(), rejected.double(), total.double()], dim=1))
        rows = [{"line": int(ln), "chosen_reward": c, "rejected_reward": r, "margin": c - r, "loss": x} for ln, c, r, x in cols.tolist()]
        self.pair_sink(split, unique_lines(rows))  # type: ignore[misc]

    def _pair_losses(self, batch: dict, losses: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _shares(chosen_sums: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Per-pair shares of a batch NLL (token mean over all chosen tokens): −sum_i · n / T; mean = the NLL."""
    return -chosen_sums * tokens.numel() / tokens.sum().clamp(min=1)


class LinedCPOTrainer(_PairCapture, CPOTrainer):
    """SimPO: per-pair loss −log σ(β·Δ − γ) + cpo_alpha · the pair's share of the chosen-response NLL."""

    def cpo_loss(self, policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor) -> Any:
        out = super().cpo_loss(policy_chosen_logps, policy_rejected_logps)
        self._captured["loss"] = out
        return out

    def _pair_losses(self, batch: dict, losses: torch.Tensor) -> torch.Tensor:
        if self.cpo_alpha == 0:
            return losses
        tokens = (batch["chosen_labels"][:, 1:] != -100).sum(1).float()  # scored response tokens per pair
        sums = self._captured["forward"][0].detach().float() * tokens  # means back to sums
        return losses + self.cpo_alpha * _shares(sums, tokens)


class LinedORPOTrainer(_PairCapture, ORPOTrainer):
    """ORPO: per-pair loss −β·log σ(log odds ratio) + the pair's share of the NLL on prompt and chosen."""

    def odds_ratio_loss(self, policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor) -> Any:
        out = super().odds_ratio_loss(policy_chosen_logps, policy_rejected_logps)
        # TRL's losses are β·log σ(·) (the loss subtracts their mean): the pair's term is their negation.
        self._captured["loss"] = (-out[0], out[1], out[2])
        return out

    def _pair_losses(self, batch: dict, losses: torch.Tensor) -> torch.Tensor:
        chosen_logits = self._captured["forward"][2].detach()  # [B, L-1, V]: every position but the last
        ids, mask = batch["chosen_input_ids"], batch["chosen_attention_mask"]
        n = ids.shape[1] - 1
        with torch.no_grad():
            logps = torch.gather(F.log_softmax(chosen_logits[:, :n].float(), -1), 2, ids[:, 1:, None])[..., 0]
        scored = mask[:, 1:].float()  # TRL's ORPO labels: the attention-masked input ids
        return losses + _shares((logps * scored).sum(1), scored.sum(1))


def trainer_class(loss_type: str, max_length: int) -> type:
    """The capturing trainer for a reference-free loss_type, cutting at max_length."""
    base = LinedCPOTrainer if loss_type == "simpo" else LinedORPOTrainer
    return type(base.__name__, (base,), {"studio_max_length": max_length})


def build_trainer(
    run: "Run", tok: Any, train: list, evals: list, max_length: int, has_eval: bool, dtype: Any, peft_config: Any, callbacks: list
) -> Any:
    """SimPO (CPOTrainer) or ORPO (ORPOTrainer) for a Run: no reference model is loaded."""
    from datasets import Dataset

    from .train import TrainingError

    c = run.c
    if c["loss_type"] == "simpo":
        from trl.experimental.cpo import CPOConfig as Config
    else:
        from trl.experimental.orpo import ORPOConfig as Config
    # device_map None: the Trainer places the model (TRL's "auto" would spread it over every GPU of a DDP rank).
    kwargs = trl_map.reference_free_args(c, run.folder.staging, max_length, has_eval, run.resume)
    args = Config(**kwargs, model_init_kwargs={"dtype": dtype, "device_map": None})
    trainer = trainer_class(c["loss_type"], max_length)(
        model=c["model"],
        args=args,
        train_dataset=Dataset.from_list(train),
        eval_dataset=Dataset.from_list(evals) if has_eval else None,
        processing_class=tok,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    # Pairs whose prompt alone fills max_length are dropped and counted, as on the embedded engine.
    for name in ("train_dataset", "eval_dataset"):
        ds = getattr(trainer, name)
        if ds is not None:
            kept = ds.filter(lambda r: r["prompt_fits"])
            if len(kept) < len(ds):
                run.warn("data", f"dropped {len(ds) - len(kept)} pair(s) whose prompt alone fills max_length {max_length}", 0)
            setattr(trainer, name, kept)
    if len(trainer.train_dataset) == 0:
        raise TrainingError(f"{c['data']}: no training pairs left: every prompt fills max_length {max_length}")
    trainer.pair_sink = run.on_pairs
    return trainer

"""Per-pair values for pairs.jsonl, taken from what TRL's DPOTrainer already computes: a minimal
subclass carries each pair's data-file line through the collator and records the per-pair implicit
rewards that `_compute_loss` gathers. Which gathered tensors they are is checked, every batch, against
the means TRL logs (rewards/chosen, rewards/rejected, rewards/margins): a TRL change fails loudly
instead of misattributing. No DPO loss is written here; the per-pair loss is the weighted sum of the
loss list's formulas on those values (the contract of test/conformance/pair-values), for drill-down
only; an "sft" member is a batch term (TRL's NLL over all chosen tokens), the same for every pair of
its batch, taken from the loss TRL returned."""

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from trl import DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference

from .implicit_reward import implicit_reward

LOSS_TYPES = ("sigmoid", "hinge", "ipo", "bco_pair")
Terms = list[tuple[str, float]]


class PairCaptureError(RuntimeError):
    """TRL's _compute_loss no longer gathers the per-pair rewards where this capture reads them."""


class LinedCollator(DataCollatorForPreference):
    def torch_call(self, examples: list[dict]) -> dict:
        out = super().torch_call(examples)
        out["line"] = torch.tensor([e["line"] for e in examples], dtype=torch.long)
        return out


def pair_losses(
    loss_type: str, beta: float, chosen: torch.Tensor, rejected: torch.Tensor, chosen_len: torch.Tensor, rejected_len: torch.Tensor
) -> torch.Tensor:
    """Per-pair loss from the implicit rewards (β·log-ratio of summed log-probs) and the response lengths."""
    margin = chosen - rejected
    if loss_type == "sigmoid":
        return F.softplus(-margin)  # −log σ(βh)
    if loss_type == "hinge":
        return torch.relu(1 - margin)
    if loss_type == "ipo":  # on per-token means of the log-ratios (TRL's normalisation)
        delta = chosen / beta / chosen_len.clamp(min=1) - rejected / beta / rejected_len.clamp(min=1)
        return (delta - 1 / (2 * beta)) ** 2
    if loss_type == "bco_pair":  # the rewards are already β·log-ratios
        return F.softplus(-chosen) + F.softplus(rejected)
    raise ValueError(f'loss_type "{loss_type}" has no per-pair loss here (one of {", ".join(LOSS_TYPES)})')


def terms_losses(
    terms: Terms,
    beta: float,
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    chosen_len: torch.Tensor,
    rejected_len: torch.Tensor,
    sft_nll: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Σ weight · member loss per pair; an "sft" member adds weight · sft_nll (its batch's NLL) to each pair."""
    total = torch.zeros_like(chosen)
    for loss_type, weight in terms:
        if weight == 0:
            continue  # as the embedded engine: a zero weight adds nothing, not even a NaN
        term = sft_nll if loss_type == "sft" else pair_losses(loss_type, beta, chosen, rejected, chosen_len, rejected_len)
        total = total + weight * term
    return total


def pair_rows(
    terms: Terms,
    beta: float,
    lines: list[int],
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    chosen_len: torch.Tensor,
    rejected_len: torch.Tensor,
    sft_nll: torch.Tensor | float = 0.0,
) -> list[dict]:
    """pairs.jsonl rows (without step and split) from per-pair implicit rewards."""
    losses = terms_losses(terms, beta, chosen, rejected, chosen_len, rejected_len, sft_nll)
    return [
        {"line": int(line), "chosen_reward": float(c), "rejected_reward": float(r), "margin": float(c - r), "loss": float(x)}
        for line, c, r, x in zip(lines, chosen.tolist(), rejected.tolist(), losses.tolist(), strict=True)
    ]


def pair_rows_from_logps(
    terms: Terms, beta: float, lines: list[int], logps: dict[str, torch.Tensor], chosen_len: torch.Tensor, rejected_len: torch.Tensor
) -> list[dict]:
    """pairs.jsonl rows from summed log-probs (policy_chosen, policy_rejected, reference_chosen, reference_rejected);
    the "sft" term is TRL's: −(Σ chosen log-probs) / (Σ chosen tokens) over the batch."""
    chosen = implicit_reward(logps["policy_chosen"], logps["reference_chosen"], beta)
    rejected = implicit_reward(logps["policy_rejected"], logps["reference_rejected"], beta)
    sft_nll = -logps["policy_chosen"].sum() / chosen_len.sum().clamp(min=1)
    return pair_rows(terms, beta, lines, chosen, rejected, chosen_len, rejected_len, sft_nll)


def check_capture(logged: dict, chosen: torch.Tensor, rejected: torch.Tensor) -> None:
    """Raises PairCaptureError unless the captured per-pair rewards average to what TRL logged for this batch."""
    for name, got in (
        ("rewards/chosen", chosen.mean()),
        ("rewards/rejected", rejected.mean()),
        ("rewards/margins", (chosen - rejected).mean()),
    ):
        want = logged.get(name)
        if not want or not math.isclose(float(got), want[-1], rel_tol=1e-3, abs_tol=1e-6):
            raise PairCaptureError(
                f"pairs.jsonl capture: the per-pair values gathered by TRL's DPOTrainer._compute_loss do not average to its logged {name} "
                f"({float(got)} vs {want[-1] if want else 'nothing logged'}); TRL changed how it gathers them: update python/dpo_studio/pairs.py"
            )


class KeepsLineColumn:
    """Mixin for a TRL trainer: keeps the dataset's "line" column (the data file line of each example,
    for pairs.jsonl), which TRL drops as not an argument of the model's forward."""

    _signature_columns: list[str]

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()  # type: ignore[misc]
        if "line" not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, "line"]


class LinedDPOTrainer(KeepsLineColumn, DPOTrainer):
    """DPOTrainer that reports (split, lines, chosen rewards, rejected rewards, losses) per batch."""

    pair_sink: Callable[[str, list[dict]], None] | None = None  # set by the run

    def _compute_loss(self, model: Any, inputs: dict, return_outputs: bool) -> Any:
        lines = inputs.pop("line", None)
        acc = self.accelerator
        gather = acc.gather
        captured: list[Any] = []
        local: list[Any] = []

        n = 0 if lines is None else lines.numel()

        def recording_gather(t: Any) -> Any:
            out = gather(t)
            # Scalars pass through here too (gather_for_metrics calls gather); the per-pair tensors
            # are the 1-D ones with one value per pair of this batch.
            if isinstance(t, torch.Tensor) and t.dim() == 1 and t.numel() == n:
                captured.append(out)
                local.append(t)
            return out

        acc.gather = recording_gather
        try:
            result = super()._compute_loss(model, inputs, return_outputs)
        finally:
            del acc.gather  # the bound method shows through again
        if lines is not None and self.pair_sink is not None:
            if len(captured) < 2:
                raise PairCaptureError(
                    "pairs.jsonl capture: TRL's DPOTrainer._compute_loss gathered no per-pair rewards; update python/dpo_studio/pairs.py"
                )
            split = "train" if self.model.training else "eval"
            check_capture(self._metrics[split], captured[0], captured[1])  # in TRL's own dtype, so the means are its means
            chosen, rejected = captured[0].float(), captured[1].float()
            cm, rm = inputs["completion_mask"].chunk(2, dim=0)
            lens = gather(torch.stack([cm.sum(1), rm.sum(1)], dim=1).to(captured[0].device)).float()
            lines_all = gather(lines.to(captured[0].device))
            terms = list(zip(self.loss_types, self.loss_weights, strict=True))
            sft_part: torch.Tensor | float = 0.0
            if any(t == "sft" and w != 0 for t, w in terms):
                sft_part = self._batch_part(result, terms, local[0], local[1], cm.sum(1), rm.sum(1))
            rows = pair_rows(terms, self.beta, lines_all.tolist(), chosen, rejected, lens[:, 0], lens[:, 1], sft_part)
            self.pair_sink(split, unique_lines(rows))
        return result

    def _batch_part(
        self, result: Any, terms: Terms, chosen: torch.Tensor, rejected: torch.Tensor, chosen_len: torch.Tensor, rejected_len: torch.Tensor
    ) -> torch.Tensor:
        """Per gathered pair: what TRL's loss of its process's batch holds beyond the per-pair members
        (the "sft" NLL), as 1/weight of the sft member so that terms_losses weighs it back."""
        loss = (result[0] if isinstance(result, tuple) else result).detach().float()
        pair_terms = [(t, w) for t, w in terms if t != "sft"]
        c, r = chosen.detach().float(), rejected.detach().float()
        pair_mean = terms_losses(pair_terms, self.beta, c, r, chosen_len.float(), rejected_len.float()).mean()
        sft_weight = sum(w for t, w in terms if t == "sft")
        per_pair = ((loss - pair_mean) / sft_weight).expand(c.numel()).contiguous()
        return self.accelerator.gather(per_pair).float()


def unique_lines(rows: list[dict]) -> list[dict]:
    """One record per data line of a gathered batch. A batch samples without replacement, so a line
    seen twice is accelerate's padding of the last batch (an eval set that does not divide evenly
    across ranks repeats samples to fill it); pairs.jsonl lists each pair once."""
    seen: set[int] = set()
    out = []
    for r in rows:
        if r["line"] not in seen:
            seen.add(r["line"])
            out.append(r)
    return out

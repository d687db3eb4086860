"""Per-pair values for pairs.jsonl, taken from what TRL's DPOTrainer already computes: a minimal
subclass carries each pair's data-file line through the collator and records the per-pair rewards
that `_compute_loss` gathers (the first two per-pair tensors it passes to `accelerator.gather` are
the chosen and rejected rewards, gathered across ranks; a test checks them against TRL's logged means). No DPO loss is written here; the per-pair loss is the pinned loss
type's formula applied to those rewards, for drill-down only."""

import torch
import torch.nn.functional as F
from trl import DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference


class LinedCollator(DataCollatorForPreference):
    def torch_call(self, examples):
        out = super().torch_call(examples)
        out["line"] = torch.tensor([e["line"] for e in examples], dtype=torch.long)
        return out


def pair_losses(loss_type: str, beta: float, chosen, rejected, chosen_len, rejected_len):
    margin = chosen - rejected
    if loss_type == "sigmoid":
        return F.softplus(-margin)
    if loss_type == "hinge":
        return torch.relu(1 - margin)
    if loss_type == "ipo":
        delta = chosen / beta / chosen_len.clamp(min=1) - rejected / beta / rejected_len.clamp(min=1)
        return (delta - 1 / (2 * beta)) ** 2
    return torch.full_like(margin, float("nan"))


class LinedDPOTrainer(DPOTrainer):
    """DPOTrainer that reports (split, lines, chosen rewards, rejected rewards, losses) per batch."""

    pair_sink = None  # set by the run: callable(split, rows)

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if "line" not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, "line"]

    def _compute_loss(self, model, inputs, return_outputs):
        lines = inputs.pop("line", None)
        acc = self.accelerator
        gather = acc.gather
        captured = []

        n = 0 if lines is None else lines.numel()

        def recording_gather(t):
            out = gather(t)
            # Scalars pass through here too (gather_for_metrics calls gather); the per-pair tensors
            # are the 1-D ones with one value per pair of this batch.
            if isinstance(t, torch.Tensor) and t.dim() == 1 and t.numel() == n:
                captured.append(out)
            return out

        acc.gather = recording_gather
        try:
            result = super()._compute_loss(model, inputs, return_outputs)
        finally:
            del acc.gather  # the bound method shows through again
        if lines is not None and self.pair_sink is not None and len(captured) >= 2:
            split = "train" if self.model.training else "eval"
            cm, rm = inputs["completion_mask"].chunk(2, dim=0)
            lens = gather(torch.stack([cm.sum(1), rm.sum(1)], dim=1).to(captured[0].device)).float()
            lines_all = gather(lines.to(captured[0].device))
            chosen, rejected = captured[0].float(), captured[1].float()
            losses = pair_losses(self.loss_types[0], self.beta, chosen, rejected, lens[:, 0], lens[:, 1])
            self.pair_sink(
                split,
                [
                    {"line": int(l), "chosen_reward": float(c), "rejected_reward": float(r), "margin": float(c - r), "loss": float(x)}
                    for l, c, r, x in zip(lines_all.tolist(), chosen.tolist(), rejected.tolist(), losses.tolist())
                ],
            )
        return result

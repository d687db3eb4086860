"""The run-config rules of mode "kto" across fields, as src/protocol/kto-config.ts states them (the
cases of test/conformance/config hold the two together): KTO's weights only in mode "kto", the DPO
loss fields refused there, and TRL's KTOTrainer rule of at least 2 lines per batch."""


def kto_problems(c: dict, defaults: dict) -> list[tuple[str, str]]:
    """(field, message) of each rule the config breaks; [] when none."""
    out = []
    if c.get("mode") != "kto":
        for f in ("desirable_weight", "undesirable_weight"):
            if c.get(f) != defaults[f]:
                out.append((f, f'applies to mode "kto" only (got mode "{c.get("mode")}")'))
        return out
    for f in ("loss_type", "label_smoothing", "reference_free", "sft_weight"):
        if c.get(f) != defaults[f]:
            out.append((f, f'does not apply to mode "kto" (its loss is KTO\'s); remove it or set it to {defaults[f]!r}'))
    if c.get("batch_size", 0) < 2:
        out.append(
            (
                "batch_size",
                'mode "kto" needs at least 2 lines per batch: its KL reference point comes from mismatched lines of the same batch',
            )
        )
    return out

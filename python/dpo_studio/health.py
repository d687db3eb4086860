"""Training-health warnings over logged train metrics: a port of src/engine/train/health.ts (the
same rules, thresholds and messages, except that the falling-logps advice names only what the torch
engine accepts: it refuses sft_weight, the embedded engine's RPO term)."""


def _slope(ys):
    n = len(ys)
    mx, my = (n - 1) / 2, sum(ys) / n
    num = sum((x - mx) * (y - my) for x, y in enumerate(ys))
    den = sum((x - mx) ** 2 for x in range(n))
    return num / den


class HealthMonitor:
    def __init__(self, stuck_steps: int, falling_window: int, loss_type: str):
        self.stuck_steps, self.window, self.loss_type = stuck_steps, falling_window, loss_type
        self.stuck = 0
        self.chosen = []
        self.fired = set()

    def observe(self, m: dict) -> list:
        out = []

        def fire(code, message):
            if code not in self.fired:
                self.fired.add(code)
                out.append({"code": code, "message": message, "step": m["step"]})

        rc, rr = m.get("rewards/chosen"), m.get("rewards/rejected")
        self.stuck = self.stuck + 1 if rc is not None and abs(rc) < 1e-6 and abs(rr or 0) < 1e-6 else 0
        if self.stuck >= self.stuck_steps:
            at = f"at log 2 ≈ 0.6931 ({m['loss']:.4f})" if self.loss_type == "sigmoid" else f"at {m['loss']:.4f}"
            fire(
                "stuck-loss",
                f"loss stuck {at} with zero rewards for {self.stuck} logged steps: the policy equals the reference. Check that beta > 0 and the learning rate is not too small, and that the policy is not frozen.",
            )
        lc = m.get("logps/chosen")
        if lc is not None:
            self.chosen.append(lc)
            self.chosen = self.chosen[-self.window :]
            w = self.chosen
            if len(w) == self.window and _slope(w) < 0 and w[-1] < w[0] - 1:
                fire(
                    "falling-chosen-logps",
                    f"logps/chosen fell over the last {len(w)} logged steps ({w[0]:.2f} → {w[-1]:.2f}): the policy is making chosen responses less likely too, a known DPO failure. Consider a lower learning_rate or a larger beta, or an SFT pass on the chosen responses first (mode sft, then DPO from its final/). sft_weight (RPO) is an embedded-engine option that the torch engine refuses.",
                )
        return out

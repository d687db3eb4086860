"""Training-health warnings over logged metrics, by the rules of src/engine/train/health.ts: a train
rule (halves of a window compared against their own noise, only when the run has no held-out pairs),
a held-out rule over evaluations, and stuck loss. test/conformance/health holds the metric streams
both engines must turn into the same warnings; the advice fits the objective (an NLL term is "sft" in
a DPO loss list, cpo_alpha in SimPO, built into ORPO), the same on both engines."""

import math
from decimal import ROUND_HALF_UP, Decimal

MIN_DROP = 1.0  # nats of summed log-prob: a smaller drop is not worth a warning
MIN_EVALS = 3  # evaluations needed before a held-out trend is called
REFERENCE_FREE = ("simpo", "orpo")  # objectives whose rewards are not against a reference (objectives.ts)


def to_fixed(x: float, digits: int) -> str:
    """JavaScript's x.toFixed(digits): the exact value rounded half away from zero (format() rounds half to even)."""
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def js_number(x: float) -> str:
    """JavaScript's String(x) of a finite number (1e-05 is "0.00001", 5e-07 is "5e-7", 2.0 is "2")."""
    if x == 0:
        return "0"
    t = Decimal(repr(abs(float(x)))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    k, n = len(digits), int(t.exponent) + len(digits)  # the value is 0.<digits> × 10^n
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        s = "0." + "0" * -n + digits
    else:
        e = n - 1
        s = digits[0] + (f".{digits[1:]}" if k > 1 else "") + f"e{'+' if e >= 0 else '-'}{abs(e)}"
    return ("-" if x < 0 else "") + s


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _variance(xs: list[float]) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else 0.0


class HealthMonitor:
    """Each warning fires once per run, at the step where the pattern became clear."""

    def __init__(
        self,
        stuck_steps: int,
        falling_window: int,
        loss_type: str | list[str],
        has_eval: bool = False,
        learning_rate: float | None = None,
        beta: float | None = None,
        sft_weight: float | None = None,
        engine: str = "torch",
        loss_weights: list[float] | None = None,
    ):
        self.stuck_steps, self.window, self.loss_type = stuck_steps, falling_window, loss_type
        self.has_eval, self.learning_rate, self.beta, self.sft_weight, self.engine = has_eval, learning_rate, beta, sft_weight, engine
        self.loss_weights = loss_weights
        self.stuck = 0
        self.chosen: list[float] = []
        self.eval_logps: list[float] = []
        self.eval_margins: list[float] = []
        self.fired: set[str] = set()

    @classmethod
    def for_config(cls, c: dict, has_eval: bool) -> "HealthMonitor":
        return cls(
            c["stuck_loss_steps"],
            c["falling_logps_window"],
            c["loss_type"],
            has_eval=has_eval,
            learning_rate=c["learning_rate"],
            beta=c["beta"],
            sft_weight=c.get("sft_weight"),
            engine=c.get("engine", "torch"),
            loss_weights=c.get("loss_weights"),
        )

    def _fire(self, out: list, code: str, message: str, step: int) -> None:
        if code not in self.fired:
            self.fired.add(code)
            out.append({"code": code, "message": message, "step": step})

    def observe(self, m: dict) -> list[dict]:
        """One logged train metrics line (flat, TRL's names, with its step); the warnings it triggers."""
        out: list[dict] = []
        rc, rr = m.get("rewards/chosen"), m.get("rewards/rejected")
        self.stuck = self.stuck + 1 if rc is not None and rr is not None and abs(rc) < 1e-6 and abs(rr) < 1e-6 else 0
        # Zero rewards mean "policy equals reference" only where rewards are against a reference.
        if self.stuck >= self.stuck_steps and self.loss_type not in REFERENCE_FREE:
            loss = to_fixed(m["loss"], 4)
            at = f"at log 2 ≈ 0.6931 ({loss})" if self.loss_type == "sigmoid" else f"at {loss}"
            self._fire(
                out,
                "stuck-loss",
                f"loss stuck {at} with zero rewards for {self.stuck} logged steps: the policy equals the reference. Check that beta > 0 and the learning rate is not too small, and that the policy is not frozen.",
                m["step"],
            )
        lc = m.get("logps/chosen")
        if lc is not None and not self.has_eval:
            self.chosen = [*self.chosen, lc][-self.window :]
            w = self.chosen
            if len(w) == self.window:
                # Halves of the window, compared against their own spread: per-batch values differ by batch.
                half = len(w) // 2
                a, b = w[:half], w[len(w) - half :]
                drop = _mean(a) - _mean(b)
                noise = math.sqrt(_variance(a) / len(a) + _variance(b) / len(b))
                if drop > MIN_DROP and drop > 3 * noise:
                    self._fire(
                        out,
                        "falling-chosen-logps",
                        f"logps/chosen (train, averaged over {half} logged steps) fell from {to_fixed(_mean(a), 2)} to {to_fixed(_mean(b), 2)}: {self._advice()}",
                        m["step"],
                    )
        return out

    def observe_eval(self, m: dict) -> list[dict]:
        """One logged eval metrics line (eval_ names); the warnings it triggers."""
        out: list[dict] = []
        lc = m.get("eval_logps/chosen")
        if lc is None:
            return out
        self.eval_logps.append(lc)
        self.eval_margins.append(m.get("eval_rewards/margins", 0))
        e, n = self.eval_logps, len(self.eval_logps)
        # Held-out values come from the same pairs each time: a fall over the last evaluations is real.
        if n >= MIN_EVALS and e[n - 1] < e[n - 2] < e[n - 3] and e[0] - e[n - 1] > MIN_DROP:
            margins = self.eval_margins
            note = " while the reward margin rose (the rejected responses fell faster)" if margins[n - 1] > margins[0] else ""
            self._fire(
                out,
                "falling-chosen-logps",
                f"held-out logps/chosen fell over {n} evaluations ({to_fixed(e[0], 2)} → {to_fixed(e[n - 1], 2)}){note}: {self._advice()}",
                m["step"],
            )
        return out

    def _sft_term_weight(self) -> float:
        """The weight of the run's "sft" term: a loss list's member, or the deprecated sft_weight."""
        lt = self.loss_type
        if isinstance(lt, list) and "sft" in lt:
            return (self.loss_weights or [1.0] * len(lt))[lt.index("sft")]
        return self.sft_weight or 0

    def _advice(self) -> str:
        lt = self.loss_type
        tips = []
        sft = self._sft_term_weight()
        if lt == "simpo":
            tips.append("a larger cpo_alpha (CPO's NLL term on the chosen responses)")
        elif lt == "orpo":
            now = f"; now {js_number(self.beta)}" if self.beta is not None else ""
            tips.append(f"a smaller beta (λ, the odds-ratio term's weight against ORPO's NLL{now})")
        elif lt == "kto":
            tips.append("a larger desirable_weight (the weight of the desirable examples)")
        else:
            tips.append(
                f'a larger "sft" weight (now {js_number(sft)})'
                if sft > 0
                else 'loss_type ["sigmoid","sft"] (an NLL term on the chosen responses, RPO; formerly sft_weight > 0)'
            )
        if self.learning_rate is not None and self.learning_rate > 1e-6:
            tips.append(f"a lower learning_rate (now {js_number(self.learning_rate)})")
        # β is the KL strength toward the reference; SimPO's is a reward scale and ORPO's is λ (above).
        if self.beta is not None and lt not in ("simpo", "orpo"):
            tips.append(f"a larger beta (now {js_number(self.beta)})")
        what = (
            "a known failure of preference objectives (likelihood displacement)"
            if lt in ("simpo", "orpo", "kto")
            else "a known DPO failure (likelihood displacement)"
        )
        return f"the policy is making the chosen responses less likely too, {what}. Consider {', or '.join(tips)}."

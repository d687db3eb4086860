"""The torch engine's training-health advice names only settings the torch engine accepts (the rules
themselves are checked against the embedded engine's by test/conformance/health)."""

from dpo_studio.health import HealthMonitor
from dpo_studio.schemas import resolve_config


def test_falling_logps_advice_fits_the_torch_engine():
    h = HealthMonitor(stuck_steps=50, falling_window=4, loss_type="sigmoid", learning_rate=1e-5, beta=0.1, engine="torch")
    out = []
    for step, lc in enumerate([-40.0, -40.5, -45.0, -45.5], start=1):
        out += h.observe({"step": step, "loss": 0.6, "rewards/chosen": 0.1, "rewards/rejected": -0.1, "logps/chosen": lc})
    assert [w["code"] for w in out] == ["falling-chosen-logps"] and out[0]["step"] == 4
    message = out[0]["message"]
    assert "learning_rate" in message and "beta" in message
    assert 'loss_type ["sigmoid","sft"]' in message, message
    # what the advice suggests is accepted by the torch engine: the RPO list, its old spelling, lr and beta
    resolve_config({"engine": "torch", "model": "m", "data": "d", "loss_type": ["sigmoid", "sft"], "learning_rate": 1e-6, "beta": 0.5})
    resolve_config({"engine": "torch", "model": "m", "data": "d", "sft_weight": 0.5})

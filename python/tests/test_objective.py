"""An objective the torch engine does not map (mode, loss_type) is an error naming the field before
anything is loaded or written, even for a config that never passed through resolve_config."""

import pytest

from dpo_studio import trl_map
from dpo_studio.schemas import resolve_config
from dpo_studio.train import NullSink, Run, TrainingError


def config(tmp_path, **over):
    return {**resolve_config({"engine": "torch", "model": "/m", "data": "/d", "output_dir": str(tmp_path / "run")}), **over}


@pytest.mark.parametrize(("field", "value"), [("loss_type", "bogus"), ("loss_type", None), ("mode", "ppo")])
def test_unknown_objective_is_refused_by_field(tmp_path, field, value):
    c = config(tmp_path, **{field: value})
    with pytest.raises(TrainingError, match=f"^{field}: "):
        Run(c, NullSink()).run()
    assert not (tmp_path / "run").exists(), "refused before the run folder is touched"
    if field == "loss_type":
        with pytest.raises(ValueError, match="^loss_type: 'bogus'|^loss_type: None"):
            trl_map.dpo_args(c, str(tmp_path), 64, False)


def test_every_mapped_loss_type_is_one_trl_computes():
    import inspect

    from trl.trainer.dpo_trainer import DPOTrainer

    source = inspect.getsource(DPOTrainer)
    # SimPO and ORPO are CPOTrainer's and ORPOTrainer's (python/tests/reference/test_simpo_orpo.py checks them).
    for loss_type in [t for t in trl_map.LOSS_TYPES if t not in trl_map.REFERENCE_FREE]:
        assert f'"{loss_type}"' in source, f"TRL's DPOTrainer no longer handles loss_type {loss_type!r}"

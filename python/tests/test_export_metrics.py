"""TensorBoard export read back with TensorBoard's own reader (EventAccumulator): every value and step of
metrics.jsonl under its tag, config.json as hparams, warnings as text, for a run of each engine; a
re-export replaces instead of duplicating; live logging on the torch engine (its callback) and the
follower that serves the embedded engine (appends, torn lines, a resume's shortened file)."""

import json
import os
import shutil

import numpy as np
import pytest
from conftest import dpo, read_jsonl, write_pairs
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

from dpo_studio.export_metrics import SUFFIX, export_run, tag_of
from dpo_studio.export_metrics_live import LiveWriter
from dpo_studio.schemas import resolve_config
from dpo_studio.train import Run

FLAGS = dict(max_steps=4, batch_size=2, eval_fraction=0.25, eval_steps=2, save_steps=2, logging_steps=1, max_length=96, skip_bad_lines=True)


def data_with_a_bad_line(tmp_path) -> str:
    """Six pairs and one line without "rejected": the run skips it and writes a `data` warning."""
    path = write_pairs(tmp_path / "pairs.jsonl", 6)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"prompt": "Q", "chosen": "A"}) + "\n")
    return path


def read_back(out_dir):
    ea = EventAccumulator(str(out_dir), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    tags = ea.Tags()
    scalars = {t: [(e.step, e.value) for e in ea.Scalars(t)] for t in tags["scalars"]}
    hparams = {}
    if "_hparams_/session_start_info" in tags["tensors"]:
        content = ea.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
        info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
        hparams = {k: getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}
    texts = []
    if "warnings" in tags["tensors"]:
        texts = [(e.step, tensor_util.make_ndarray(e.tensor_proto).item().decode()) for e in ea.Tensors("warnings")]
    return scalars, hparams, texts


def expected(run_dir):
    """What the event files must hold, from metrics.jsonl and config.json read directly."""
    recs = read_jsonl(os.path.join(run_dir, "metrics.jsonl"))
    scalars: dict = {}
    for r in recs:
        if r["kind"] != "metrics":
            continue
        values = {k: v for k, v in r.items() if k not in ("kind", "split", "step", "epoch")}
        if r["split"] == "train":
            values["epoch"] = r["epoch"]
        for k, v in values.items():
            scalars.setdefault(tag_of(r["split"], k), []).append((r["step"], float(np.float32(v))))
    texts = [(r["step"], f"[{r['code']}] {r['message']}") for r in recs if r["kind"] == "warning"]
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    return scalars, config, texts


def assert_matches(run_dir, out_dir):
    scalars, hparams, texts = read_back(out_dir)
    want, config, want_texts = expected(run_dir)
    assert set(scalars) == set(want)
    for tag, points in want.items():
        assert scalars[tag] == points, tag  # every step and value, none extra (float32: TensorBoard's scalars)
    assert "train/loss" in scalars and "eval/loss" in scalars and "train/rewards/margins" in scalars
    assert texts == want_texts and any("[data]" in t for _, t in texts), texts
    assert set(hparams) == set(config)
    for k, v in config.items():
        assert hparams[k] == (v if isinstance(v, (bool, int, float, str)) else json.dumps(v)), k
    return scalars


def event_files(out_dir):
    return sorted(n for n in os.listdir(out_dir) if n.endswith(SUFFIX))


def test_tfjs_run_logs_live_exports_every_value_and_reexport_replaces(models, tmp_path):
    data = data_with_a_bad_line(tmp_path)
    flags = [x for k, v in FLAGS.items() for x in (f"--{k.replace('_', '-')}", str(v).lower() if isinstance(v, bool) else v)]
    dpo("train", "--model", models["gpt2"], "--data", data, *flags, "--report-to", "tensorboard", "--out", tmp_path / "run")
    run = tmp_path / "run"
    assert_matches(run, run / "tensorboard")  # report_to: dpo train's follower wrote them
    # A checkpoint evaluation, as the host writes it (eval/checkpoint-<step>/summary.json): gen/* points.
    os.makedirs(run / "eval" / "checkpoint-2")
    (run / "eval" / "checkpoint-2" / "summary.json").write_text(
        json.dumps(
            {"step": 2, "kl": 0.25, "win_rate": 0.75, "models": {"policy": {"mean_reward": 1.5}, "reference": {"mean_reward": -0.5}}}
        )
    )
    # A torn last line (a kill mid-append) is skipped.
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"kind":"metrics","split":"train","step":5,"lo')
    r = dpo("export-metrics", "--run", run)
    assert "tensorboard --logdir" in r.stdout + r.stderr
    out = run / "tensorboard"
    files = event_files(out)
    assert len(files) == 1
    scalars, _, _ = read_back(out)
    assert [s for s, _ in scalars["train/loss"]] == [1, 2, 3, 4], "the torn step-5 line is not a point"
    assert scalars["gen/kl"] == [(2, 0.25)] and scalars["gen/win_rate"] == [(2, 0.75)]
    assert scalars["gen/reward_policy"] == [(2, 1.5)] and scalars["gen/reward_reference"] == [(2, -0.5)]
    shutil.rmtree(run / "eval")
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text[: text.rfind("\n") + 1])  # expected() reads whole lines only
    export_run(str(run), str(out))
    assert_matches(run, out)
    before = read_back(out)
    e = export_run(str(run), str(out))
    assert event_files(out) != files and len(event_files(out)) == 1, "the new file replaced the old one"
    assert read_back(out) == before and e.points == sum(len(p) for p in before[0].values())


def test_torch_run_live_logging_writes_every_value(models, tmp_path):
    c = resolve_config(
        {
            "engine": "torch",
            "model": models["gpt2"],
            "data": data_with_a_bad_line(tmp_path),
            "output_dir": str(tmp_path / "run"),
            "report_to": ["tensorboard"],
            **FLAGS,
        }
    )
    assert Run(c).run()["reason"] == "completed"
    run = tmp_path / "run"
    # Written during the run by the engine's callback (nothing exported it afterwards).
    assert not os.path.exists(run / "tensorboard" / ".tmp-export")
    scalars = assert_matches(run, run / "tensorboard")
    assert [s for s, _ in scalars["train/loss"]] == [1, 2, 3, 4] and [s for s, _ in scalars["eval/loss"]] == [0, 2, 4]
    # The one-shot export of the same run reads the same.
    export_run(str(run), str(tmp_path / "again"))
    assert read_back(tmp_path / "again") == read_back(run / "tensorboard")


def test_report_to_none_writes_nothing_and_refuses_other_trackers(models, tmp_path):
    base = {"engine": "torch", "model": models["gpt2"], "data": write_pairs(tmp_path / "p.jsonl", 6)}
    assert resolve_config(base)["report_to"] == []
    assert resolve_config({**base, "report_to": "none"})["report_to"] == "none"
    with pytest.raises(Exception, match="report_to"):
        resolve_config({**base, "report_to": ["wandb"]})


@pytest.fixture
def finished_run(models, tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    data = write_pairs(d / "pairs.jsonl", 6)
    flags = [x for k, v in FLAGS.items() if k != "skip_bad_lines" for x in (f"--{k.replace('_', '-')}", v)]
    dpo("train", "--model", models["gpt2"], "--data", data, *flags, "--out", d / "run")
    return d / "run"


def test_follower_appends_each_line_skips_torn_ones_and_restarts_on_a_resume(finished_run, tmp_path):
    """The embedded engine's live logging: the run's lines arrive one by one (one torn at a time), then
    a resume shortens metrics.jsonl and the run goes on: the event files end equal to the file."""
    lines = (finished_run / "metrics.jsonl").read_text().splitlines(keepends=True)
    run = tmp_path / "run"
    os.makedirs(run)
    shutil.copy(finished_run / "config.json", run / "config.json")
    out = run / "tensorboard"
    live = LiveWriter(str(run), str(out))
    live.poll()  # no metrics.jsonl yet: nothing, no error
    metrics = run / "metrics.jsonl"
    for line in lines:
        with open(metrics, "a", encoding="utf-8") as f:
            f.write(line[:10])
        live.poll()  # a torn line: not yet
        with open(metrics, "a", encoding="utf-8") as f:
            f.write(line[10:])
        live.poll()
    assert read_back(out)[0] == expected(run)[0]
    files = event_files(out)
    assert len(files) == 2, "the start's export and the appended file"
    # A resume from step 2: the file is replaced by its first records, then the run logs again.
    kept = [x for x in lines if json.loads(x)["step"] <= 2]
    tmp = run / "metrics.jsonl.tmp"
    tmp.write_text("".join(kept))
    os.replace(tmp, metrics)
    live.poll()
    with open(metrics, "a", encoding="utf-8") as f:
        f.write("".join(x for x in lines if json.loads(x)["step"] > 2))
    live.poll()
    live.close()
    assert read_back(out)[0] == expected(run)[0], "no duplicated point after the resume"
    assert not set(event_files(out)) & set(files), "the resume replaced the earlier files"

"""A run folder as TensorBoard event files: metrics.jsonl's train and eval records (tags train/<name> and
eval/<name>, as the metrics panel names them and as HF's Trainer groups them), the checkpoint
evaluations (gen/<name>), config.json as hyperparameters and the warnings as text. Runs of either
engine. Not the live follower (export_metrics_live.py) and not W&B; it never touches the network."""

import argparse
import datetime
import json
import os
import shutil
import sys
from dataclasses import dataclass, field

from .run_records import EVAL_PREFIX, parse_lines

# Our event files end with this, so a re-export replaces ours and never a file someone else wrote.
SUFFIX = ".dpo-studio"
GEN_PREFIX = EVAL_PREFIX + "gen/"  # the metrics panel's names for checkpoint evaluations (run-evals.ts)
WARNINGS_TAG = "warnings"


def tag_of(split: str, name: str) -> str:
    """The TensorBoard tag of a metrics.jsonl value: train/loss, eval/loss (eval_loss), gen/kl (eval_gen/kl)."""
    if split == "train":
        return "train/" + name
    if name.startswith(GEN_PREFIX):
        return "gen/" + name[len(GEN_PREFIX) :]
    return "eval/" + (name[len(EVAL_PREFIX) :] if name.startswith(EVAL_PREFIX) else name)


@dataclass
class Point:
    step: int
    tag: str
    value: float = 0.0
    text: str | None = None  # a warning: a text summary instead of a scalar
    wall_time: float = 0.0


@dataclass
class Clock:
    """Wall times from the run's own record of time (its first status record plus elapsed_seconds), so a
    re-export writes the same times and TensorBoard's relative axis means the run's time."""

    start: float
    last: float = field(init=False)

    def __post_init__(self) -> None:
        self.last = self.start

    def at(self, record: dict) -> float:
        e = record.get("elapsed_seconds")
        if isinstance(e, (int, float)):
            self.last = self.start + float(e)
        return self.last


def start_time(run_dir: str, records: list[dict]) -> float:
    for r in records:
        if r.get("kind") == "status" and isinstance(r.get("time"), str):
            try:
                return datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
            except ValueError:
                break
    try:
        return os.path.getmtime(os.path.join(run_dir, "config.json"))
    except OSError:
        return 0.0


def record_points(records: list[dict], clock: Clock) -> list[Point]:
    """Scalars of metrics records (train records also give train/epoch) and text of warning records."""
    out: list[Point] = []
    for r in records:
        step = int(r["step"])
        if r["kind"] == "metrics":
            t = clock.at(r)
            values = {k: v for k, v in r.items() if k not in ("kind", "split", "step", "epoch")}
            if r["split"] == "train":
                values["epoch"] = r.get("epoch", 0)
            out += [Point(step, tag_of(r["split"], k), float(v), wall_time=t) for k, v in values.items()]
        elif r["kind"] == "warning":
            out.append(Point(step, WARNINGS_TAG, text=f"[{r['code']}] {r['message']}", wall_time=clock.last))
    return out


def evaluation_points(run_dir: str, clock: Clock, only: set[str] | None = None) -> list[Point]:
    """gen/kl, gen/win_rate, gen/reward_policy, gen/reward_reference of each eval/<name>/summary.json
    with a step (as evaluationRecord in src/node/eval/run-evals.ts); unreadable summaries are skipped."""
    root = os.path.join(run_dir, "eval")
    out: list[Point] = []
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        if only is not None and name not in only:
            continue
        try:
            with open(os.path.join(root, name, "summary.json"), encoding="utf-8") as f:
                s = json.load(f)
        except (OSError, ValueError):
            continue
        if not isinstance(s, dict):
            continue
        step = s.get("step")
        if not isinstance(step, int) and name.startswith("checkpoint-") and name[11:].isdigit():
            step = int(name[11:])
        if not isinstance(step, int) or isinstance(step, bool):
            continue
        values = {
            "kl": s.get("kl"),
            "win_rate": s.get("win_rate"),
            "reward_policy": _mean_reward(s, "policy"),
            "reward_reference": _mean_reward(s, "reference"),
        }
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf"):
                out.append(Point(step, "gen/" + k, float(v), wall_time=clock.last))
    return out


def _mean_reward(summary: dict, model: str) -> object:
    m = summary.get("models")
    m = m.get(model) if isinstance(m, dict) else None
    return m.get("mean_reward") if isinstance(m, dict) else None


def hparams(config: dict) -> dict[str, bool | float | str]:
    """config.json as the hparams plugin takes it: numbers, booleans and strings; null and lists as JSON."""
    out: dict[str, bool | float | str] = {}
    for k, v in config.items():
        out[k] = v if isinstance(v, (bool, int, float, str)) else json.dumps(v)
    return out


def read_run(run_dir: str) -> tuple[list[dict], int, dict, list[dict]]:
    """(records, bytes read up to the last complete line, config, problems) of a run folder."""
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no metrics.jsonl; give the folder of a run (dpo train --out)")
    with open(path, "rb") as f:
        data = f.read()
    records, problems = parse_lines(data.decode("utf-8", errors="replace"), "metrics")
    config: dict = {}
    try:
        with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as f:
            loaded = json.load(f)
        config = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError) as e:
        problems.append({"line": 0, "error": f"config.json: {e} (no hyperparameters exported)"})
    return records, data.rfind(b"\n") + 1, config, problems


class EventWriter:
    """One event file of ours: scalars as simple_value (float32, TensorBoard's scalar type), text through
    the text plugin, hparams through the hparams plugin; each event is flushed before the next poll."""

    def __init__(self, out_dir: str):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter  # type: ignore[import-untyped]

        os.makedirs(out_dir, exist_ok=True)
        self.writer = EventFileWriter(out_dir, flush_secs=1, filename_suffix=SUFFIX)

    def points(self, points: list[Point]) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2  # type: ignore[import-untyped]
        from tensorboard.plugins.text import metadata as text_metadata  # type: ignore[import-untyped]
        from tensorboard.util import tensor_util  # type: ignore[import-untyped]

        for p in points:
            if p.text is None:
                value = summary_pb2.Summary.Value(tag=p.tag, simple_value=p.value)
            else:
                value = summary_pb2.Summary.Value(
                    tag=p.tag,
                    metadata=text_metadata.create_summary_metadata(display_name=None, description=None),
                    tensor=tensor_util.make_tensor_proto([p.text.encode("utf-8")]),
                )
            self.writer.add_event(event_pb2.Event(wall_time=p.wall_time, step=p.step, summary=summary_pb2.Summary(value=[value])))
        self.writer.flush()

    def hparams(self, config: dict, start: float) -> None:
        from tensorboard.compat.proto import event_pb2
        from tensorboard.plugins.hparams import summary_v2  # type: ignore[import-untyped]

        pb = summary_v2.hparams_pb(
            hparams(config), trial_id=os.path.basename(os.path.normpath(config.get("output_dir") or "run")), start_time_secs=start
        )
        self.writer.add_event(event_pb2.Event(wall_time=start, step=0, summary=pb))

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def ours(out_dir: str) -> list[str]:
    return (
        [os.path.join(out_dir, n) for n in os.listdir(out_dir) if n.startswith("events.out.tfevents.") and n.endswith(SUFFIX)]
        if os.path.isdir(out_dir)
        else []
    )


@dataclass
class Export:
    points: int
    tags: int
    warnings: int
    hparams: int
    offset: int  # bytes of metrics.jsonl exported (up to the last complete line)
    problems: list[dict]


def export_run(run_dir: str, out_dir: str) -> Export:
    """Writes the whole run as one event file in out_dir, replacing the event files an earlier export or
    live logging wrote there (ours only), so a re-export never duplicates a point. The new file is written
    aside and moved in before the old ones go: a kill part way leaves the old export, never none."""
    records, offset, config, problems = read_run(run_dir)
    start = start_time(run_dir, records)
    clock = Clock(start)
    pts = record_points(records, clock) + evaluation_points(run_dir, clock)
    # In step order: TensorBoard drops a tag's points at and after a step that goes back (a resumed run).
    pts.sort(key=lambda p: p.step)
    old = ours(out_dir)
    tmp = os.path.join(out_dir, f".tmp-export-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    w = EventWriter(tmp)
    if config:
        w.hparams(config, start)
    w.points(pts)
    w.close()
    for name in os.listdir(tmp):
        os.replace(os.path.join(tmp, name), os.path.join(out_dir, name))
    os.rmdir(tmp)
    for f in old:
        os.remove(f)
    return Export(
        points=sum(p.text is None for p in pts),
        tags=len({p.tag for p in pts if p.text is None}),
        warnings=sum(p.text is not None for p in pts),
        hparams=len(config),
        offset=offset,
        problems=problems,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dpo_studio.export_metrics", description="A run folder as TensorBoard event files.")
    ap.add_argument("--run", required=True, help="the run folder (metrics.jsonl, config.json)")
    ap.add_argument("--out", help="where the event files go (default: <run>/tensorboard)")
    ap.add_argument("--follow", action="store_true", help="keep following metrics.jsonl until stdin closes (live logging)")
    ap.add_argument("--poll-seconds", type=float, default=2.0)
    a = ap.parse_args(argv)
    out = a.out or os.path.join(a.run, "tensorboard")
    try:
        if a.follow:
            from .export_metrics_live import follow_until_stdin_closes

            e = follow_until_stdin_closes(a.run, out, a.poll_seconds)
        else:
            e = export_run(a.run, out)
    except (OSError, ValueError) as err:
        print(f"export-metrics: {err}", file=sys.stderr)
        return 2
    for p in e.problems:
        print(f"{os.path.join(a.run, 'metrics.jsonl')}:{p['line']}: skipped: {p['error']}", file=sys.stderr)
    print(f"wrote {e.points} values of {e.tags} metrics, {e.warnings} warning(s) and {e.hparams} hyperparameters to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

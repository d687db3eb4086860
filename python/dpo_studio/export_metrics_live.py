"""Live TensorBoard logging (report_to: ["tensorboard"]): follows a run folder while it is written and
appends each new metrics.jsonl line and checkpoint evaluation to <run>/tensorboard. The torch engine
runs it in-process (export_metrics_callback.py); for the embedded engine the host runs `--follow`
beside the run. Not the one-shot export (export_metrics.py)."""

import os
import signal
import sys
import threading

from .export_metrics import Clock, EventWriter, Export, evaluation_points, export_run, record_points, start_time
from .run_records import parse_lines

TENSORBOARD = "tensorboard"


def reports_to(config: dict, name: str = TENSORBOARD) -> bool:
    """The config's report_to: a list of trackers, or one name, "none" being none."""
    v = config.get("report_to") or []
    return name in ([] if v == "none" else [v] if isinstance(v, str) else v)


def tensorboard_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "tensorboard")


class LiveWriter:
    """Starts with a whole export (the lines already there: a resumed run's), then appends what is new at
    each poll. A metrics.jsonl that was replaced or shortened (a resume drops the records after its
    checkpoint) is exported whole again, which replaces the event files: never a duplicated point."""

    def __init__(self, run_dir: str, out_dir: str):
        self.run_dir = run_dir
        self.out_dir = out_dir
        self.metrics = os.path.join(run_dir, "metrics.jsonl")
        self.writer: EventWriter | None = None
        self.offset = 0
        self.inode = -1
        self.clock = Clock(0.0)
        self.evals: dict[str, float] = {}

    def _eval_mtimes(self) -> dict[str, float]:
        root = os.path.join(self.run_dir, "eval")
        out = {}
        for name in os.listdir(root) if os.path.isdir(root) else []:
            try:
                out[name] = os.path.getmtime(os.path.join(root, name, "summary.json"))
            except OSError:
                continue
        return out

    def _restart(self, inode: int) -> None:
        self.close()
        self.evals = self._eval_mtimes()  # before the export: a summary written meanwhile may come twice, never lost
        e = export_run(self.run_dir, self.out_dir)
        self.offset, self.inode = e.offset, inode
        records, _ = parse_lines(_read(self.metrics, 0, e.offset), "metrics")
        self.clock = Clock(start_time(self.run_dir, records))
        for r in records:
            self.clock.at(r)
        self.writer = EventWriter(self.out_dir)

    def poll(self) -> None:
        try:
            st = os.stat(self.metrics)
        except FileNotFoundError:
            return  # the run has not written its first record yet
        if self.writer is None or st.st_ino != self.inode or st.st_size < self.offset:
            return self._restart(st.st_ino)
        chunk = _read(self.metrics, self.offset, st.st_size)
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode("utf-8", errors="surrogateescape"))
        records, _ = parse_lines(complete, "metrics")
        points = record_points(records, self.clock)
        now = self._eval_mtimes()
        changed = {n for n, m in now.items() if self.evals.get(n) != m}
        if changed:
            points += evaluation_points(self.run_dir, self.clock, only=changed)
            self.evals = now
        self.writer.points(sorted(points, key=lambda p: p.step))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _read(path: str, start: int, end: int) -> str:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start).decode("utf-8", errors="surrogateescape")


def follow_until_stdin_closes(run_dir: str, out_dir: str, poll_seconds: float) -> Export:
    """The embedded engine's live logging, run by the host: polls until the host closes stdin (or sends
    SIGTERM), then exports the whole run once more (the evaluations of the last checkpoints included)."""
    done = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    live = LiveWriter(run_dir, out_dir)
    while not done.wait(poll_seconds):
        live.poll()
    live.close()
    return export_run(run_dir, out_dir)

"""The run folder both engines write (COMMON contract): config.json, metrics.jsonl (kind-tagged
records), pairs.jsonl, log.txt, checkpoints/step-N (complete when it holds trainer_state.json;
moved in by one rename) and final/. decide_start is the one rule for what a start or a resume does
with a folder, the rule of startDecision in src/engine/train/output-dir.ts (test/conformance/resume)."""

import datetime
import json
import os
import re
import shutil
from typing import Any

from .run_records import loads

TRAINER_STATE = "trainer_state.json"
_STEP = re.compile(r"^step-(\d+)$")


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunFolder:
    def __init__(self, root: str):
        self.root = root
        self.checkpoints_dir = os.path.join(root, "checkpoints")
        self.staging = os.path.join(root, ".hf-staging")

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)

    def write_json(self, name: str, obj: Any) -> None:
        os.makedirs(self.root, exist_ok=True)
        tmp = self.path(name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(tmp, self.path(name))

    def append(self, name: str, records: list) -> None:
        """Appends JSON lines, on disk when it returns (as appendLinesSync): a kill loses at most the line being written."""
        if not records:
            return
        os.makedirs(self.root, exist_ok=True)
        with open(self.path(name), "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, allow_nan=False) + "\n" for r in records))
            f.flush()
            os.fsync(f.fileno())

    def log(self, line: str) -> None:
        os.makedirs(self.root, exist_ok=True)
        with open(self.path("log.txt"), "a", encoding="utf-8") as f:
            f.write(f"{now_iso()} {line}\n")
            f.flush()
            os.fsync(f.fileno())

    def check_new(self) -> None:
        """Refuses a folder that is not new or empty (checkNewRunDir of src/engine/train/output-dir.ts): a run
        to resume, or other files (a model folder, a project) that a run would overwrite."""
        if not os.path.exists(self.root):
            return
        if not os.path.isdir(self.root):
            raise ValueError(f"{self.root}: output_dir is a file, not a folder; choose a new folder for the run")
        # What a start killed before it wrote config.json leaves (either engine's): nothing to keep.
        entries = [
            e
            for e in os.listdir(self.root)
            if e not in ("run.lock", "progress.json", ".hf-staging")
            and not re.match(r"^config\.json\.tmp(-\d+)?$", e)
            and not (e == "checkpoints" and os.path.isdir(self.checkpoints_dir) and not os.listdir(self.checkpoints_dir))
        ]
        if not entries:
            return
        if self.looks_like_run():
            raise ValueError(f"{self.root} already holds a run; resume it (dpo train --resume {self.root}) or choose another output folder")
        shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
        raise ValueError(
            f"{self.root} holds other files ({shown}): a run folder must be new or empty, so that nothing in it is overwritten; choose another --out / output_dir"
        )

    def looks_like_run(self) -> bool:
        """True when config.json is a resolved run config (not, say, a model's config.json)."""
        try:
            with open(self.path("config.json"), encoding="utf-8") as f:
                c = loads(f.read())
        except (OSError, ValueError, RecursionError):
            return False
        return isinstance(c, dict) and isinstance(c.get("mode"), str) and isinstance(c.get("output_dir"), str)

    def checkpoints(self) -> list:
        """Complete checkpoints, oldest first, as (step, dir)."""
        if not os.path.isdir(self.checkpoints_dir):
            return []
        out = []
        for name in os.listdir(self.checkpoints_dir):
            m = _STEP.match(name)
            d = os.path.join(self.checkpoints_dir, name)
            if m and os.path.isfile(os.path.join(d, TRAINER_STATE)):
                out.append((int(m.group(1)), d))
        return sorted(out)

    def adopt_checkpoint(self, hf_dir: str, step: int, keep: int | None) -> str:
        """Moves HF's finished checkpoint-N (trainer_state.json written last) in with one rename, so a
        kill at any moment leaves either no step-N or a complete one; prunes to the newest `keep`."""
        os.makedirs(self.checkpoints_dir, exist_ok=True)
        dest = os.path.join(self.checkpoints_dir, f"step-{step}")
        self.discard(dest)
        os.replace(hf_dir, dest)
        if keep:
            for _, d in self.checkpoints()[:-keep]:
                self.discard(d)
        return dest

    def discard(self, d: str) -> None:
        """Removes a checkpoint (or final/) whole or not at all: one rename into the staging folder first (which
        clean_staging empties), because rmtree killed part way can leave a step-N that still holds
        trainer_state.json but has lost its optimizer or RNG state."""
        os.makedirs(self.staging, exist_ok=True)
        doomed = os.path.join(self.staging, f"deleting-{os.path.basename(d)}-{os.getpid()}")
        try:
            os.replace(d, doomed)
        except FileNotFoundError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

    def clean_staging(self) -> None:
        """Half-written checkpoints of a killed run (never complete: they were not moved in)."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def truncate_after(self, step: int) -> None:
        """On resume: drop records logged after the checkpoint's step (they will be logged again). Lines
        are kept by their step alone (as truncateAfter in src/node/run-folder.ts), so records this
        version cannot read survive; a torn line and lines without a step are dropped."""
        for name in ("metrics.jsonl", "pairs.jsonl"):
            p = self.path(name)
            if not os.path.exists(p):
                continue
            with open(p, encoding="utf-8", errors="replace") as f:
                kept = [line for line in f.read().split("\n") if line.strip() and _step_of(line) is not None and _step_of(line) <= step]  # type: ignore[operator]
            self.write_text(name, "".join(line + "\n" for line in kept))

    def write_text(self, name: str, text: str) -> None:
        """Replaces a file whole (temp file, fsync, rename)."""
        tmp = self.path(name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path(name))


def _step_of(line: str) -> float | None:
    try:
        r = loads(line)
    except (ValueError, RecursionError):
        return None
    v = r.get("step") if isinstance(r, dict) else None
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def decide_start(root: str, resume: bool) -> dict:
    """What starting (resume False) or resuming the run in `root` does; reads only. One of
    {action: "resume", step, dir}, {action: "restart", message} (resume asked, killed before its first
    complete checkpoint: start over from step 0 with its config), {action: "new"}, or
    {action: "refuse", code, message}. Partial checkpoints, staging folders and final.tmp are ignored."""
    folder = RunFolder(root)
    if not resume:
        try:
            folder.check_new()
        except ValueError as e:
            message = str(e)
            code = "holds-run" if " already holds a run;" in message else "other-files" if " holds other files " in message else "unusable"
            return {"action": "refuse", "code": code, "message": message}
        return {"action": "new"}
    if not folder.looks_like_run():
        return {"action": "refuse", "code": "not-a-run", "message": f"{root}: not a run folder (no readable config.json of a run)"}
    ckpts = folder.checkpoints()
    if ckpts:
        step, d = ckpts[-1]
        return {"action": "resume", "step": step, "dir": d}
    if os.path.exists(folder.path("final")):
        return {
            "action": "refuse",
            "code": "finished",
            "message": f"{root}: the run has finished (final/ exists) and kept no checkpoint to resume from",
        }
    return {
        "action": "restart",
        "message": f"resumed: no complete checkpoint in {root} (checkpoints/step-N with {TRAINER_STATE}); restarting from step 0",
    }

"""The run folder both engines write (COMMON contract): config.json, metrics.jsonl (kind-tagged
records), pairs.jsonl, log.txt, checkpoints/step-N (complete when it holds trainer_state.json;
moved in by one rename) and final/."""

import datetime
import json
import os
import re
import shutil

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

    def write_json(self, name: str, obj) -> None:
        os.makedirs(self.root, exist_ok=True)
        tmp = self.path(name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(tmp, self.path(name))

    def append(self, name: str, records: list) -> None:
        if not records:
            return
        os.makedirs(self.root, exist_ok=True)
        with open(self.path(name), "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r, allow_nan=False) + "\n" for r in records))

    def log(self, line: str) -> None:
        os.makedirs(self.root, exist_ok=True)
        with open(self.path("log.txt"), "a", encoding="utf-8") as f:
            f.write(f"{now_iso()} {line}\n")

    def check_new(self) -> None:
        """Refuses a folder that is not new or empty (the rule of src/engine/train/output-dir.ts): a run
        to resume, or other files (a model folder, a project) that a run would overwrite."""
        if not os.path.exists(self.root):
            return
        if not os.path.isdir(self.root):
            raise ValueError(f"{self.root}: output_dir is a file, not a folder; choose a new folder for the run")
        # A start killed before it wrote config.json leaves only these: nothing to keep.
        entries = [
            e
            for e in sorted(os.listdir(self.root))
            if e not in ("run.lock", ".hf-staging")
            and not re.match(r"^config\.json\.tmp(-\d+)?$", e)
            and not (e == "checkpoints" and not os.listdir(self.checkpoints_dir))
        ]
        if not entries:
            return
        try:
            with open(self.path("config.json"), encoding="utf-8") as f:
                c = json.load(f)
            is_run = isinstance(c, dict) and isinstance(c.get("mode"), str) and isinstance(c.get("output_dir"), str)
        except (OSError, ValueError):
            is_run = False
        if is_run or os.path.exists(self.path("metrics.jsonl")) or self.checkpoints():
            raise ValueError(f"{self.root} already holds a run; resume it (dpo train --resume {self.root}) or choose another output folder")
        shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
        raise ValueError(
            f"{self.root} holds other files ({shown}): a run folder must be new or empty, so that nothing in it is overwritten; choose another --out / output_dir"
        )

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

    def adopt_checkpoint(self, hf_dir: str, step: int, keep) -> str:
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
        """On resume: drop records logged after the checkpoint's step (they will be logged again)."""
        for name in ("metrics.jsonl", "pairs.jsonl"):
            p = self.path(name)
            if not os.path.exists(p):
                continue
            with open(p, encoding="utf-8") as f:
                lines = [l for l in f if l.strip() and json.loads(l).get("step", 0) <= step]
            with open(p + ".tmp", "w", encoding="utf-8") as f:
                f.writelines(lines)
            os.replace(p + ".tmp", p)

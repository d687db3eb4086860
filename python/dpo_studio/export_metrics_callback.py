"""The torch engine's live TensorBoard logging: a TrainerCallback that follows the run folder with
export_metrics_live.LiveWriter, so the event files hold the panel's names and values. Not TRL's
TensorBoardCallback (report_to stays [] for TRL): that one logs TRL's raw log dict (the end-of-run
train/train_runtime, none of our tokens_per_second or warnings) and, after a resume, a second copy of
every redone step."""

from typing import Any

from transformers import TrainerCallback

from .export_metrics_live import LiveWriter, reports_to, tensorboard_dir


class LiveTensorBoard(TrainerCallback):
    """After StudioCallback in the list: its on_log has appended the records this one then follows."""

    def __init__(self, run_dir: str):
        self.live = LiveWriter(run_dir, tensorboard_dir(run_dir))

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.live.poll()

    def on_log(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.live.poll()

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.live.poll()
        self.live.close()


def live_callbacks(config: dict, run_dir: str, main: bool) -> list:
    """The torch engine's live logging callbacks for this config (rank 0 only)."""
    return [LiveTensorBoard(run_dir)] if main and reports_to(config) else []

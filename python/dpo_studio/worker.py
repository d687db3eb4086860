"""One rank of a multi-process run (started by `accelerate launch`, see launch.py). Rank 0 prints
protocol events on stdout for the engine to relay; the others stay quiet. A rank that fails says so
on stderr in one marked line (launch.py collects every rank's) before it exits 1."""

import json
import os
import sys
import traceback

ERROR_MARK = "dpo-worker-error: "


def rank_error_line(rank: int, error: BaseException) -> str:
    """The one line launch.py looks for: this rank's exception, as JSON."""
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return ERROR_MARK + json.dumps({"rank": rank, "error": message})


def main() -> None:
    arg = sys.argv[1]
    if arg.startswith("@"):  # a spec file (dpo export-launch)
        with open(arg[1:], encoding="utf-8") as f:
            arg = f.read()
    spec = json.loads(arg)
    config = spec["config"]
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    rank = int(os.environ.get("RANK", "0"))
    main_rank = rank == 0
    from .protocol import Channel

    ch = Channel(proto)
    try:
        import torch
        from accelerate import PartialState

        state = PartialState(cpu=not torch.cuda.is_available())  # the process group (gloo on CPU), before the Trainer's
        from .engine import Engine
        from .train import NullSink, Run

        sink = Engine(ch)._sink() if main_rank else NullSink()
        stop_file = os.path.join(config["output_dir"], ".stop")
        r = Run(config, sink, lambda: os.path.exists(stop_file), resume=spec["resume"]).run()
        # Close the process group before exiting: left to the interpreter's teardown, gloo's threads
        # abort the rank ("terminate called without an active exception", SIGABRT). No barrier first:
        # a rank still inside a collective would then hang instead of failing.
        state.destroy_process_group()
    except BaseException as e:  # KeyboardInterrupt and SystemExit too: every way out says which rank and why
        traceback.print_exc(file=sys.stderr)
        print(rank_error_line(rank, e), file=sys.stderr, flush=True)
        if main_rank:
            try:
                ch.write({"kind": "worker", "type": "worker/result", "params": {"error": str(e) or type(e).__name__}})
            except OSError:
                pass  # the engine went away; the launcher's exit code tells it
        raise SystemExit(1) from None
    if main_rank:
        ch.write({"kind": "worker", "type": "worker/result", "params": r})


if __name__ == "__main__":
    main()

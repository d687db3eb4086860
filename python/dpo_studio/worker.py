"""One rank of a multi-process run (started by `accelerate launch`, see launch.py). Rank 0 prints
protocol events on stdout for the engine to relay; the others stay quiet."""

import json
import os
import sys


def main():
    arg = sys.argv[1]
    if arg.startswith("@"):  # a spec file (dpo export-launch)
        with open(arg[1:], encoding="utf-8") as f:
            arg = f.read()
    spec = json.loads(arg)
    config = spec["config"]
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # the process group (gloo on CPU), before the Trainer's
    from .engine import Engine
    from .protocol import Channel
    from .train import NullSink, Run

    ch = Channel(proto)
    main_rank = state.is_main_process
    sink = Engine(ch)._sink() if main_rank else NullSink()
    stop_file = os.path.join(config["output_dir"], ".stop")
    try:
        r = Run(config, sink, lambda: os.path.exists(stop_file), resume=spec["resume"]).run()
    except Exception as e:
        if main_rank:
            ch.write({"kind": "worker", "type": "worker/result", "params": {"error": str(e)}})
        raise SystemExit(1)
    if main_rank:
        ch.write({"kind": "worker", "type": "worker/result", "params": r})


if __name__ == "__main__":
    main()

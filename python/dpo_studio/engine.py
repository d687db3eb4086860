"""`python -m dpo_studio.engine`: the torch engine process. It speaks the protocol of
src/protocol/messages.ts on stdio exactly (JSON lines; requests checked against
schemas/protocol.schema.json; a bad line gets engine/didReject and, when it has an id, an error
reply, never a crash). stdout carries protocol lines only: everything else printed (transformers'
own logs included) goes to stderr. One run at a time, in a worker thread; SIGTERM, run/stop,
engine/shutdown or stdin closing finish the step, write a checkpoint and exit 0."""

import json
import os
import signal
import sys
import threading


def _claim_stdout():
    """The real stdout for protocol lines; fd 1 and sys.stdout now lead to stderr."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


class Engine:
    def __init__(self, channel):
        self.ch = channel
        self.stop = threading.Event()
        self.exiting = False
        self.active = None
        self.lock = threading.Lock()
        self.probe = None

    # --- runs ---
    def _sink(self):
        ch = self.ch

        class Sink:
            def progress(self, phase, done, total, message=None):
                ch.event("run/didProgress", {"phase": phase, "done": done, "total": total, **({"message": message} if message else {})})

            def metrics(self, record):
                ch.event("run/didLogMetrics", {"record": record})

            def warning(self, w):
                ch.event("run/didWarn", w)

            def checkpoint(self, step, path):
                ch.event("run/didCheckpoint", {"step": step, "dir": path})

            def log(self, line):
                ch.event("run/didLog", {"line": line})

        return Sink()

    def _start(self, config: dict, resume: bool):
        from .launch import run_in_processes
        from .train import Run

        self.stop.clear()
        self.ch.event("run/didStart", {"runDir": config["output_dir"], "config": config})

        def work():
            try:
                if config["num_processes"] > 1 or config["accelerate_config"]:
                    r = run_in_processes(config, resume, self.ch, self.stop)
                else:
                    r = Run(config, self._sink(), self.stop.is_set, resume=resume).run()
                self.ch.event("run/didFinish", r)
            except Exception as e:  # the run failed; the engine lives on
                self.ch.event("run/didFail", {"runDir": config["output_dir"], "message": str(e) or type(e).__name__})
            finally:
                with self.lock:
                    self.active = None
                if self.exiting:
                    os._exit(0)

        with self.lock:
            self.active = threading.Thread(target=work, name="dpo-run", daemon=True)
            self.active.start()

    def shutdown(self):
        self.exiting = True
        self.stop.set()
        with self.lock:
            idle = self.active is None
        if idle:
            if self.probe:  # generations in flight finish and reply first
                for t in list(self.probe.threads):
                    t.join(timeout=120)
            os._exit(0)

    # --- requests ---
    def handle(self, req: dict):
        from .schemas import resolve_config

        t, p, id_ = req["type"], req["params"], req["id"]
        if t == "run/start" or t == "run/resume":
            if self.active is not None:
                return self.ch.error(id_, "a run is already active in this engine; stop it first")
            try:
                if t == "run/start":
                    config = resolve_config({**p["config"], "mode": p["mode"], "engine": "torch"}, "run config")
                    if not config["output_dir"]:
                        return self.ch.error(id_, "output_dir: required (the run folder)")
                    resume = False
                else:
                    path = os.path.join(p["runDir"], "config.json")
                    if not os.path.isfile(path):
                        return self.ch.error(id_, f"{p['runDir']}: not a run folder (no config.json)")
                    with open(path, encoding="utf-8") as f:
                        config = resolve_config({**json.load(f), "output_dir": p["runDir"]}, path)
                    resume = True
            except ValueError as e:
                return self.ch.error(id_, str(e))
            self.ch.reply(id_, {"runDir": config["output_dir"]})
            return self._start(config, resume)
        if t == "run/stop":
            self.stop.set()
            return self.ch.reply(id_, {"stopping": self.active is not None})
        if t == "engine/shutdown":
            self.ch.reply(id_, {})
            return self.shutdown()
        if t.startswith("probe/"):
            from .probe import ProbeSession

            self.probe = self.probe or ProbeSession(self.ch)
            return self.probe.handle(t, id_, p)
        self.ch.error(id_, f"unhandled request type {t}")


def main():
    proto = _claim_stdout()
    from .device import describe_device
    from .protocol import PROTOCOL_VERSION, Channel, parse_request

    ch = Channel(proto)
    engine = Engine(ch)
    signal.signal(signal.SIGTERM, lambda *_: engine.shutdown())
    signal.signal(signal.SIGINT, lambda *_: engine.shutdown())
    dev = describe_device()
    ch.event(
        "engine/didStart",
        {"protocolVersion": PROTOCOL_VERSION, "pid": os.getpid(), "engine": "torch", "device": dev["device"], "devices": dev["devices"]},
    )
    for raw in sys.stdin.buffer:  # bytes: a non-UTF-8 byte is one bad line (U+FFFD), not an exit
        line = raw.decode("utf-8", errors="replace")
        if not line.strip():
            continue
        req, err = parse_request(line)
        if err:
            message, id_ = err
            if id_ is not None:
                ch.error(id_, message)
            ch.event("engine/didReject", {"message": message, "line": line.rstrip("\n")[:500]})
            continue
        try:
            engine.handle(req)
        except Exception as e:  # a bug in a handler must not end the engine
            ch.error(req["id"], f"{type(e).__name__}: {e}")
    engine.shutdown()  # stdin closed: the host went away
    threading.Event().wait()


if __name__ == "__main__":
    main()

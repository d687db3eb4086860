"""`python -m dpo_studio.engine`: the torch engine process. It speaks the protocol of
src/protocol/messages.ts on stdio exactly (JSON lines; requests checked against
schemas/protocol.schema.json; a bad line gets engine/didReject and, when it has an id, an error
reply, never a crash). stdout carries protocol lines only: everything else printed (transformers'
own logs included) goes to stderr. One run at a time, in a worker thread; SIGTERM, run/stop,
engine/shutdown or stdin closing finish the step, write a checkpoint and exit 0; so does a broken
stdout or stderr (the host went away): the run is not lost with it. probe/load runs in a thread of
its own, so cancel, stop and the rest are answered while a model loads."""

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO


class HostStream:
    """A stream to the host that outlives it: the first failed write calls on_gone once, points fds 1
    and 2 at /dev/null (so the libraries' own prints cannot fail the run) and drops what follows."""

    def __init__(self, inner: Any, on_gone: Callable[[], None]):
        self.inner = inner
        self.on_gone = on_gone
        self.gone = False

    def _lost(self) -> None:
        if self.gone:
            return
        self.gone = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
        except OSError:
            pass
        self.on_gone()

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self.inner.write(text)
                return len(text)
            except (OSError, ValueError):  # EPIPE, or the file closed under us
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.inner.flush()
            except (OSError, ValueError):
                self._lost()

    def __getattr__(self, name: str):  # fileno, encoding, isatty… as the stream has them
        return getattr(self.inner, name)


def _claim_stdout(on_gone: Callable[[], None]) -> HostStream:
    """The real stdout for protocol lines; fd 1 and sys.stdout now lead to stderr."""
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stderr = HostStream(sys.stderr, on_gone)
    sys.stdout = sys.stderr
    return HostStream(proto, on_gone)


class Engine:
    def __init__(self, channel: Any):
        self.ch = channel
        self.stop = threading.Event()
        self.exiting = False
        self.active: threading.Thread | None = None
        self.lock = threading.Lock()
        self.probe: Any = None
        self.loading: threading.Thread | None = None  # the latest probe/load
        self.probe_work: list = []  # probe requests answered off the reading thread
        self.reward: Any = None  # reward-model/* (reward_model.py)
        self.reward_loading: threading.Thread | None = None

    # --- runs ---
    def _sink(self) -> Any:
        ch = self.ch

        class Sink:
            def progress(self, phase: str, done: int, total: int, message: str | None = None) -> None:
                ch.event("run/didProgress", {"phase": phase, "done": done, "total": total, **({"message": message} if message else {})})

            def metrics(self, record: dict) -> None:
                ch.event("run/didLogMetrics", {"record": record})

            def warning(self, w: dict) -> None:
                ch.event("run/didWarn", w)

            def checkpoint(self, step: int, path: str) -> None:
                ch.event("run/didCheckpoint", {"step": step, "dir": path})

            def log(self, line: str) -> None:
                ch.event("run/didLog", {"line": line})

        return Sink()

    def _start(self, config: dict, resume: bool) -> None:
        from .launch import run_in_processes
        from .train import Run

        self.stop.clear()
        self.ch.event("run/didStart", {"runDir": config["output_dir"], "config": config})

        def work() -> None:
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

    def shutdown(self) -> None:
        self.exiting = True
        self.stop.set()
        with self.lock:
            idle = self.active is None
        if idle:
            if self.probe or self.probe_work:  # loads, scores and generations in flight finish and reply first
                # Until none is left: a request queued behind a load starts its generation thread
                # only once the load is done, after any snapshot of the threads taken here.
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    threads = [*self.probe_work, *(self.probe.threads if self.probe else [])]
                    live = [t for t in threads if t.is_alive() and t is not threading.current_thread()]
                    if not live:
                        break
                    live[0].join(timeout=max(0.0, deadline - time.monotonic()))
            os._exit(0)

    def host_gone(self) -> None:
        """stdout or stderr broke: stop the run at its next step (it checkpoints), then exit. From a
        thread of its own: the write that failed may be inside the run or a generation."""
        threading.Thread(target=self.shutdown, name="dpo-host-gone", daemon=True).start()

    # --- requests ---
    def handle(self, req: dict) -> None:
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
            if t == "probe/cancel":
                return self.probe.handle(t, id_, p)
            # A load takes seconds to minutes: it and the requests sent after it (which need its
            # models) run off the reading thread, so stop, cancel and the rest are answered meanwhile.
            loading, probe = self.loading, self.probe

            def work() -> None:
                if loading is not None:
                    loading.join()
                probe.handle(t, id_, p)

            th = threading.Thread(target=work, name=f"dpo-{t.replace('/', '-')}", daemon=True)
            if t == "probe/load":
                self.loading = th
            self.probe_work = [x for x in self.probe_work if x.is_alive()] + [th]
            th.start()
            return None
        if t.startswith("reward-model/"):
            return self._reward_model(t, id_, p)
        self.ch.error(id_, f"unhandled request type {t}")

    def _reward_model(self, t: str, id_: int, p: dict) -> None:
        """Off the reading thread, as probe/*: a score sent after a load waits for it."""
        from .reward_model import RewardModelSession

        self.reward = self.reward or RewardModelSession()
        loading, reward = self.reward_loading, self.reward

        def work() -> None:
            if loading is not None:
                loading.join()
            try:
                if t == "reward-model/load":
                    self.ch.reply(id_, reward.load(p["dir"]))
                else:
                    self.ch.reply(id_, reward.score(p["prompt"], p["chat"], p["response"], p.get("messages")))
            except Exception as e:  # a bad folder or text is an error reply; the engine lives on
                self.ch.error(id_, str(e) or type(e).__name__)

        th = threading.Thread(target=work, name=f"dpo-{t.replace('/', '-')}", daemon=True)
        if t == "reward-model/load":
            self.reward_loading = th
        self.probe_work = [x for x in self.probe_work if x.is_alive()] + [th]
        th.start()


def bounded_lines(stream: BinaryIO, limit: int) -> Iterator[tuple[str, int]]:
    """(text, bytes) per line, as src/engine/line-reader.ts reads them: a line over `limit` bytes
    (newline excluded) is dropped as it arrives, keeping nothing beyond the bound, and comes out as
    (its first 500 characters, its length). Bytes that are not UTF-8 become U+FFFD, so such a line is
    rejected as not JSON rather than ending the engine."""
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        body = raw[:-1] if raw.endswith(b"\n") else raw
        if len(body) <= limit:
            yield body.decode("utf-8", errors="replace"), len(body)
            continue
        head, size, ended = body[:500], len(body), False
        while not ended:
            more = stream.readline(1 << 20)
            if not more:
                break
            ended = more.endswith(b"\n")
            size += len(more) - (1 if ended else 0)
            head += (more[:-1] if ended else more)[: 500 - len(head)]
        yield head.decode("utf-8", errors="replace"), size


def serve_line(engine: "Engine", line: str) -> None:
    """One line from the host: a request handled, or an error reply and engine/didReject. Nothing
    raised here ends the engine (ids of 1e400, nesting 10,000 deep, a bug in a handler)."""
    from .protocol import parse_request

    ch = engine.ch
    try:
        req, err = parse_request(line)
    except BaseException as e:  # noqa: BLE001  RecursionError, OverflowError, MemoryError…
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        req, err = None, (f"unreadable message ({type(e).__name__}: {e})", None)
    try:
        if err:
            message, id_ = err
            if id_ is not None:
                ch.error(id_, message)
            ch.event("engine/didReject", {"message": message, "line": line.rstrip("\n")[:500]})
            return
        try:
            engine.handle(req)
        except Exception as e:  # a bug in a handler must not end the engine
            ch.error(req["id"], f"{type(e).__name__}: {e}")
    except Exception as e:  # the reply itself failed (e.g. a value JSON cannot carry): say so, live on
        print(f"engine: could not answer a message: {type(e).__name__}: {e}", file=sys.stderr)


def main() -> None:
    engine_ref: list = []
    proto = _claim_stdout(lambda: engine_ref[0].host_gone() if engine_ref else os._exit(0))
    from .device import describe_device
    from .protocol import PROTOCOL_VERSION, Channel

    ch = Channel(proto)
    engine = Engine(ch)
    engine_ref.append(engine)
    signal.signal(signal.SIGTERM, lambda *_: engine.shutdown())
    signal.signal(signal.SIGINT, lambda *_: engine.shutdown())
    dev = describe_device()
    ch.event(
        "engine/didStart",
        {"protocolVersion": PROTOCOL_VERSION, "pid": os.getpid(), "engine": "torch", "device": dev["device"], "devices": dev["devices"]},
    )
    from . import schemas

    limit = schemas.protocol()["maxLineBytes"]  # the embedded engine's bound (src/protocol/messages.ts)
    try:
        for line, size in bounded_lines(sys.stdin.buffer, limit):
            if size > limit:
                message = f"line of {size} bytes is longer than the limit of {limit} bytes; dropped"
                ch.event("engine/didReject", {"message": message, "line": line})
            elif line.strip():
                serve_line(engine, line)
    except OSError:  # a broken stdin ends input as closing it does
        pass
    engine.shutdown()  # stdin closed: the host went away
    threading.Event().wait()


if __name__ == "__main__":
    main()

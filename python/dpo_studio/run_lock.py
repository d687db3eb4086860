"""One writer per run folder, the same `run.lock` as src/engine/train/run-lock.ts (JSON {pid, host,
started}): a second trainer on the folder, of either engine, fails naming who holds it; a lock left by
a process of this host that died (kill -9) is taken over. Another host's lock is named with the file
to delete, since its process cannot be checked from here."""

import datetime
import json
import os
import socket
from collections.abc import Callable

LOCK_FILE = "run.lock"


class RunLockError(RuntimeError):
    pass


def _read(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            v = json.load(f)
        return v if isinstance(v.get("pid"), int) and isinstance(v.get("host"), str) else None
    except (OSError, ValueError, AttributeError):
        return None  # gone, or not ours: treated as stale


def _alive(lock: dict) -> bool:
    if lock["host"] != socket.gethostname():
        return True  # cannot tell; assume it runs
    if lock["pid"] == os.getpid():
        return True
    try:
        os.kill(lock["pid"], 0)
        return True
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False


def acquire_run_lock(folder: str) -> Callable[[], None]:
    """Takes the lock of `folder` (which must exist) or raises RunLockError; returns its release."""
    path = os.path.join(folder, LOCK_FILE)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    tmp = f"{path}.{os.getpid()}-{id(mine)}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(mine) + "\n")
    try:
        for _ in range(5):
            try:
                os.link(tmp, path)  # creates the name only if it is free, content already complete
                break
            except FileExistsError:
                pass
            except OSError as e:
                raise RunLockError(f"{path}: cannot create the run lock ({e})") from e
            held = _read(path)
            if held and _alive(held):
                other = "" if held["host"] == socket.gethostname() else f", or delete {path} if it is no longer running"
                raise RunLockError(
                    f"{folder} is in use by another run (pid {held['pid']} on {held['host']}, started {held.get('started')}); stop that run first{other}"
                )
            try:  # stale: rename it away; of two taking over at once, one renames, the other retries
                os.replace(path, f"{path}.stale-{os.getpid()}")
                os.remove(f"{path}.stale-{os.getpid()}")
            except OSError:
                pass
        else:
            raise RunLockError(f"{path}: could not take the run lock (it keeps changing hands)")
    finally:
        os.remove(tmp)

    def release() -> None:
        held = _read(path)
        if held and held["pid"] == mine["pid"] and held.get("started") == mine["started"]:
            os.remove(path)

    return release

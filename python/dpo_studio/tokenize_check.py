"""Tokenises every data line once in a child process, with a time bound per line, before TRL
tokenises the dataset in-process where nothing can interrupt it: a tokenizer.json whose
pre-tokenizer or normalizer regex backtracks catastrophically (minutes to hours on one line) is
reported with the file, the data line and what to do. It does not check the tokens themselves."""

import json
import os
import selectors
import subprocess
import sys
import threading

from .model_check import ModelFolderError

PER_LINE_SECONDS = 10.0

_CHILD = """
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
for raw in sys.stdin:
    item = json.loads(raw)
    for text in item["texts"]:
        tok.encode(text)
    print(item["line"], flush=True)
"""


def _texts(row: dict) -> list:
    out = []
    for k in ("prompt", "chosen", "rejected", "completion"):
        v = row.get(k)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(m["content"] for m in v if isinstance(m, dict) and isinstance(m.get("content"), str))
    return out


def check_tokenizer_time(model_dir: str, sources: list, per_line_s: float = PER_LINE_SECONDS) -> None:
    """sources: (data file, rows with their 1-based "line"). Raises ModelFolderError naming
    tokenizer.json and the first data line it does not finish within per_line_s."""
    path = os.path.join(model_dir, "tokenizer.json")
    if not os.path.isfile(path):
        return  # slow tokenizers (vocab files) have no user regex to run away
    items = [(data, row["line"], _texts(row)) for data, rows in sources for row in rows]
    if not items:
        return
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdin, stdout = child.stdin, child.stdout
    assert stdin is not None and stdout is not None  # both are PIPE

    def feed() -> None:
        try:
            for _, line, texts in items:
                stdin.write(json.dumps({"line": line, "texts": texts}) + "\n")
            stdin.close()
        except OSError:
            pass  # the child was stopped or failed: the reader below says why

    threading.Thread(target=feed, daemon=True).start()
    sel = selectors.DefaultSelector()
    sel.register(stdout, selectors.EVENT_READ)
    try:
        for data, line, _ in items:
            if not sel.select(timeout=per_line_s):
                raise ModelFolderError(
                    f"{path} did not finish within {per_line_s:g} s tokenising {data}:{line}: its pre-tokenizer or normalizer "
                    "regex backtracks catastrophically on that text; use the tokenizer.json saved with the model, or fix the regex"
                )
            if not stdout.readline():
                err = (child.stderr.read() if child.stderr else "").strip().splitlines()
                raise ModelFolderError(
                    f"{path}: the tokenizer failed on {data}:{line} ({err[-1] if err else 'no message'}); "
                    "use the tokenizer.json saved with the model, or fix its regex"
                )
    finally:
        sel.close()
        if child.poll() is None:
            child.kill()
        child.wait()

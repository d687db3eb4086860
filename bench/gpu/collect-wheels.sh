#!/usr/bin/env bash
# Collects the wheels `npm run bench:gpu` installs (into a private folder, no index, no download) on a
# GPU machine whose Python has torch, transformers and accelerate but not TRL, PEFT or datasets: the
# versions this project's torch env pins, from pip's configured offline sources. Carry the folder
# (bench/gpu/wheels, or set DPO_BENCH_WHEELS). Platform wheels (pyarrow, pandas, ...) must match the
# GPU machine's Python version and OS: run this with a Python of that version.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${DPO_BENCH_PYTHON:-$here/../../.cache/torch-env/bin/python}"
out="${1:-$here/wheels}"
mkdir -p "$out"
mapfile -t pins < <("$py" "$here/gpu_bench.py" wheels)
"$py" -m pip download --no-deps --retries 0 --timeout 5 --dest "$out" "${pins[@]}"
du -sh "$out"

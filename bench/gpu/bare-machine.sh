#!/usr/bin/env bash
# The torch half of `npm run bench:gpu` on a bare GPU machine whose Python has torch, transformers and
# accelerate but which has neither Node nor a network (the GPU machines this project is sometimes
# lent): installs the carried wheels (TRL, PEFT, datasets, jsonschema and what they need; see
# collect-wheels.sh) into a private folder that shadows the machine's own packages, puts the rpds
# stand-in (rpds_standin/rpds.py) on the path only when no rpds-py imports, takes the tokenizer from a
# carried folder (no Node to make it), runs gpu_bench.py all, and copies torch-report.json and the
# log to OUT_DIR. The WebGPU row needs Node and the npm packages: `npm run bench:gpu` where they are.
# Usage: bash bench/gpu/bare-machine.sh WHEELS_DIR TOKENIZER_DIR OUT_DIR [--tiny]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wheels="$1" tok="$2" out="$3"
shift 3
py="${DPO_BENCH_PYTHON:-python3}"
work="$(mktemp -d)"
mkdir -p "$out"
"$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$work/site" "$wheels"/*.whl
export PYTHONPATH="$work/site${PYTHONPATH:+:$PYTHONPATH}"
if [ -n "${DPO_BENCH_RPDS_STANDIN:-}" ] || ! "$py" -c 'import rpds' 2>/dev/null; then
  echo "no rpds-py for this Python: using bench/gpu/rpds_standin"
  export PYTHONPATH="$PYTHONPATH:$here/rpds_standin"
fi
export DPO_BENCH_TOKENIZER="$tok" PYTHONUNBUFFERED=1
{ nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; "$py" -c 'import sys, rpds, torch, transformers, trl, peft, accelerate, datasets, jsonschema; print(sys.version.split()[0], "rpds", rpds.__file__, "torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "trl", trl.__version__, "peft", peft.__version__, "accelerate", accelerate.__version__)'; } 2>&1 | tee "$out/bench-log.txt"
set +e
"$py" "$here/gpu_bench.py" all --out "$work/bench" "$@" 2>&1 | tee -a "$out/bench-log.txt"
status=${PIPESTATUS[0]}
cp "$work/bench/torch-report.json" "$out/" 2>/dev/null
exit "$status"

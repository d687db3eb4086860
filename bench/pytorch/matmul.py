"""PyTorch's side of bench/matmul.ts: GFLOP/s of torch.matmul (its BLAS) on the same shapes at a
given thread count. Argument: JSON {"shapes": [{name, batch, m, k, n}], "threads": N, "reps": R}."""
import json, statistics, sys, time

import torch

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
out = {"who": f"torch {torch.__version__}", "threads": torch.get_num_threads(), "gflops": {}, "perEntry": {}}
for s in args["shapes"]:
    lead = [s["batch"]] if s["batch"] > 1 else []
    a, b = torch.randn(*lead, s["m"], s["k"]), torch.randn(*lead, s["k"], s["n"])
    torch.matmul(a, b)  # warm-up

    def once():
        t0 = time.perf_counter()
        torch.matmul(a, b)
        return time.perf_counter() - t0

    sec = statistics.median(once() for _ in range(args["reps"]))
    out["gflops"][s["name"]] = 2 * s["batch"] * s["m"] * s["k"] * s["n"] / sec / 1e9
print(json.dumps(out))

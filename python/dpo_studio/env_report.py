"""What `dpo setup-torch` prints about the environment: versions and devices, as one JSON object."""

import json
import platform


def report() -> dict:
    import accelerate
    import peft
    import torch
    import transformers
    import trl

    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gpus.append({"index": i, "name": p.name, "memoryBytes": int(p.total_memory)})
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "accelerate": accelerate.__version__,
        "peft": peft.__version__,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpus": gpus,
        "cpuThreads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    print(json.dumps(report()))

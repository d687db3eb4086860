"""The device the torch engine runs on, as engine/didStart and status records report it."""


def describe_device() -> dict:
    import torch

    if torch.cuda.is_available():
        from accelerate import PartialState

        i = PartialState().local_process_index % torch.cuda.device_count()
        gpus = []
        for k in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(k)
            gpus.append({"index": k, "name": p.name, "memoryBytes": int(p.total_memory)})
        return {"device": f"cuda:{i}", "label": f"cuda:{i} {gpus[i]['name']}", "devices": gpus}
    # The same words as the handshake's device, so the status bar and the metrics panel say the same
    # ("torch · cpu"); the thread count goes to the start-up line of log.txt.
    return {"device": "cpu", "label": "cpu", "devices": [], "threads": torch.get_num_threads()}

"""Parquet, Arrow and Hugging Face `datasets` folders to JSONL, for `dpo convert`: the rows as
they are (the TypeScript side reads their preference format). Not a trainer input path of its own."""

import argparse
import json
import os
import sys
from typing import Any


def load(path: str, split: str) -> Any:  # a datasets.Dataset
    import datasets  # the torch environment's pinned `datasets`

    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "dataset_dict.json")) or os.path.exists(os.path.join(path, "dataset_info.json")):
            ds = datasets.load_from_disk(path)  # save_to_disk() layout
        else:
            ds = datasets.load_dataset(path)  # a folder of data files
    elif path.endswith(".parquet"):
        ds = datasets.load_dataset("parquet", data_files=path)
    elif path.endswith(".arrow"):
        ds = datasets.Dataset.from_file(path)
    else:
        raise SystemExit(f"{path}: not a .parquet or .arrow file or a datasets folder")
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise SystemExit(f"{path}: no split {split!r} (splits: {', '.join(ds.keys())}); pass --split")
        ds = ds[split]
    return ds


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m dpo_studio.to_jsonl")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--split", default="train")
    a = p.parse_args(argv)
    ds = load(a.input, a.split)
    with open(a.output, "w", encoding="utf-8") as f:
        for row in ds:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"read {len(ds)} row(s) from {a.input}", file=sys.stderr)


if __name__ == "__main__":
    main()

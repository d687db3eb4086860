"""`dpo export-gguf`: a Hugging Face model folder, a LoRA adapter (merged into its base first) or a run
folder (its final/) as one GGUF file for llama.cpp, LM Studio and Ollama, with an Ollama Modelfile beside
it. Written to a temporary name and renamed, so the .gguf is whole or absent. Per-architecture rules are
in export_gguf_arch.py, the tokenizer in export_gguf_vocab.py.
    python -m dpo_studio.export_gguf --model DIR --out FILE.gguf [--type f32|f16|q8_0] [--base DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

import gguf
import numpy as np

from .export_gguf_arch import (
    ARCHITECTURES,
    HPARAMS,
    IGNORED_SUFFIXES,
    ArchSpec,
    ExportError,
    arch_of,
    config_for,
    llama3_rope_factors,
    mistral_sliding_note,
    rewrite,
)
from .export_gguf_vocab import add_tokenizer, modelfile

FILE_TYPES = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _read_config(folder: str) -> dict:
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ExportError(
            f"{path}: missing; give a model folder (config.json, weights, tokenizer), a LoRA adapter folder or a run folder"
        ) from None
    except ValueError as e:
        raise ExportError(f"{path}: invalid JSON ({e})") from None


def resolve_source(model_dir: str, base: str | None) -> tuple[str, str | None]:
    """(weights folder, base folder when it is a LoRA adapter). A run folder means its final/; a final/
    that the run already merged (merge_lora) means final/merged."""
    if not os.path.isdir(model_dir):
        raise ExportError(f"{model_dir}: not a folder")
    if os.path.isdir(os.path.join(model_dir, "final")) and not os.path.isfile(os.path.join(model_dir, "config.json")):
        model_dir = os.path.join(model_dir, "final")
        say(f"run folder: exporting its final model, {model_dir}")
    merged = os.path.join(model_dir, "merged")
    if os.path.isfile(os.path.join(merged, "config.json")) and not os.path.isfile(os.path.join(model_dir, "config.json")):
        say(f"using the merged model the run saved: {merged}")
        return merged, None
    adapter = os.path.join(model_dir, "adapter_config.json")
    if os.path.isfile(os.path.join(model_dir, "config.json")) or not os.path.isfile(adapter):
        return model_dir, None
    with open(adapter, encoding="utf-8") as f:
        named = json.load(f).get("base_model_name_or_path")
    candidates = [base] if base else [os.path.join(model_dir, named), named] if isinstance(named, str) and named else []
    found = next((c for c in candidates if c and os.path.isfile(os.path.join(c, "config.json"))), None)
    if not found:
        where = f"--base {base}" if base else f"{adapter}: base_model_name_or_path {json.dumps(named)}"
        raise ExportError(
            f"{where} is not a model folder here; a LoRA adapter is exported merged into its base: pass the base model's folder with --base"
        )
    return model_dir, found


def load_state(weights_dir: str, base: str | None) -> tuple[dict[str, Any], dict]:
    """float32 weights by their HF names, and the config, after merging an adapter into its base."""
    import torch
    from transformers import AutoModelForCausalLM

    config_dir = base or weights_dir
    config = _read_config(config_dir)
    arch_of(config_for(config), os.path.join(config_dir, "config.json"))  # refuse before loading weights
    say(f"loading {config_dir}")
    model = AutoModelForCausalLM.from_pretrained(config_dir, dtype=torch.float32)
    if base:
        from peft import PeftModel

        say(f"merging the LoRA adapter {weights_dir} into {base}")
        model = PeftModel.from_pretrained(model, weights_dir).merge_and_unload()
    return {k: v.detach().float().numpy() for k, v in model.state_dict().items()}, config


def _tensor_type(name: str, data: np.ndarray, kind: str) -> gguf.GGMLQuantizationType:
    # Norms, biases and RoPE factors stay float32 (as llama.cpp's own converter keeps 1-D tensors).
    if kind == "f32" or data.ndim < 2:
        return gguf.GGMLQuantizationType.F32
    if kind == "q8_0" and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
        return gguf.GGMLQuantizationType.Q8_0
    return gguf.GGMLQuantizationType.F16  # q8_0 needs rows in blocks of 32; the rest go to f16


def add_tensors(w: gguf.GGUFWriter, state: dict[str, Any], config: dict, arch_name: str, kind: str) -> int:
    spec = ARCHITECTURES[arch_name]
    n_layers = int(config.get("num_hidden_layers") or config["n_layer"])
    names = gguf.get_tensor_name_map(spec.gguf_arch, n_layers)
    tied = bool(config.get("tie_word_embeddings", True)) or "lm_head.weight" not in state
    out = []
    for hf_name, data in state.items():
        if hf_name.endswith(IGNORED_SUFFIXES):
            continue
        if hf_name == "lm_head.weight" and tied:
            continue  # the same matrix as the embedding; llama.cpp reuses token_embd
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ExportError(
                f"weight {hf_name}: no llama.cpp tensor for it in {spec.gguf_arch.name.lower()}; the model has parts llama.cpp would drop"
            )
        out.append((name, rewrite(spec, config, hf_name, data)))
        if tied and spec.write_tied_output and name == "token_embd.weight":
            out.append(("output.weight", data))
    factors = llama3_rope_factors(config)
    if factors is not None:
        out.append((gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", factors))
    for i, (name, data) in enumerate(out):
        qtype = _tensor_type(name, data, kind)
        if qtype == gguf.GGMLQuantizationType.F32:
            w.add_tensor(name, data.astype(np.float32))
        elif qtype == gguf.GGMLQuantizationType.F16:
            w.add_tensor(name, data.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(data.astype(np.float32), qtype), raw_dtype=qtype)
        if (i + 1) % 50 == 0:
            say(f"converted {i + 1}/{len(out)} tensors")
    return len(out)


def _model_name(model_dir: str, spec: ArchSpec, tok: Any) -> str:
    name = os.path.basename(os.path.normpath(model_dir))
    # llama.cpp looks up "<s>", "</s>", "<unk>" and "<|endoftext|>" by text when general.name says Phi-3 and
    # fails to load without them (a byte-level BPE vocabulary has none): such a name is written without the marker.
    vocab = tok.get_vocab()
    if spec.gguf_arch == gguf.MODEL_ARCH.PHI3 and not all(t in vocab for t in ("<s>", "</s>", "<unk>", "<|endoftext|>")):
        name = re.sub(r"phi-?3", "model", name, flags=re.IGNORECASE)
    return name


def _atomic_text(path: str, text: str) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def export(model_dir: str, out: str, kind: str = "f16", base: str | None = None, write_modelfile: bool = True) -> dict:
    from transformers import AutoTokenizer

    if kind not in FILE_TYPES:
        raise ExportError(f"--type {kind}: choose one of {', '.join(FILE_TYPES)}")
    weights_dir, base_dir = resolve_source(model_dir, base)
    where = os.path.join(base_dir or weights_dir, "config.json")
    config = config_for(_read_config(base_dir or weights_dir))
    arch_name, spec = arch_of(config, where)
    # Every field llama.cpp cannot express is refused here, before minutes of loading weights.
    HPARAMS[spec.gguf_arch](gguf.GGUFWriter(None, gguf.MODEL_ARCH_NAMES[spec.gguf_arch]), config, where)
    state, _ = load_state(weights_dir, base_dir)
    if note := mistral_sliding_note(config):
        say(note)
    # The tokenizer the adapter run saved (it may have added tokens), else the base's.
    tok_dir = weights_dir if os.path.isfile(os.path.join(weights_dir, "tokenizer.json")) else (base_dir or weights_dir)
    tok = AutoTokenizer.from_pretrained(tok_dir)
    os.makedirs(os.path.dirname(os.path.abspath(out)) or ".", exist_ok=True)
    tmp = f"{out}.tmp-{os.getpid()}"
    w = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[spec.gguf_arch])
    try:
        w.add_name(_model_name(model_dir, spec, tok))
        w.add_file_type(int(FILE_TYPES[kind]))
        HPARAMS[spec.gguf_arch](w, config, where)
        n_vocab = int(
            state[
                "lm_head.weight"
                if "lm_head.weight" in state
                else next(k for k in state if k.endswith(("embed_tokens.weight", "wte.weight")))
            ].shape[0]
        )
        w.add_vocab_size(n_vocab)
        info = add_tokenizer(w, tok_dir, tok, n_vocab)
        say(f"converting {arch_name} to {kind}")
        count = add_tensors(w, state, config, arch_name, kind)
        say(f"writing {count} tensors to {out}")
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file(progress=False)
        w.close()
        os.replace(tmp, out)
    except BaseException:
        w.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    result: dict[str, Any] = {"out": out, "arch": arch_name, "type": kind, "tensors": count, "bytes": os.path.getsize(out)}
    if write_modelfile:
        gen = os.path.join(base_dir or weights_dir, "generation_config.json")
        temperature = 0.7
        if os.path.isfile(gen):
            with open(gen, encoding="utf-8") as f:
                g = json.load(f)
            if g.get("do_sample") and isinstance(g.get("temperature"), (int, float)):
                temperature = float(g["temperature"])
        mf = os.path.join(os.path.dirname(os.path.abspath(out)), "Modelfile")
        _atomic_text(mf, modelfile(os.path.basename(out), info, temperature))
        result["modelfile"] = mf
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dpo export-gguf", description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--type", default="f16", choices=list(FILE_TYPES))
    p.add_argument("--base", help="the base model of a LoRA adapter (default: its base_model_name_or_path)")
    p.add_argument("--no-modelfile", action="store_true")
    a = p.parse_args(argv)
    try:
        r = export(os.path.abspath(a.model), os.path.abspath(a.out), a.type, a.base and os.path.abspath(a.base), not a.no_modelfile)
    except ExportError as e:
        say(f"export-gguf: {e}")
        return 2
    say(f"wrote {r['out']} ({r['arch']}, {r['type']}, {r['tensors']} tensors, {r['bytes'] / 1e6:.1f} MB)")
    if "modelfile" in r:
        say(f"wrote {r['modelfile']}; run it in Ollama with: ollama create <name> -f {r['modelfile']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

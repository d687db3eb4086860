"""The tokenizer of a model folder as llama.cpp reads it from GGUF metadata (tokens, types, merges,
pre-tokenizer name, special ids, BOS/EOS handling, chat template), and the Ollama Modelfile written
beside the file. Byte-level BPE tokenizers only (GPT-2, Llama 3, Qwen): others are refused by name.
Not the weights (export_gguf.py)."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import gguf

from .export_gguf_arch import ExportError
from .export_gguf_spm import add_sentencepiece, is_sentencepiece

# The pre-tokenizer regexes llama.cpp knows by name (tokenizer.ggml.pre), as tokenizer.json spells them.
GPT2_REGEX = None  # ByteLevel(use_regex=True) applies GPT-2's own split
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
PRE_BY_REGEX = {LLAMA3_REGEX: "llama-bpe", QWEN2_REGEX: "qwen2"}


def _pre_name(tok_json: dict, where: str) -> str:
    pre = tok_json.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    if len(steps) == 1 and steps[0].get("type") == "ByteLevel" and steps[0].get("use_regex", True):
        if steps[0].get("add_prefix_space"):
            raise ExportError(f"{where}: ByteLevel add_prefix_space is true; llama.cpp's gpt2 pre-tokenizer adds no space")
        return "gpt-2"
    if len(steps) == 2 and steps[0].get("type") == "Split" and steps[1].get("type") == "ByteLevel":
        regex = (steps[0].get("pattern") or {}).get("Regex")
        if regex in PRE_BY_REGEX and not steps[1].get("use_regex", True):
            return PRE_BY_REGEX[regex]
    raise ExportError(
        f"{where}: pre_tokenizer {json.dumps(pre)[:200]} is not one llama.cpp names (GPT-2's ByteLevel, Llama 3's or Qwen2's split)"
    )


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ExportError(f"{path}: missing; the GGUF file needs the model's tokenizer") from None
    except ValueError as e:
        raise ExportError(f"{path}: invalid JSON ({e})") from None


def add_tokenizer(w: gguf.GGUFWriter, tok_dir: str, tok: Any, n_vocab: int) -> dict:
    """Writes the tokenizer keys; returns what the Modelfile needs (eos text, chat template)."""
    where = os.path.join(tok_dir, "tokenizer.json")
    if not os.path.isfile(os.path.join(tok_dir, "tokenizer.model")):
        _read_json(where)  # a clear error when it is missing or broken
    # The tokenizer as transformers built it: a model-specific class may replace the file's pre-tokenizer
    # (Qwen2Tokenizer splits single digits whatever tokenizer.json says), and llama.cpp must match that.
    tj = json.loads(tok.backend_tokenizer.to_str())
    if is_sentencepiece(tj):
        add_sentencepiece(w, tok_dir, tok, tj, n_vocab)
    else:
        _add_byte_level(w, tok_dir, tj, where, n_vocab)
    # sep/cls/mask ids as the folder's files name them; the rest from the tokenizer transformers loads.
    # gguf's guesses at add_bos/add_eos from the post-processor warn about templates it does not parse
    # (Llama's "<s> A <s> B" pair); those flags are not taken from it, so the warning is noise here.
    quiet = logging.getLogger("gguf.vocab")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        special = gguf.SpecialVocab(tok_dir, load_merges=False, n_vocab=n_vocab)
    finally:
        quiet.setLevel(level)
    special.chat_template = None  # written below from the loaded tokenizer (chat_template.jinja too)
    special.add_special_token = {}
    for which in ("bos", "eos", "unk", "pad"):
        special.special_token_ids.pop(which, None)
    special.add_to_gguf(w, quiet=True)
    for which in ("unk", "pad"):
        tid = getattr(tok, f"{which}_token_id")
        if tid is not None:
            getattr(w, f"add_{which}_token_id")(int(tid))
    return _add_bos_eos_template(w, tok)


def _add_byte_level(w: gguf.GGUFWriter, tok_dir: str, tj: dict, where: str, n_vocab: int) -> None:
    model = tj.get("model") or {}
    if model.get("type") != "BPE" or model.get("byte_fallback") or (tj.get("decoder") or {}).get("type") != "ByteLevel":
        raise ExportError(
            f"{where}: model {model.get('type')!r} (byte_fallback {model.get('byte_fallback')}) is neither byte-level BPE "
            "(GPT-2 / Llama 3 / Qwen) nor SentencePiece BPE with byte fallback (Llama 2 / Mistral / Gemma); it cannot be exported"
        )
    if tj.get("normalizer") and tj["normalizer"].get("type") != "NFC":  # Qwen2's NFC changes no ordinary text
        raise ExportError(f"{where}: normalizer {tj['normalizer'].get('type')!r}: llama.cpp's BPE tokenizer applies none")
    pre = _pre_name(tj, where)
    by_id: dict[int, tuple[str, gguf.TokenType]] = {i: (t, gguf.TokenType.NORMAL) for t, i in model["vocab"].items()}
    for a in tj.get("added_tokens") or []:
        # Special added tokens are matched before the BPE split and never produced from text pieces.
        by_id[int(a["id"])] = (a["content"], gguf.TokenType.CONTROL if a.get("special") else gguf.TokenType.USER_DEFINED)
    if max(by_id) >= n_vocab:
        raise ExportError(f"{where}: token id {max(by_id)} is past the model's {n_vocab} embedding rows")
    tokens, types = [], []
    for i in range(n_vocab):
        # Rows the tokenizer never produces (embeddings padded to a round size) get placeholder names.
        text, kind = by_id.get(i, (f"[PAD{i}]", gguf.TokenType.UNUSED))
        tokens.append(text)
        types.append(kind)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    merges = gguf.SpecialVocab(tok_dir, load_merges=True, n_vocab=n_vocab).merges
    # A bytes-only vocabulary: llama.cpp requires the key and gguf writes no empty array. Symbols
    # start as single characters and grow only through listed merges, so this pair never occurs.
    w.add_token_merges(merges or ["\u0100\u0100\u0100 \u0100\u0100\u0100"])


def _add_bos_eos_template(w: gguf.GGUFWriter, tok: Any) -> dict:
    # BOS/EOS handling exactly as transformers encodes text, whatever the folder's files say.
    with_special = tok("a b")["input_ids"]
    plain = tok("a b", add_special_tokens=False)["input_ids"]
    add_bos = tok.bos_token_id is not None and len(with_special) > len(plain) and with_special[0] == tok.bos_token_id
    add_eos = tok.eos_token_id is not None and len(with_special) > len(plain) and with_special[-1] == tok.eos_token_id
    w.add_add_bos_token(bool(add_bos))
    w.add_add_eos_token(bool(add_eos))
    if tok.bos_token_id is not None:
        w.add_bos_token_id(int(tok.bos_token_id))
    if tok.eos_token_id is not None:
        w.add_eos_token_id(int(tok.eos_token_id))
    template = tok.chat_template if isinstance(tok.chat_template, str) else None
    if template:
        w.add_chat_template(template)
    return {"eos": tok.eos_token, "template": template, "bos": tok.bos_token, "add_bos": bool(add_bos)}


# Chat formats Ollama's Go templates can express, recognised by the markers in the Jinja template.
GO_TEMPLATES: dict[str, tuple[str, str, list[str]]] = {
    "chatml": (
        "<|im_start|>",
        "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
        ["<|im_end|>", "<|im_start|>"],
    ),
    "llama3": (
        "<|start_header_id|>",
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        ["<|eot_id|>", "<|start_header_id|>"],
    ),
    "gemma": (
        "<start_of_turn>",
        '{{- range .Messages }}<start_of_turn>{{ if eq .Role "assistant" }}model{{ else }}{{ .Role }}{{ end }}\n'
        "{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n",
        ["<end_of_turn>", "<start_of_turn>"],
    ),
    "phi3": (
        "<|assistant|>",
        "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n",
        ["<|end|>", "<|user|>", "<|assistant|>"],
    ),
    "mistral": (
        "[INST]",
        '{{- range .Messages }}{{ if eq .Role "user" }}[INST] {{ .Content }} [/INST]{{ else if eq .Role "assistant" }}'
        " {{ .Content }}</s>{{ end }}{{ end }}",
        ["[INST]", "</s>"],
    ),
}


def modelfile(gguf_name: str, info: dict, temperature: float) -> str:
    """An Ollama Modelfile: FROM the file beside it, its chat format as a Go template, stop tokens."""
    template = info.get("template") or ""
    family = next((name for name, (marker, _, _) in GO_TEMPLATES.items() if marker in template), None)
    lines = ["# Written by dpo export-gguf. Create the model with: ollama create <name> -f Modelfile", f"FROM ./{gguf_name}"]
    stops: list[str] = []
    if family:
        _, go, stops = GO_TEMPLATES[family]
        lines.append(f"# The tokenizer's chat template, translated to Ollama's Go template ({family} format).")
        # llama.cpp (under Ollama) adds BOS itself when the file says add_bos_token; a template that writes
        # bos_token for a tokenizer that does not add it gets it written into the Go template instead.
        writes_bos = "bos_token" in template or bool(info.get("bos") and info["bos"] in template)
        prefix = info["bos"] if writes_bos and info.get("bos") and not info.get("add_bos") else ""
        lines.append(f'TEMPLATE """{prefix}{go}"""')
    elif template:
        lines.append("# The tokenizer's chat template is not one this exporter translates: prompts are sent as written.")
        lines.append("# (The Jinja original is in the GGUF file's tokenizer.chat_template.)")
        lines.append('TEMPLATE """{{ .Prompt }}"""')
    else:
        lines.append("# The model has no chat template: prompts are sent as written (a completion model).")
        lines.append('TEMPLATE """{{ .Prompt }}"""')
    for s in dict.fromkeys([*stops, *([info["eos"]] if info.get("eos") else [])]):
        lines.append(f"PARAMETER stop {json.dumps(s)}")
    lines.append(f"PARAMETER temperature {temperature:g}")
    return "\n".join(lines) + "\n"

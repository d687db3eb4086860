"""What llama.cpp's loader needs per architecture when a Hugging Face causal LM becomes a GGUF file: the
GGUF architecture, its hyperparameter keys, and the tensor rewrites llama.cpp expects of HF weights
(rotary q/k row order, Gemma's 1+w norms, GPT-2's Conv1D layout, Llama 3 RoPE factors). Not the
writer (export_gguf.py) and not the tokenizer (export_gguf_vocab.py)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gguf
import numpy as np


class ExportError(Exception):
    """A model folder that cannot become a GGUF file that llama.cpp reads as transformers does."""


@dataclass(frozen=True)
class ArchSpec:
    gguf_arch: gguf.MODEL_ARCH
    # llama.cpp's LLAMA architecture applies RoPE to interleaved pairs; HF checkpoints hold the
    # half-split ("rotate_half") order, so q and k rows are reordered. The others use NEOX order.
    permute_qk: bool = False
    # Gemma stores RMSNorm weights as w in x * (1 + w); llama.cpp multiplies by the stored weight.
    norm_plus_one: bool = False
    # llama.cpp has no fallback to token_embd for these when output.weight is absent.
    write_tied_output: bool = False


ARCHITECTURES: dict[str, ArchSpec] = {
    "GPT2LMHeadModel": ArchSpec(gguf.MODEL_ARCH.GPT2, write_tied_output=True),
    "LlamaForCausalLM": ArchSpec(gguf.MODEL_ARCH.LLAMA, permute_qk=True),
    "MistralForCausalLM": ArchSpec(gguf.MODEL_ARCH.LLAMA, permute_qk=True),
    "Qwen2ForCausalLM": ArchSpec(gguf.MODEL_ARCH.QWEN2),
    "Qwen3ForCausalLM": ArchSpec(gguf.MODEL_ARCH.QWEN3),
    "Phi3ForCausalLM": ArchSpec(gguf.MODEL_ARCH.PHI3, write_tied_output=True),
    "Gemma2ForCausalLM": ArchSpec(gguf.MODEL_ARCH.GEMMA2, norm_plus_one=True),
    "Gemma3ForCausalLM": ArchSpec(gguf.MODEL_ARCH.GEMMA3, norm_plus_one=True),
}

# Buffers transformers may list in a state dict that are not weights.
IGNORED_SUFFIXES = (".rotary_emb.inv_freq", ".attn.bias", ".attn.masked_bias")


def arch_of(config: dict, where: str) -> tuple[str, ArchSpec]:
    names = config.get("architectures") or []
    name = names[0] if isinstance(names, list) and names else None
    if name not in ARCHITECTURES:
        supported = ", ".join(ARCHITECTURES)
        raise ExportError(f"{where}: architecture {name!r} cannot be exported to GGUF here; supported: {supported}")
    return name, ARCHITECTURES[name]


def _rope(config: dict) -> dict:
    """transformers 5 keeps RoPE settings in rope_parameters (per layer type for Gemma 3); older
    folders in rope_scaling and rope_theta."""
    p = config.get("rope_parameters") or config.get("rope_scaling") or {}
    if isinstance(p, dict) and "full_attention" in p:
        p = p["full_attention"]
    out = dict(p) if isinstance(p, dict) else {}
    out.setdefault("rope_theta", config.get("rope_theta", 10000.0))
    out.setdefault("rope_type", out.get("type", "default"))
    return out


def head_dim(config: dict) -> int:
    return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])


def _common(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    w.add_context_length(int(c["max_position_embeddings"]))
    w.add_embedding_length(int(c["hidden_size"]))
    w.add_block_count(int(c["num_hidden_layers"]))
    w.add_feed_forward_length(int(c["intermediate_size"]))
    w.add_head_count(int(c["num_attention_heads"]))
    w.add_head_count_kv(int(c.get("num_key_value_heads") or c["num_attention_heads"]))
    w.add_layer_norm_rms_eps(float(c.get("rms_norm_eps", 1e-6)))
    w.add_key_length(head_dim(c))
    w.add_value_length(head_dim(c))
    rope = _rope(c)
    w.add_rope_freq_base(float(rope["rope_theta"]))
    partial = float(c.get("partial_rotary_factor", 1.0))
    w.add_rope_dimension_count(int(head_dim(c) * partial))
    kind = rope["rope_type"]
    if kind == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(rope["factor"]))
    elif kind not in ("default", "llama3"):
        raise ExportError(f"{where}: RoPE scaling {kind!r} is not exported (supported: none, linear, llama3)")
    act = c.get("hidden_act") or c.get("hidden_activation")
    if act not in (None, "silu", "gelu_pytorch_tanh"):
        raise ExportError(f"{where}: hidden_act {act!r} has no llama.cpp equivalent for this architecture")


def _gpt2(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    act = c.get("activation_function", "gelu_new")
    # llama.cpp's GELU is the tanh approximation, which is gelu_new; exact GELU would drift.
    if act not in ("gelu_new", "gelu_pytorch_tanh"):
        raise ExportError(f"{where}: activation_function {act!r}: llama.cpp's GPT-2 uses the tanh GELU (gelu_new) only")
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        if c.get(flag):
            raise ExportError(f"{where}: {flag} is true; llama.cpp's GPT-2 has no such option")
    if c.get("scale_attn_weights") is False:
        raise ExportError(f"{where}: scale_attn_weights is false; llama.cpp's GPT-2 always scales attention")
    n_embd = int(c["n_embd"])
    w.add_context_length(int(c["n_positions"]))
    w.add_embedding_length(n_embd)
    w.add_block_count(int(c["n_layer"]))
    w.add_feed_forward_length(int(c.get("n_inner") or 4 * n_embd))
    w.add_head_count(int(c["n_head"]))
    w.add_layer_norm_eps(float(c.get("layer_norm_epsilon", 1e-5)))


def _llama(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    _common(w, c, where)
    if c.get("mlp_bias"):
        raise ExportError(f"{where}: mlp_bias is true; llama.cpp's llama architecture has no MLP biases")


def _qwen2(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    if c.get("use_sliding_window"):
        raise ExportError(f"{where}: use_sliding_window is true; llama.cpp's qwen2 attends over the whole context")
    _common(w, c, where)


def _phi3(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    if _rope(c)["rope_type"] not in ("default",):
        raise ExportError(f"{where}: Phi-3 RoPE scaling {_rope(c)['rope_type']!r} (longrope) is not exported")
    _common(w, c, where)
    w.add_rope_scaling_orig_ctx_len(int(c.get("original_max_position_embeddings") or c["max_position_embeddings"]))
    if c.get("sliding_window"):
        w.add_sliding_window(int(c["sliding_window"]))


def _gemma_scale_check(c: dict, where: str) -> None:
    # llama.cpp scales Gemma queries by 1/sqrt(head_dim) (hidden/heads only for the 27B shape).
    q = c.get("query_pre_attn_scalar")
    if q is not None and int(q) != head_dim(c):
        raise ExportError(
            f"{where}: query_pre_attn_scalar {q} differs from head_dim {head_dim(c)}; llama.cpp scales Gemma queries by 1/sqrt(head_dim)"
        )


def _gemma2(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    _gemma_scale_check(c, where)
    types = c.get("layer_types")
    alternate = [("sliding_attention" if i % 2 == 0 else "full_attention") for i in range(int(c["num_hidden_layers"]))]
    if types and list(types) != alternate:
        raise ExportError(f"{where}: layer_types {types}: llama.cpp's Gemma 2 alternates sliding and full layers, sliding first")
    _common(w, c, where)
    w.add_sliding_window(int(c["sliding_window"]))
    if c.get("attn_logit_softcapping") is not None:
        w.add_attn_logit_softcapping(float(c["attn_logit_softcapping"]))
    if c.get("final_logit_softcapping") is not None:
        w.add_final_logit_softcapping(float(c["final_logit_softcapping"]))


def _gemma3(w: gguf.GGUFWriter, c: dict, where: str) -> None:
    _gemma_scale_check(c, where)
    if c.get("final_logit_softcapping") or c.get("attn_logit_softcapping"):
        raise ExportError(f"{where}: Gemma 3 with soft-capping: llama.cpp's gemma3 has none")
    local = (c.get("rope_parameters") or {}).get("sliding_attention", {}).get("rope_theta", c.get("rope_local_base_freq", 10000.0))
    if float(local) != 10000.0:
        raise ExportError(f"{where}: Gemma 3 local RoPE base {local}: llama.cpp fixes it at 10000")
    # llama.cpp's gemma3 fixes the layer pattern: five sliding-window layers, then one global.
    types = c.get("layer_types")
    sixth = [("full_attention" if (i + 1) % 6 == 0 else "sliding_attention") for i in range(int(c["num_hidden_layers"]))]
    if types and list(types) != sixth:
        raise ExportError(f"{where}: layer_types {types}: llama.cpp's Gemma 3 has five sliding-window layers then one global, repeated")
    _common(w, c, where)
    w.add_sliding_window(int(c["sliding_window"]))


HPARAMS: dict[gguf.MODEL_ARCH, Callable[[gguf.GGUFWriter, dict, str], None]] = {
    gguf.MODEL_ARCH.GPT2: _gpt2,
    gguf.MODEL_ARCH.LLAMA: _llama,
    gguf.MODEL_ARCH.QWEN2: _qwen2,
    gguf.MODEL_ARCH.QWEN3: _common,
    gguf.MODEL_ARCH.PHI3: _phi3,
    gguf.MODEL_ARCH.GEMMA2: _gemma2,
    gguf.MODEL_ARCH.GEMMA3: _gemma3,
}


def mistral_sliding_note(config: dict) -> str | None:
    sw = config.get("sliding_window")
    if config.get("model_type") == "mistral" and sw and sw < int(config["max_position_embeddings"]):
        return f"note: sliding_window {sw}: llama.cpp's llama architecture attends over the whole context, so texts longer than {sw} tokens score differently"
    return None


def _permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """[n_head * head_dim, ...] from HF's half-split rotary order to llama.cpp's interleaved pairs."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rewrite(spec: ArchSpec, config: dict, hf_name: str, data: np.ndarray) -> np.ndarray:
    """One HF tensor (float32) as llama.cpp expects it under the same role."""
    if (
        spec.gguf_arch == gguf.MODEL_ARCH.GPT2
        and hf_name.endswith(".weight")
        and any(k in hf_name for k in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"))
    ):
        return np.ascontiguousarray(data.T)  # Conv1D keeps [in, out]; llama.cpp wants [out, in] like Linear
    if spec.permute_qk:
        if ".self_attn.q_proj." in hf_name:
            return _permute_rows(data, int(config["num_attention_heads"]))
        if ".self_attn.k_proj." in hf_name:
            return _permute_rows(data, int(config.get("num_key_value_heads") or config["num_attention_heads"]))
    if spec.norm_plus_one and hf_name.endswith("norm.weight"):
        return data + 1.0
    return data


def llama3_rope_factors(config: dict) -> np.ndarray | None:
    """Llama 3.1's frequency-dependent RoPE scaling as the per-frequency divisors llama.cpp reads from
    rope_freqs.weight (the wavelength bands of transformers' _compute_llama3_parameters)."""
    rope = _rope(config)
    if rope["rope_type"] != "llama3":
        return None
    dim = int(head_dim(config) * float(config.get("partial_rotary_factor", 1.0)))
    base, factor = float(rope["rope_theta"]), float(rope["factor"])
    low, high = float(rope.get("low_freq_factor", 1.0)), float(rope.get("high_freq_factor", 4.0))
    old_ctx = float(rope["original_max_position_embeddings"])
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    factors = []
    for i in range(0, dim, 2):
        wavelen = 2 * math.pi * base ** (i / dim)
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.asarray(factors, dtype=np.float32)


def config_for(config: dict) -> dict[str, Any]:
    """Gemma 3 text configs may nest under text_config; the rest are flat."""
    return {**config, **config["text_config"]} if isinstance(config.get("text_config"), dict) else config

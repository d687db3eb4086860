"""dpo export-gguf without llama.cpp: what the file holds read back with gguf's own reader (the rotary
row order, tied output, types per tensor), the Modelfile, the atomic write, and each refusal naming the
file and what to do. The llama.cpp proof is test/unit/cli/export-gguf.test.ts."""

import json
import os
import shutil

import gguf
import numpy as np
import pytest
import torch
from conftest import dpo
from safetensors.torch import load_file

from dpo_studio.export_gguf import export, main
from dpo_studio.export_gguf_arch import ExportError


def _tensors(path: str) -> dict:
    return {t.name: t for t in gguf.GGUFReader(path).tensors}


def _field(path: str, key: str):
    return gguf.GGUFReader(path).fields[key].contents()


def test_llama_rows_are_in_llama_cpp_rotary_order_and_the_tied_head_is_shared(models, tmp_path):
    out = str(tmp_path / "m.gguf")
    export(models["llama"], out, "f32")
    hf = load_file(os.path.join(models["llama"], "model.safetensors"))
    t = _tensors(out)
    q = hf["model.layers.0.self_attn.q_proj.weight"].numpy()
    heads, d = 4, q.shape[0] // 4
    got = np.asarray(t["blk.0.attn_q.weight"].data)
    # Row j of head h in llama.cpp's order is HF row (j % 2) * d/2 + j // 2: pairs interleaved.
    want = q.reshape(heads, 2, d // 2, -1).swapaxes(1, 2).reshape(q.shape)
    assert np.array_equal(got, want) and not np.array_equal(got, q)
    assert "output.weight" not in t  # tied: llama.cpp reads token_embd
    assert _field(out, "llama.attention.head_count_kv") == 2
    assert _field(out, "tokenizer.ggml.pre") == "gpt-2"


def test_q8_0_quantises_matrices_and_keeps_norms_f32(models, tmp_path):
    out = str(tmp_path / "m.gguf")
    export(models["gpt2"], out, "q8_0")
    t = _tensors(out)
    assert t["blk.0.attn_qkv.weight"].tensor_type == gguf.GGMLQuantizationType.Q8_0
    assert t["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    # GPT-2's Conv1D [in, out] becomes [out, in]; GPT-2 in llama.cpp needs an explicit output matrix.
    assert "output.weight" in t and _field(out, "gpt2.embedding_length") == 64
    assert _field(out, "general.file_type") == gguf.LlamaFileType.MOSTLY_Q8_0


def test_modelfile_translates_chatml_and_lists_stop_tokens(models, tmp_path):
    out = str(tmp_path / "m.gguf")
    export(models["gpt2"], out, "f16")
    text = (tmp_path / "Modelfile").read_text()
    assert "FROM ./m.gguf" in text
    assert "<|im_start|>{{ .Role }}" in text
    assert 'PARAMETER stop "<|im_end|>"' in text and 'PARAMETER stop "<|endoftext|>"' in text
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]


def test_modelfile_writes_bos_that_the_template_writes_and_the_tokenizer_does_not_add():
    from dpo_studio.export_gguf_vocab import modelfile

    llama3 = "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>{% endfor %}"
    info = {"eos": "<|eot_id|>", "bos": "<|begin_of_text|>", "template": llama3, "add_bos": False}
    assert 'TEMPLATE """<|begin_of_text|>{{- range .Messages }}<|start_header_id|>' in modelfile("m.gguf", info, 0.6)
    assert 'TEMPLATE """{{- range' in modelfile("m.gguf", {**info, "add_bos": True}, 0.6)  # llama.cpp adds it
    assert "PARAMETER temperature 0.6" in modelfile("m.gguf", info, 0.6)
    plain = modelfile("m.gguf", {"eos": "</s>", "bos": None, "template": "{{ messages[0]['content'] }}", "add_bos": False}, 0.7)
    assert 'TEMPLATE """{{ .Prompt }}"""' in plain and "not one this exporter translates" in plain


def test_cli_refuses_unsupported_architecture_by_name(models, tmp_path):
    folder = tmp_path / "bert"
    shutil.copytree(models["gpt2"], folder)
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "architectures": ["BertForMaskedLM"]}))
    r = dpo("export-gguf", "--model", folder, "--out", tmp_path / "x.gguf", check=False)
    assert r.returncode != 0
    assert "architecture 'BertForMaskedLM' cannot be exported" in r.stderr and "supported: GPT2LMHeadModel" in r.stderr
    assert not (tmp_path / "x.gguf").exists()


def test_gemma3_with_a_layer_pattern_llama_cpp_lacks_is_refused(models, tmp_path):
    folder = tmp_path / "gemma3"
    shutil.copytree(models["llama"], folder)
    cfg = json.loads((folder / "config.json").read_text())
    layers = ["sliding_attention", "full_attention"]
    cfg = {**cfg, "architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "sliding_window": 8, "layer_types": layers}
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ExportError, match="five sliding-window layers then one global"):
        export(str(folder), str(tmp_path / "x.gguf"))


def test_missing_config_and_adapter_without_base_say_what_to_do(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["--model", str(tmp_path / "empty"), "--out", str(tmp_path / "x.gguf")]) == 2
    assert "config.json: missing" in capsys.readouterr().err
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/nowhere/base", "peft_type": "LORA"}))
    assert main(["--model", str(adapter), "--out", str(tmp_path / "x.gguf")]) == 2
    err = capsys.readouterr().err
    assert '"/nowhere/base" is not a model folder here' in err and "--base" in err


def test_lora_adapter_is_merged_before_export(models, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(models["llama"], dtype=torch.float32)
    peft = get_peft_model(base, LoraConfig(r=2, target_modules=["v_proj"]))
    with torch.no_grad():
        for n, p in peft.named_parameters():
            if "lora_B" in n:
                p.fill_(0.5)
    peft.save_pretrained(tmp_path / "adapter")
    out = str(tmp_path / "m.gguf")
    export(str(tmp_path / "adapter"), out, "f32", base=models["llama"])
    merged = peft.merge_and_unload().state_dict()["model.layers.0.self_attn.v_proj.weight"].numpy()
    got = np.asarray(_tensors(out)["blk.0.attn_v.weight"].data)
    assert np.allclose(got, merged, atol=1e-6)
    assert not np.allclose(
        got, load_file(os.path.join(models["llama"], "model.safetensors"))["model.layers.0.self_attn.v_proj.weight"].numpy()
    )

"""5. The reward-model judge: random-weight sequence classifiers made by transformers (num_labels 1,
pad_token_id set as TRL's RewardTrainer sets it; GPT-2 and Llama as the issue asks, and the other
families the embedded engine accepts: Qwen2, Qwen3, Mistral, Phi-3, Gemma 2, Gemma 3), scored through
BOTH engines over their stdio protocol (reward-model/load, reward-model/score), equal to
AutoModelForSequenceClassification on the ids TRL's RewardTrainer itself builds (its
_prepare_dataset: EOS appended to text, the chat template for conversations) to 1e-4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import datasets
import pytest
import torch
import transformers as tr
from chat_templates import TEMPLATE_TOKENS, TEMPLATES
from conftest import REPO
from datasets import Dataset
from make_models import ARCHITECTURES
from make_tokenizers import TOKENIZERS, save
from trl import RewardConfig, RewardTrainer

datasets.disable_progress_bars()  # one bar per example otherwise

SYSTEM = {"role": "system", "content": "Answer briefly."}
# (prompt, response, chat, messages): plain text (an empty prompt, a response that already ends with
# the EOS text, non-ASCII) and conversations (one user turn from the prompt, or a whole conversation).
EXAMPLES = [
    ("Hello there", " general Kenobi", False, None),
    ("def f(x):", "\n    return x ** 2\n", False, None),
    ("", "only a response", False, None),
    ("Say it and stop.", " done{eos}", False, None),
    ("Tränen und Grüße ✓", " ça va, 東京", False, None),
    ("What is two plus two?", "Four.", True, None),
    (
        "",
        "It rains less in June.",
        True,
        [
            SYSTEM,
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "Which city?"},
            {"role": "user", "content": "Lisbon"},
        ],
    ),
]
TOKENIZER_SPECS = {
    # pad = EOS (TRL's default when a tokenizer has none): transformers then pools the token before
    # the appended EOS, and both engines must do the same.
    "pad-is-eos": dict(base="bpe-gpt2", template="chatml", eos="<|endoftext|>", bos=None, pad=None),
    # A pad of its own: the appended EOS is the pooled token.
    "own-pad": dict(base="sentencepiece-bpe", template="llama3", eos="</s>", bos="<s>", pad="<unk>"),
}
# Reward model -> (make_models fixture whose shape it takes, classifier class, tokenizer). GPT-2 and
# Llama are the proof; the other families the embedded engine accepts are checked alike.
MODELS = {
    "gpt2": ("gpt2", "GPT2ForSequenceClassification", "pad-is-eos"),
    "llama": ("llama3", "LlamaForSequenceClassification", "own-pad"),
    "qwen2": ("qwen2", "Qwen2ForSequenceClassification", "pad-is-eos"),
    "qwen3": ("qwen3", "Qwen3ForSequenceClassification", "own-pad"),
    "mistral": ("mistral-sliding", "MistralForSequenceClassification", "own-pad"),
    "phi3": ("phi3", "Phi3ForSequenceClassification", "own-pad"),
    "gemma2": ("gemma2", "Gemma2ForSequenceClassification", "own-pad"),
    "gemma3": ("gemma3", "Gemma3TextForSequenceClassification", "own-pad"),
}


def make_reward_model(kind: str, out) -> tuple:
    fixture, cls_name, tok_spec = MODELS[kind]
    spec = TOKENIZER_SPECS[tok_spec]
    tok = TOKENIZERS[spec["base"]]()
    tok.add_special_tokens(TEMPLATE_TOKENS)
    save(tok, out, eos=spec["eos"], bos=spec["bos"], chat_template=TEMPLATES[spec["template"]])
    if spec["pad"]:
        cfg_path = out / "tokenizer_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg_path.write_text(json.dumps({**cfg, "pad_token": spec["pad"]}, indent=2))
    hf_tok = tr.AutoTokenizer.from_pretrained(out)
    config_cls, _, kwargs = ARCHITECTURES[fixture]
    ids = dict(vocab_size=len(hf_tok), pad_token_id=hf_tok.pad_token_id, eos_token_id=hf_tok.eos_token_id, bos_token_id=hf_tok.bos_token_id)
    positions = {"n_positions": 128} if kind == "gpt2" else {"max_position_embeddings": 128}
    if kind == "phi3":
        positions["original_max_position_embeddings"] = 128
    config = config_cls(**{**kwargs, **positions, **ids, "num_labels": 1})
    torch.manual_seed(len(kind))
    model = getattr(tr, cls_name)(config).eval()
    with torch.no_grad():
        for _name, p in model.named_parameters():
            if p.dim() == 1:  # norms start at exactly 1 (Gemma's at 0): randomised, so a wrong norm shows
                p.add_(torch.randn_like(p) * 0.2)
        model.score.weight.normal_(0, 1.0)  # scores of order 1, so 1e-4 is a tight bound
    model.save_pretrained(out)
    return out, hf_tok


def trl_ids(tok, prompt: str, response: str, chat: bool, messages: list | None, tmp) -> list[int]:
    """The chosen_ids TRL's RewardTrainer trains on for this example (its own preprocessing)."""
    if chat:
        row = {"prompt": messages or [{"role": "user", "content": prompt}], "chosen": [{"role": "assistant", "content": response}]}
    else:
        row = {"prompt": prompt, "chosen": response}
    row["rejected"] = row["chosen"]
    args = RewardConfig(output_dir=str(tmp / "trl-args"), max_length=None, report_to=[], bf16=False, use_cpu=True)
    ds = RewardTrainer._prepare_dataset(SimpleNamespace(), Dataset.from_list([row]), tok, args, "train")
    return list(ds[0]["chosen_ids"])


def hf_score(model, ids: list[int]) -> float:
    with torch.no_grad():
        return float(model(input_ids=torch.tensor([ids])).logits[0, 0])


class Engine:
    """One engine process spoken to over its stdio protocol, as the extension and the CLI do."""

    def __init__(self, argv: list[str], env: dict | None = None):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
        self.watchdog = threading.Timer(300, self.p.kill)  # a hung engine fails the test, not the suite
        self.watchdog.daemon = True
        self.watchdog.start()
        self.next_id = 0

    def request(self, type_: str, params: dict) -> dict:
        self.next_id += 1
        line = json.dumps({"kind": "request", "id": self.next_id, "type": type_, "params": params}) + "\n"
        self.p.stdin.write(line.encode())
        self.p.stdin.flush()
        while True:
            out = self.p.stdout.readline()
            assert out, "the engine exited"
            m = json.loads(out)
            if m["kind"] == "reply" and m["id"] == self.next_id:
                return m

    def close(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=60)
        self.watchdog.cancel()


def start_engines() -> dict:
    if not (REPO / "out" / "src" / "engine" / "main.js").is_file():
        raise RuntimeError("the engine is not compiled: run `npx tsc -p .` first")
    # The torch engine follows its own device rule (a GPU when there is one): float32 either way.
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    return {
        "embedded": Engine(["node", str(REPO / "out" / "src" / "engine" / "main.js"), "--backend", "cpu"]),
        "torch": Engine([sys.executable, "-m", "dpo_studio.engine"], env=env),
    }


@pytest.fixture(scope="module")
def scored(tmp_root):
    """Per model: transformers' reference scores and each engine's, over every example."""
    engines = start_engines()
    out = {}
    try:
        for kind in MODELS:
            d, tok = make_reward_model(kind, tmp_root / f"reward-{kind}")
            hf = tr.AutoModelForSequenceClassification.from_pretrained(d, dtype=torch.float32).eval()
            examples = [(p, r.format(eos=tok.eos_token), c, m) for p, r, c, m in EXAMPLES]
            ids = [trl_ids(tok, p, r, c, m, tmp_root) for p, r, c, m in examples]
            result = {"tok": tok, "hf": hf, "examples": examples, "ids": ids, "ref": [hf_score(hf, x) for x in ids]}
            for name, eng in engines.items():
                loaded = eng.request("reward-model/load", {"dir": str(d)})
                assert loaded["ok"], f"{name}: {loaded.get('error')}"
                result[f"{name}-load"] = loaded["result"]
                result[name] = []
                for p, r, c, m in examples:
                    params = {"prompt": p, "chat": c, "response": r, **({"messages": m} if m else {})}
                    a = eng.request("reward-model/score", params)
                    assert a["ok"], f"{name} {kind} {params}: {a.get('error')}"
                    result[name].append(a["result"]["score"])
            out[kind] = result
    finally:
        for eng in engines.values():
            eng.close()
    return out


@pytest.mark.parametrize("engine_name", ["embedded", "torch"])
@pytest.mark.parametrize("kind", list(MODELS))
def test_scores_equal_transformers_on_trl_text(kind, engine_name, scored, record_property):
    s = scored[kind]
    worst = 0.0
    for ex, ours, ref in zip(s["examples"], s[engine_name], s["ref"], strict=True):
        err = abs(ours - ref)
        assert err <= 1e-4 * max(1.0, abs(ref)), f"{kind} {ex}: {engine_name} {ours} vs transformers {ref}"
        worst = max(worst, err)
    # Random weights give every text its own score: equal scores would mean the texts were not read.
    assert len({round(x, 4) for x in s["ref"]}) == len(s["ref"])
    record_property("max_abs_err", worst)
    print(f"{kind} {engine_name}: max |score - transformers| {worst:.2e} over {len(s['ref'])} texts")


@pytest.mark.parametrize("kind", list(MODELS))
def test_load_reports_the_classifier(kind, scored):
    for name in ("embedded", "torch"):
        info = scored[kind][f"{name}-load"]
        assert info["architecture"] == MODELS[kind][1]
        assert info["chatTemplate"] is True
    # Base and head alike: the embedded engine counts what transformers counts.
    assert scored[kind]["embedded-load"]["parameters"] == scored[kind]["torch-load"]["parameters"]


def test_the_trl_text_matters(scored):
    """What the test can tell apart: with a pad of its own the appended EOS is pooled (a score
    without it differs), and with pad = EOS the token before it is (the same score either way)."""
    for kind, differs in (("llama", True), ("gpt2", False)):
        s = scored[kind]
        ids = s["ids"][0]
        assert ids[-1] == s["tok"].eos_token_id
        without = hf_score(s["hf"], ids[:-1])
        assert (abs(without - s["ref"][0]) > 1e-3) is differs, kind

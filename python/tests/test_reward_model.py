"""reward-model/* on the torch engine: TRL's text (EOS appended once, the chat template), the SEQ_CLS
LoRA adapter RewardTrainer saves with a peft_config (merged on load, scoring as the unmerged
PeftModel), each refusal (not a classifier, two labels, an adapter of another task or without its
head, no tokenizer, a head missing from the weights, pickle weights) naming the file and what to do,
and the requests over stdio with the engine living on.
The scores themselves are checked against transformers in reference/test_reward_model.py."""

import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
import torch
import transformers as tr

from dpo_studio.reward_model import RewardModelError, RewardModelSession, reward_input_ids

ENV = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), ".."), "CUDA_VISIBLE_DEVICES": ""}
TOKENIZER = ("tokenizer.json", "tokenizer_config.json")


@pytest.fixture(scope="module")
def reward_dir(models, tmp_path_factory):
    """A GPT-2 sequence classifier with one label on the tiny model's tokenizer, as TRL saves one."""
    d = tmp_path_factory.mktemp("reward") / "rm"
    tok = tr.AutoTokenizer.from_pretrained(models["gpt2"])
    config = tr.GPT2Config(
        vocab_size=len(tok), n_embd=32, n_layer=1, n_head=2, n_positions=128, num_labels=1, pad_token_id=tok.pad_token_id
    )
    torch.manual_seed(0)
    tr.GPT2ForSequenceClassification(config).save_pretrained(d)
    tok.save_pretrained(d)
    return str(d)


def variant(src: str, dst, change=None) -> str:
    shutil.copytree(src, dst)
    if change:
        path = os.path.join(dst, "config.json")
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        change(raw)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(raw, f)
    return str(dst)


def test_trl_text(reward_dir):
    tok = tr.AutoTokenizer.from_pretrained(reward_dir)
    eos = tok.eos_token
    plain = reward_input_ids(tok, "Hi", False, " there")
    assert plain == tok("Hi there" + eos)["input_ids"] and plain[-1] == tok.eos_token_id
    assert reward_input_ids(tok, "Hi", False, " there" + eos) == plain  # no second EOS
    chat = reward_input_ids(tok, "Hi", True, "Hello!")
    rendered = tok.apply_chat_template([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}], tokenize=False)
    assert chat == tok.encode(rendered, add_special_tokens=False)
    conv = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert reward_input_ids(tok, "ignored", True, "Yo", conv) != reward_input_ids(tok, "Hi", True, "Yo")


def test_scores_are_transformers_pooled_scores(reward_dir):
    s = RewardModelSession()
    info = s.load(reward_dir)
    assert info["architecture"] == "GPT2ForSequenceClassification" and info["chatTemplate"] is True
    hf = tr.AutoModelForSequenceClassification.from_pretrained(reward_dir).eval()
    ids = reward_input_ids(s.tok, "The sky is", False, " blue")
    with torch.no_grad():
        want = float(hf(input_ids=torch.tensor([ids])).logits[0, 0])
    assert s.score("The sky is", False, " blue")["score"] == pytest.approx(want, abs=1e-6)
    assert s.score("The sky is", False, " green")["score"] != pytest.approx(want, abs=1e-6)
    assert info["parameters"] == sum(p.numel() for p in hf.parameters())


def test_refusals_name_the_file_and_what_to_do(reward_dir, models, tmp_path):
    cases = [
        (models["gpt2"], r"architectures is \[\"GPT2LMHeadModel\"\], not a sequence classifier"),
        (variant(reward_dir, tmp_path / "two", lambda r: r.update(id2label={"0": "bad", "1": "good"})), r"num_labels is 2 .*one label"),
        (str(tmp_path / "nowhere"), r"not a folder"),
    ]
    adapter = tmp_path / "causal-adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "task_type": "CAUSAL_LM"}))
    cases.append((str(adapter), r'task_type is "CAUSAL_LM", not "SEQ_CLS"'))
    no_tok = variant(reward_dir, tmp_path / "no-tok")
    for f in os.listdir(no_tok):
        if f.startswith("tokenizer") or f in ("vocab.json", "merges.txt", "special_tokens_map.json", "chat_template.jinja"):
            os.remove(os.path.join(no_tok, f))
    cases.append((no_tok, r"no tokenizer .*tokenizer.save_pretrained"))
    # A classifier config over a causal LM's weights: the head would be random, so refused.
    headless = variant(
        models["gpt2"], tmp_path / "headless", lambda r: r.update(architectures=["GPT2ForSequenceClassification"], id2label={"0": "L"})
    )
    cases.append((headless, r"the weights lack score\.weight"))
    pickled = variant(reward_dir, tmp_path / "pickled")
    os.rename(os.path.join(pickled, "model.safetensors"), os.path.join(pickled, "pytorch_model.bin"))
    cases.append((pickled, r"pickle weights are never loaded"))
    for d, message in cases:
        with pytest.raises(RewardModelError, match=message):
            RewardModelSession().load(d)


def seq_cls_adapter(models, out) -> tuple:
    """What RewardTrainer(peft_config=LoraConfig(task_type="SEQ_CLS")) saves on the tiny GPT-2: the
    adapter, its score head (modules_to_save) and the tokenizer; and the PeftModel it came from."""
    from peft import LoraConfig, get_peft_model

    tok = tr.AutoTokenizer.from_pretrained(models["gpt2"])
    base = tr.AutoModelForSequenceClassification.from_pretrained(models["gpt2"], num_labels=1)
    base.config.pad_token_id = tok.pad_token_id  # as RewardTrainer sets it before training
    torch.manual_seed(1)
    peft_model = get_peft_model(base, LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["c_attn"]))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name or "score" in name:  # a trained adapter: neither is zero
                p.normal_(0, 0.5)
    peft_model.save_pretrained(out)
    tok.save_pretrained(out)
    return str(out), peft_model.eval(), tok


def test_a_seq_cls_adapter_is_merged_and_scores_as_the_peft_model(models, tmp_path):
    d, peft_model, tok = seq_cls_adapter(models, tmp_path / "adapter")
    s = RewardModelSession()
    info = s.load(d)
    assert info["architecture"] == "GPT2ForSequenceClassification"
    for prompt, chat, response in [("The sky is", False, " blue"), ("Hi", True, "Hello there")]:
        ids = reward_input_ids(tok, prompt, chat, response)
        with torch.no_grad():
            want = float(peft_model(input_ids=torch.tensor([ids])).logits[0, 0])
        assert s.score(prompt, chat, response)["score"] == pytest.approx(want, abs=1e-5)
    # Without its score head the adapter would score with a random one: refused.
    from safetensors.torch import load_file, save_file

    headless = variant(d, tmp_path / "adapter-headless")
    weights = os.path.join(headless, "adapter_model.safetensors")
    save_file({k: v for k, v in load_file(weights).items() if "score" not in k}, weights)
    with pytest.raises(RewardModelError, match=r"no score head \(modules_to_save\)"):
        RewardModelSession().load(headless)
    moved = variant(d, tmp_path / "adapter-lost-base")
    cfg = os.path.join(moved, "adapter_config.json")
    with open(cfg, encoding="utf-8") as f:
        raw = json.load(f)
    with open(cfg, "w", encoding="utf-8") as f:
        json.dump({**raw, "base_model_name_or_path": str(tmp_path / "gone")}, f)
    with pytest.raises(RewardModelError, match=r"base_model_name_or_path .* is not a folder here"):
        RewardModelSession().load(moved)


def test_requests_over_stdio_and_the_engine_lives_on(reward_dir, tmp_path):
    p = subprocess.Popen(
        [sys.executable, "-m", "dpo_studio.engine"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV
    )
    watchdog = threading.Timer(240, p.kill)
    watchdog.daemon = True
    watchdog.start()

    def ask(id_: int, type_: str, params: dict) -> dict:
        p.stdin.write((json.dumps({"kind": "request", "id": id_, "type": type_, "params": params}) + "\n").encode())
        p.stdin.flush()
        while True:
            line = p.stdout.readline()
            assert line, "the engine exited"
            m = json.loads(line)
            if m["kind"] == "reply" and m["id"] == id_:
                return m

    try:
        early = ask(1, "reward-model/score", {"prompt": "a", "chat": False, "response": "b"})
        assert early == {"kind": "reply", "id": 1, "ok": False, "error": "no reward model loaded: send reward-model/load first"}
        bad = ask(2, "reward-model/load", {"dir": str(tmp_path / "nothing")})
        assert not bad["ok"] and "not a folder" in bad["error"]
        loaded = ask(3, "reward-model/load", {"dir": reward_dir})
        assert loaded["ok"], loaded.get("error")
        refused = ask(6, "reward-model/load", {"dir": str(tmp_path / "nothing")})
        assert not refused["ok"]  # and the model loaded before stays
        scored = ask(
            4, "reward-model/score", {"prompt": "Hi", "chat": True, "response": "Hello", "messages": [{"role": "user", "content": "Hi"}]}
        )
        assert scored["ok"], scored.get("error")
        s = RewardModelSession()
        s.load(reward_dir)
        assert scored["result"]["score"] == pytest.approx(s.score("Hi", True, "Hello")["score"], abs=1e-6)
        typo = ask(5, "reward-model/score", {"prompt": "Hi", "chat": "yes", "response": "x"})  # schema: chat is a boolean
        assert not typo["ok"]
    finally:
        p.stdin.close()
        assert p.wait(timeout=60) == 0
        watchdog.cancel()

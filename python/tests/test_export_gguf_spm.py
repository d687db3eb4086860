"""dpo export-gguf of SentencePiece tokenizers without llama.cpp: the pieces, scores, token types and
special ids the file holds, read back with gguf's reader against sentencepiece's own model, the same
vocabulary from tokenizer.json alone, and each tokenizer llama.cpp cannot follow refused by name. The
llama.cpp proof is test/unit/cli/export-gguf-spm.test.ts."""

import io
import json
import sys
from pathlib import Path

import gguf
import pytest
import sentencepiece as spm
import transformers as tr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from gguf_spm import make_folder  # noqa: E402
from make_tokenizers import corpus, save, unigram  # noqa: E402

from dpo_studio.export_gguf import export  # noqa: E402
from dpo_studio.export_gguf_arch import ExportError  # noqa: E402
from dpo_studio.export_gguf_vocab import add_tokenizer  # noqa: E402

T = gguf.TokenType


def _fields(path: Path) -> dict:
    return {k: f.contents() for k, f in gguf.GGUFReader(path).fields.items() if k.startswith("tokenizer.")}


def _tokenizer_only(folder: Path) -> None:
    """Writes the tokenizer keys of `folder` to a GGUF writer that is never saved (no weights needed)."""
    tok = tr.AutoTokenizer.from_pretrained(folder)
    add_tokenizer(gguf.GGUFWriter(None, "llama"), str(folder), tok, len(tok))


def test_llama_style_pieces_scores_and_types_are_sentencepieces(tmp_path):
    folder, model_file = make_folder("llama2-spm", tmp_path / "llama2-spm")
    export(str(folder), str(tmp_path / "m.gguf"), "f32", write_modelfile=False)
    f = _fields(tmp_path / "m.gguf")
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    assert f["tokenizer.ggml.model"] == "llama" and f["tokenizer.ggml.pre"] == "default"
    assert f["tokenizer.ggml.tokens"] == [sp.IdToPiece(i) for i in range(sp.vocab_size())]
    assert f["tokenizer.ggml.scores"] == pytest.approx([sp.GetScore(i) for i in range(sp.vocab_size())])
    types = f["tokenizer.ggml.token_type"]
    pieces = f["tokenizer.ggml.tokens"]
    kinds = {p: T(types[pieces.index(p)]) for p in ("<unk>", "<s>", "</s>", "[INST]", "<0x0A>", "\u2581the")}
    assert kinds == {
        "<unk>": T.UNKNOWN,
        "<s>": T.CONTROL,
        "</s>": T.CONTROL,
        "[INST]": T.USER_DEFINED,
        "<0x0A>": T.BYTE,
        "\u2581the": T.NORMAL,
    }
    assert sum(t == T.BYTE for t in types) == 256
    ids = {k: f[f"tokenizer.ggml.{k}_token_id"] for k in ("bos", "eos", "unknown")}
    assert ids == {"bos": 1, "eos": 2, "unknown": 0}
    assert f["tokenizer.ggml.add_bos_token"] is True and f["tokenizer.ggml.add_eos_token"] is False
    assert f["tokenizer.ggml.add_space_prefix"] is True
    assert "[INST]" in f["tokenizer.chat_template"]


def test_gemma_style_has_no_space_prefix_and_its_own_ids(tmp_path):
    folder, _ = make_folder("gemma2-spm", tmp_path / "gemma2-spm")
    export(str(folder), str(tmp_path / "g.gguf"), "f32", write_modelfile=False)
    f = _fields(tmp_path / "g.gguf")
    assert f["tokenizer.ggml.add_space_prefix"] is False
    ids = {k: f[f"tokenizer.ggml.{k}_token_id"] for k in ("padding", "eos", "bos", "unknown")}
    assert ids == {"padding": 0, "eos": 1, "bos": 2, "unknown": 3}
    pieces, types = f["tokenizer.ggml.tokens"], f["tokenizer.ggml.token_type"]
    assert T(types[pieces.index("<start_of_turn>")]) == T.USER_DEFINED


def test_tokenizer_json_alone_gives_the_same_vocabulary_scored_by_merge_rank(tmp_path):
    with_model, _ = make_folder("llama2-spm", tmp_path / "a")
    json_only, _ = make_folder("mistral-json", tmp_path / "b")
    assert not (json_only / "tokenizer.model").exists()
    w1, w2 = gguf.GGUFWriter(None, "llama"), gguf.GGUFWriter(None, "llama")
    for w, folder in ((w1, with_model), (w2, json_only)):
        tok = tr.AutoTokenizer.from_pretrained(folder)
        add_tokenizer(w, str(folder), tok, len(tok))
    kv1, kv2 = (w.kv_data[0] for w in (w1, w2))
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.add_space_prefix", "tokenizer.ggml.bos_token_id"):
        assert kv1[key].value == kv2[key].value, key
    # SentencePiece BPE scores each merged piece by when it was learnt; tokenizer.json keeps that order
    # in its merges: both rank the merged pieces alike.
    tokens, s1, s2 = kv1["tokenizer.ggml.tokens"].value, kv1["tokenizer.ggml.scores"].value, kv2["tokenizer.ggml.scores"].value
    merged = [i for i, t in enumerate(tokens) if s2[i] < 0]
    assert len(merged) > 100
    assert sorted(merged, key=lambda i: -s1[i]) == sorted(merged, key=lambda i: -s2[i])


def test_tokenizer_json_whose_merges_llama_cpp_would_extend_is_refused(tmp_path):
    folder, _ = make_folder("mistral-json", tmp_path / "b")
    spec = json.loads((folder / "tokenizer.json").read_text())
    merges = spec["model"]["merges"]
    dropped = merges.pop(len(merges) // 2)
    (folder / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(ExportError, match=r"tokenizer\.json: merges lack .* llama\.cpp would merge them") as e:
        _tokenizer_only(folder)
    pair = dropped if isinstance(dropped, list) else dropped.split(" ")
    assert repr(pair[0]) in str(e.value)


def _sentencepiece_folder(tmp_path: Path, name: str, **options) -> Path:
    model = io.BytesIO()
    base = dict(model_type="bpe", vocab_size=400, byte_fallback=True, normalization_rule_name="identity", remove_extra_whitespaces=False)
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus(300)), model_writer=model, minloglevel=2, **{**base, **options})
    folder = tmp_path / name
    folder.mkdir()
    (folder / "tokenizer.model").write_bytes(model.getvalue())
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>"})
    )
    return folder


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"normalization_rule_name": "nmt_nfkc"},
            r"tokenizer\.model: normalizer_spec\.name 'nmt_nfkc': llama\.cpp applies no normalization",
        ),
        ({"remove_extra_whitespaces": True}, "remove_extra_whitespaces is true; llama.cpp keeps every space"),
        ({"model_type": "unigram", "vocab_size": 350}, "model_type UNIGRAM: llama.cpp's llama tokenizer merges pieces by score"),
        ({"byte_fallback": False}, r"no byte fallback \(256 of the 256 byte pieces missing, e\.g\. <0x00>\)"),
    ],
)
def test_sentencepiece_models_llama_cpp_cannot_follow_are_refused_by_name(tmp_path, options, message):
    with pytest.raises(ExportError, match=message):
        _tokenizer_only(_sentencepiece_folder(tmp_path, "sp", **options))


def test_unigram_and_wordpiece_tokenizer_json_are_refused_by_name(tmp_path):
    save(unigram(), tmp_path / "unigram")
    with pytest.raises(ExportError, match="tokenizer.json: a Unigram tokenizer: llama.cpp's llama tokenizer merges pieces by score"):
        _tokenizer_only(tmp_path / "unigram")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    wp = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    wp.train_from_iterator(corpus(100), trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[UNK]"], show_progress=False))
    save(wp, tmp_path / "wordpiece")
    with pytest.raises(ExportError, match="model 'WordPiece' .* is neither byte-level BPE .* nor SentencePiece BPE with byte fallback"):
        _tokenizer_only(tmp_path / "wordpiece")

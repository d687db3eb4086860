"""SentencePiece-style tokenizers (Llama 2, Mistral v0.1, TinyLlama, Phi-3, Gemma) as llama.cpp's "llama"
tokenizer reads them from GGUF: pieces, scores, token types, the space prefix. From tokenizer.model (through
gguf's SentencePieceVocab) when the folder has one, else from a tokenizer.json BPE with byte fallback.
Byte-level BPE is in export_gguf_vocab.py, which calls this; the special ids and template are written there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import gguf

from .export_gguf_arch import ExportError

SPACE = "\u2581"  # SentencePiece's visible space
BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")
ADDED_SCORE = -1000.0  # what gguf's own vocab classes give added tokens (never chosen by a merge)
UNIGRAM_ADVICE = (
    "llama.cpp's llama tokenizer merges pieces by score like SentencePiece BPE, so a Unigram model would split text "
    "differently; export a model whose tokenizer is byte-level BPE or SentencePiece BPE with byte fallback"
)


def is_sentencepiece(tj: dict) -> bool:
    """A fast tokenizer built from SentencePiece: BPE with byte fallback, or Unigram (refused below)."""
    model = tj.get("model") or {}
    return bool(model.get("type") == "BPE" and model.get("byte_fallback")) or model.get("type") == "Unigram"


def _check_text_handling(tj: dict, where: str) -> None:
    """llama.cpp's llama tokenizer only turns spaces into \u2581 (after an optional prefix): refuse a
    normalizer or pre-tokenizer that does more, since its tokens would differ from transformers'."""
    norm = tj.get("normalizer")
    steps = (norm.get("normalizers", []) if norm.get("type") == "Sequence" else [norm]) if norm else []
    for s in steps:
        plain_space = s.get("type") == "Replace" and (s.get("pattern") or {}).get("String") == " " and s.get("content") == SPACE
        if not (plain_space or (s.get("type") == "Prepend" and s.get("prepend") == SPACE)):
            raise ExportError(
                f"{where}: normalizer {s.get('type')!r}: llama.cpp's SentencePiece tokenizer applies no normalization; "
                "only a tokenizer that maps spaces to \u2581 and nothing else exports"
            )
    pre = tj.get("pre_tokenizer")
    metaspace = pre and pre.get("type") == "Metaspace" and pre.get("replacement") == SPACE and not pre.get("split", True)
    # Gemma's split on " " comes after the normalizer has turned every space into ▁: it splits nothing.
    spaces_gone = any(s.get("type") == "Replace" for s in steps)
    no_op_split = pre and pre.get("type") == "Split" and (pre.get("pattern") or {}).get("String") == " " and spaces_gone
    if pre and not (metaspace or no_op_split):
        raise ExportError(
            f"{where}: pre_tokenizer {pre.get('type')!r}: llama.cpp's SentencePiece tokenizer does not split text before merging"
        )


def _check_model_file(path: Path) -> None:
    """The trainer and normalizer settings of tokenizer.model that llama.cpp cannot reproduce."""
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2  # generated protobuf code: no type stubs

    proto = pb.ModelProto()
    proto.ParseFromString(path.read_bytes())
    if proto.trainer_spec.model_type != pb.TrainerSpec.BPE:
        kind = pb.TrainerSpec.ModelType.Name(proto.trainer_spec.model_type)
        raise ExportError(f"{path}: model_type {kind}: {UNIGRAM_ADVICE}")
    spec = proto.normalizer_spec
    if spec.name != "identity":
        raise ExportError(
            f"{path}: normalizer_spec.name {spec.name!r}: llama.cpp applies no normalization (Llama 2, Mistral and Gemma use 'identity')"
        )
    if spec.remove_extra_whitespaces:
        raise ExportError(f"{path}: normalizer_spec.remove_extra_whitespaces is true; llama.cpp keeps every space")


def _from_model_file(tok_dir: str) -> list[tuple[str, float, gguf.TokenType]]:
    try:
        vocab = gguf.vocab.SentencePieceVocab(Path(tok_dir))
    except ValueError as e:  # added_tokens.json with ids that do not follow the model's pieces
        raise ExportError(f"{os.path.join(tok_dir, 'added_tokens.json')}: {e}") from None
    return [(text.decode("utf-8"), score, kind) for text, score, kind in vocab.all_tokens()]


def _from_tokenizer_json(tj: dict, where: str, unk: str | None) -> list[tuple[str, float, gguf.TokenType]]:
    """Pieces of a BPE tokenizer.json, scored so that llama.cpp's merge order is transformers' merge
    order: a piece scores minus the rank of the first merge that makes it."""
    model = tj["model"]
    vocab: dict[str, int] = model["vocab"]
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges") or []]
    rank: dict[str, int] = {}
    for r, (a, b) in enumerate(merges):
        rank.setdefault(a + b, r)
    # llama.cpp may merge any two adjacent pieces whose concatenation is a piece, as SentencePiece does;
    # transformers only merges the listed pairs. Converted SentencePiece files list every such pair.
    listed = set(merges)
    for piece in vocab:
        if piece in rank:
            for i in range(1, len(piece)):
                if piece[:i] in vocab and piece[i:] in vocab and (piece[:i], piece[i:]) not in listed:
                    raise ExportError(
                        f"{where}: merges lack ({piece[:i]!r}, {piece[i:]!r}) though both pieces and {piece!r} are in the vocabulary; "
                        "llama.cpp would merge them. Put the model's tokenizer.model (SentencePiece) in the folder instead"
                    )
    out = [(f"[PAD{i}]", ADDED_SCORE, gguf.TokenType.UNUSED) for i in range(max(vocab.values()) + 1)]
    for piece, i in vocab.items():
        kind = gguf.TokenType.BYTE if BYTE_PIECE.fullmatch(piece) else gguf.TokenType.NORMAL
        if piece == unk:
            kind = gguf.TokenType.UNKNOWN
        out[i] = (piece, float(-rank[piece]) if piece in rank else 0.0, kind)
    return out


def add_sentencepiece(w: gguf.GGUFWriter, tok_dir: str, tok: Any, tj: dict, n_vocab: int) -> None:
    """Writes tokenizer.ggml.model "llama" with tokens, scores, types and add_space_prefix."""
    model_file = Path(tok_dir) / "tokenizer.model"
    where = str(model_file) if model_file.is_file() else os.path.join(tok_dir, "tokenizer.json")
    if tj["model"].get("type") == "Unigram":
        raise ExportError(f"{where}: a Unigram tokenizer: {UNIGRAM_ADVICE}")
    _check_text_handling(tj, where)
    if model_file.is_file():
        _check_model_file(model_file)
        pieces = _from_model_file(tok_dir)
    else:
        pieces = _from_tokenizer_json(tj, where, tok.unk_token)
    # Tokens transformers adds on top (chat markers, tokens a run added): control when special, else
    # user-defined, which llama.cpp, like transformers, matches whole in any text.
    for i, added in sorted(tok.added_tokens_decoder.items()):
        kind = gguf.TokenType.CONTROL if added.special else gguf.TokenType.USER_DEFINED
        if i < len(pieces):
            if pieces[i][0] != added.content:
                raise ExportError(f"{where}: token {i} is {pieces[i][0]!r} but transformers adds {added.content!r} there")
            if pieces[i][2] == gguf.TokenType.NORMAL:
                pieces[i] = (added.content, pieces[i][1], kind)
        else:
            pieces.extend([(f"[PAD{j}]", ADDED_SCORE, gguf.TokenType.UNUSED) for j in range(len(pieces), i)])
            pieces.append((added.content, ADDED_SCORE, kind))
    if len(pieces) > n_vocab:
        raise ExportError(f"{where}: {len(pieces)} tokens but the model has {n_vocab} embedding rows")
    have = {p for p, _, k in pieces if k == gguf.TokenType.BYTE}
    missing = [f"<0x{b:02X}>" for b in range(256) if f"<0x{b:02X}>" not in have]
    if missing:
        raise ExportError(
            f"{where}: no byte fallback ({len(missing)} of the 256 byte pieces missing, e.g. {missing[0]}): llama.cpp's "
            "SentencePiece tokenizer cannot encode a character outside the vocabulary (transformers gives <unk>)"
        )
    # Rows the tokenizer never produces (embeddings padded to a round size) get placeholder names.
    pieces.extend([(f"[PAD{j}]", ADDED_SCORE, gguf.TokenType.UNUSED) for j in range(len(pieces), n_vocab)])
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list([p for p, _, _ in pieces])
    w.add_token_scores([s for _, s, _ in pieces])
    w.add_token_types([k for _, _, k in pieces])
    # The space SentencePiece puts before the text (Llama 2: yes; Gemma: no), as transformers encodes it.
    first = tok.convert_ids_to_tokens(tok("a", add_special_tokens=False)["input_ids"])
    w.add_add_space_prefix(bool(first) and first[0].startswith(SPACE))

"""Each token's own text in a scored answer, from the answer decoded one token longer at a time: the
torch engine's copy of src/protocol/token-text.ts, held to the same cases by test/conformance/token-text.
Pure; the decoding itself is the tokenizer's."""

REPLACEMENT = "\ufffd"  # what a decoder writes for bytes that are not (yet) a whole UTF-8 character


def token_texts(prefixes: list[str], alone: list[str]) -> list[dict]:
    """`prefixes[i]` is tokens 0..i decoded together, `alone[i]` token i decoded on its own (used only
    where a decoder rewrites earlier text). A prefix that ends in replacement characters ends
    mid-character: they are left to the token that finishes the character, so the texts join to the
    answer; a piece gets text "" and partOf (that character) or unfinished (the answer stops first)."""
    n = len(prefixes)
    # The last prefix is taken as it is: a replacement character there is what the answer holds.
    settled = [p if i == n - 1 else p.rstrip(REPLACEMENT) for i, p in enumerate(prefixes)]
    out: list[dict] = []
    prev = ""
    for i, s in enumerate(settled):
        out.append({"text": s[len(prev) :] if s.startswith(prev) else alone[i]})
        prev = s  # after a decoder rewrote earlier text, go on from what it holds now
    for i, t in enumerate(out):
        if t["text"] or not prefixes[i].endswith(REPLACEMENT):
            continue
        done = next((u["text"] for u in out[i + 1 :] if u["text"]), "")
        if not done or done[0] == REPLACEMENT:
            t["unfinished"] = True
        else:
            t["partOf"] = done[0]
    return out

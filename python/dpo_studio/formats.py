"""The other preference formats, read as TRL's {prompt, chosen, rejected}: the chat-completions
preference format ({"input": {"messages"}, "preferred_output", "non_preferred_output"}) and Anthropic
HH transcripts ("chosen"/"rejected" without "prompt", split at the last shared "\\n\\nAssistant:").
The same rules as src/protocol/preference-formats.ts (a test pins both on the same lines)."""

HH_ASSISTANT = "\n\nAssistant:"


def detect_format(o: dict) -> str:
    if "preferred_output" in o or "non_preferred_output" in o or ("input" in o and "prompt" not in o):
        return "chat-completions"
    if (
        "prompt" not in o
        and "responses" not in o
        and isinstance(o.get("chosen"), str)
        and isinstance(o.get("rejected"), str)
        and HH_ASSISTANT in o["chosen"]
    ):
        return "hh"
    return "trl"


def split_hh(chosen: str, rejected: str) -> dict | None:
    common = 0
    while common < min(len(chosen), len(rejected)) and chosen[common] == rejected[common]:
        common += 1
    if common < len(HH_ASSISTANT):
        return None
    at = chosen.rfind(HH_ASSISTANT, 0, common)
    if at < 0:
        return None
    end = at + len(HH_ASSISTANT)
    return {"prompt": chosen[:end], "chosen": chosen[end:], "rejected": rejected[end:]}


def to_trl_fields(o: dict) -> tuple:
    """(fields, None) or (None, (field, problem))."""
    fmt = detect_format(o)
    if fmt == "chat-completions":
        messages = o.get("input", {}).get("messages") if isinstance(o.get("input"), dict) else None
        if not isinstance(messages, list):
            return None, ("input.messages", 'chat-completions format: expected "input": {"messages": [...]}')
        for f in ("preferred_output", "non_preferred_output"):
            if not isinstance(o.get(f), list):
                return None, (f, 'chat-completions format: expected a list of {"role", "content"} messages')
        return {**o, "prompt": messages, "chosen": o["preferred_output"], "rejected": o["non_preferred_output"]}, None
    if fmt == "hh":
        split = split_hh(o["chosen"], o["rejected"])
        if split is None:
            return None, (
                "chosen",
                'HH format: "chosen" and "rejected" share no prompt ending in "\\n\\nAssistant:" (add "prompt" to use TRL\'s format)',
            )
        return {**o, **split}, None
    return o, None

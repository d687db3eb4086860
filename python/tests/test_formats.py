"""The torch engine reads the chat-completions and HH formats as the TypeScript reader does
(src/protocol/preference-formats.ts; the same lines as test/unit/protocol/preference-formats.test.ts)."""

import json

import pytest

from dpo_studio.data import DataError, read_pairs

CHAT = {
    "input": {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi?"}]},
    "preferred_output": [{"role": "assistant", "content": "hello"}],
    "non_preferred_output": [{"role": "assistant", "content": "go away"}],
}
HH = {
    "chosen": "\n\nHuman: what is 2+2?\n\nAssistant: 4\n\nHuman: and 3+3?\n\nAssistant: 6",
    "rejected": "\n\nHuman: what is 2+2?\n\nAssistant: 4\n\nHuman: and 3+3?\n\nAssistant: no idea",
}


def test_chat_completions_and_hh_lines_become_prompt_chosen_rejected(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(CHAT) + "\n" + json.dumps(HH) + "\n")
    rows, problems, _ = read_pairs(str(f), skip_bad_lines=False, completions=False)
    assert problems == []
    assert [rows[0][k] for k in ("prompt", "chosen", "rejected")] == [
        CHAT["input"]["messages"],
        CHAT["preferred_output"],
        CHAT["non_preferred_output"],
    ]
    assert rows[1]["prompt"] == "\n\nHuman: what is 2+2?\n\nAssistant: 4\n\nHuman: and 3+3?\n\nAssistant:"
    assert [rows[1]["chosen"], rows[1]["rejected"]] == [" 6", " no idea"]


def test_bad_lines_name_their_own_fields(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"input": {"messages": []}, "preferred_output": "x", "non_preferred_output": []}) + "\n")
    with pytest.raises(DataError, match="d.jsonl:1: field 'preferred_output': chat-completions format"):
        read_pairs(str(f), skip_bad_lines=False, completions=False)

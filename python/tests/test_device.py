"""The device words the torch engine reports."""

from dpo_studio.device import describe_device


def test_cpu_device_label_matches_the_handshake() -> None:
    # The status bar (from the handshake's device) and the metrics panel (from status records) say the same.
    d = describe_device()
    if d["device"] == "cpu":
        assert d["label"] == "cpu"
        assert d["threads"] >= 1
    else:
        assert d["label"].startswith(d["device"] + " ")

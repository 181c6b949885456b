"""Mail nobody here wrote: talon's and flanker's own fixtures, with their projects' expectations.

The files and expected.json are in ../shared/corpora/peer_inbound/ (see its README.md): per
message the kind, and for human replies the phrases the stripped text must keep (`must`) and
must lose (`must_not`), from the assertions of the project the fixture comes from.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from outreach.inbox.classify import Classification, classify
from tests.outside_corpora import peer_corpus


@cache
def _cases() -> dict[str, tuple[dict[str, Any], Classification]]:
    folder = peer_corpus()
    expected: dict[str, dict[str, Any]] = json.loads(
        (folder / "expected.json").read_text(encoding="utf-8")
    )
    return {name: (exp, classify((folder / name).read_bytes())) for name, exp in expected.items()}


def _flat(text: str | None) -> str:
    return " ".join((text or "").split())


def test_every_peer_message_gets_its_expected_kind() -> None:
    cases = _cases()
    wrong = {
        name: f"{c.kind.value} ({c.reason}), expected {exp['kind']}"
        for name, (exp, c) in cases.items()
        if c.kind.value != exp["kind"]
    }
    assert len(cases) == 22
    assert wrong == {}


def test_every_peer_reply_keeps_its_must_phrases_and_loses_its_must_not_phrases() -> None:
    problems: dict[str, dict[str, list[str]]] = {}
    for name, (exp, c) in _cases().items():
        if exp["kind"] != "reply":
            continue
        text = _flat(c.text)
        lost = [phrase for phrase in exp["must"] if _flat(phrase) not in text]
        kept = [phrase for phrase in exp["must_not"] if _flat(phrase) in text]
        if lost or kept:
            problems[name] = {"lost": lost, "kept": kept, "text": [text[:200]]}
    assert problems == {}

"""flufl.bounce's 117 real bounce samples: filed as bounces, its non-bounces left alone.

The samples come from the flufl.bounce 6.0.0 sdist that `scripts/corpora.sh` fetches (see
tests/outside_corpora.py). Its own tests (tests/test_detectors.py) say which samples are not
bounces and which addresses each bounce names; we read the addresses from that file itself.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from outreach.inbox.classify import Classification, InboundKind, classify
from tests.outside_corpora import flufl_release

SAMPLES = 117
# What flufl.bounce's tests say is not a bounce, with the kind a careful reader gives it.
NOT_BOUNCES = {
    # test_detectors.py: "Not a bounce but has confused groupwise." A hotel's answer
    # ("RE: Vuille", Outlook, quoting the original in Spanish).
    "groupwise_03.txt": InboundKind.REPLY,
    # test_detectors.py expects no address from the qmail detector; its X-Comment says the
    # detector once crashed on it (LP: 1074592). It is an auto-reply: "Precedence:
    # auto_reply", subject "Auto reply", "Gracias por contactar con nosotros".
    "qmail_08.txt": InboundKind.AUTO_REPLY,
}
# Bounces we do not file as bounces, and why.
MISSED = {
    # A gateway's notice with the subject "RE: ... : non remis (delivery failed)" from an
    # ordinary address, with no machine header at all: by its header it is a person's answer
    # to a letter, and doubt favours a reply.
    "simple_20.txt": "its header is a person's: an RE: subject from an ordinary address",
}


@cache
def _verdicts() -> dict[str, Classification]:
    data = flufl_release() / "tests" / "data"
    return {p.name: classify(p.read_bytes()) for p in sorted(data.glob("*.txt"))}


def _named_addresses(release: Path) -> dict[str, set[str]]:
    """Per sample, the failed addresses flufl.bounce's detector tests expect (lower-case)."""
    tree = ast.parse((release / "tests" / "test_detectors.py").read_text(encoding="utf-8"))
    table = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "DETECTORS" for t in node.targets)
    )
    named: dict[str, set[str]] = {}
    for _detector, sample, addresses, _temporary in ast.literal_eval(table):
        named.setdefault(sample, set()).update(a.decode().lower() for a in addresses)
    return named


def test_the_release_holds_117_samples() -> None:
    assert len(_verdicts()) == SAMPLES


def test_at_least_95_percent_of_the_bounce_samples_are_filed_as_bounces() -> None:
    verdicts = _verdicts()
    bounces = {name: c for name, c in verdicts.items() if name not in NOT_BOUNCES}
    filed = sorted(name for name, c in bounces.items() if c.kind is InboundKind.BOUNCE)
    missed = {
        name: f"{c.kind.value}: {c.reason}" for name, c in bounces.items() if name not in filed
    }
    share = len(filed) / len(bounces)
    print(
        f"flufl.bounce samples filed as bounces: {len(filed)}/{SAMPLES}, "
        f"{share:.1%} of the {len(bounces)} that are bounces; not filed: {missed}"
    )
    assert share >= 0.95, missed
    assert set(missed) == set(MISSED), missed


def test_the_samples_flufl_says_are_not_bounces_get_their_own_kind() -> None:
    verdicts = _verdicts()
    assert {name: verdicts[name].kind for name in NOT_BOUNCES} == NOT_BOUNCES


def test_each_bounce_names_the_addresses_flufl_bounce_finds_in_it() -> None:
    verdicts = _verdicts()
    lost: dict[str, list[str]] = {}
    for sample, expected in _named_addresses(flufl_release()).items():
        if not expected or sample in MISSED or sample in NOT_BOUNCES:
            continue
        bounce = verdicts[sample].bounce
        found = set(bounce.addresses) if bounce else set()
        if not expected <= found:
            lost[sample] = sorted(expected - found)
    assert lost == {}

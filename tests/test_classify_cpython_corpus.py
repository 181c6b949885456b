"""CPython's own email test messages (Lib/test/test_email/data/msg_*.txt, 48 files).

Each classifies without reaching the catch-all, none is quarantined unless it is really
malformed, and each gets the kind a careful reader gives it. The files are read from the
running interpreter's standard library (see tests/outside_corpora.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.inbox.classify import InboundKind, classify
from tests.outside_corpora import cpython_email_messages

REPLY, AUTO, BOUNCE, UNKNOWN = (
    InboundKind.REPLY,
    InboundKind.AUTO_REPLY,
    InboundKind.BOUNCE,
    InboundKind.UNKNOWN,
)
# Really malformed, so quarantined: the only one of the 48.
QUARANTINED = {
    # A digest's body without any header: not a message (RFC 5322 §3.6 requires From, Date).
    "msg_19.txt": "no RFC 5322 header block",
}
KINDS = {
    **{f"msg_{n:02d}.txt": REPLY for n in range(1, 48)},
    # Nobody wrote any text: empty parts, a forwarded message/rfc822 alone, a digest of
    # message/rfc822 parts, parts of unknown text/x-* types.
    **{
        f"msg_{n}.txt": UNKNOWN
        for n in ("06", "08", "09", "11", "12", "12a", "18", "24", "28", "30", "37", "46")
    },
    "msg_16.txt": BOUNCE,  # an RFC 3464 report from postmaster: "Delivery has failed"
    "msg_19.txt": UNKNOWN,  # quarantined, above
    # Sendmail's "Returned mail: Too many hops" DSN; its boundary parameter is cut short
    # ("bo"), so no part can be split off: still a bounce, read from the unsplit text.
    "msg_25.txt": BOUNCE,
    "msg_43.txt": BOUNCE,  # an RFC 3464 report: 5.7.1
}
ATTACHMENT_ONLY = {"msg_17.txt", "msg_31.txt", "msg_41.txt"}  # replies for review
BULK = {"msg_32.txt", "msg_33.txt"}  # Precedence: bulk: replies for review
REVIEWED = set(QUARANTINED) | ATTACHMENT_ONLY | BULK


def _message(name: str) -> Path:
    found = {p.name: p for p in cpython_email_messages()}
    assert len(found) == 48
    return found[name]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_each_cpython_message_gets_its_kind_and_is_quarantined_only_if_malformed(
    name: str,
) -> None:
    c = classify(_message(name).read_bytes())
    assert c.kind is KINDS[name], c.reason
    if name in QUARANTINED:
        assert c.quarantined
        assert c.error is not None
        assert c.error.startswith(QUARANTINED[name])
    else:
        assert not c.quarantined, c.error
    # The catch-all names the exception ("KeyError: ..."): reaching it is a bug in classify.
    assert c.error is None or not c.error.split(":")[0].endswith(("Error", "Exception"))
    assert c.review == (name in REVIEWED), c.reason

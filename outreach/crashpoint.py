"""Named crash points for the crash-consistency tests: off unless OUTREACH_CRASH_AT names one.

RELIABILITY.md: random kills alone missed a resend-after-crash bug; the test kills the sender at
each named point. `OUTREACH_CRASH_AT=after_sending_commit:3` kills the process (SIGKILL, as a
power cut would, with no cleanup) the third time that point is reached.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

POINTS = ("after_claim", "after_rcpt", "after_sending_commit", "after_data_reply")
INBOX_POINTS = ("after_inbox_commit",)  # recorded, not yet moved out of the IMAP folder
_reached: Counter[str] = Counter()


def reach(name: str) -> None:
    """Die here if the environment asks for it."""
    wanted = os.environ.get("OUTREACH_CRASH_AT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)

"""`make demo`: the whole job on loopback, from a fresh database to the report."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_demo_sends_takes_in_replies_codes_them_and_reports(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("OUTREACH_")
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        env={**environment, "DEMO_DIR": str(folder)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout
    assert "claimed 46: sent 46" in output
    assert "taken in 7 (auto_reply 1, bounce 1, reply 5); duplicates 0; unmatched 0" in output
    assert (
        "letters: 46 sent, 1 bounced, 1 auto-replied, 5 replied; 2 not written to, "
        "1 without a letter" in output
    )
    # Coded positions on each of the three demands (supports, commits, noncommittal, declines,
    # not_addressed, uncoded).
    assert "un-fact-finding              2             0             1             1" in output
    assert "icj-order                    2             1             0             1" in output
    assert "accountability               0             1             1             1" in output
    assert (
        f"letters as sent (a Maildir: open it with mutt -f, or read the files): {folder}/sent-mail/new/"
        in output
    )
    assert f"the report: {folder}/report.html" in output
    assert len(mailbox.Maildir(folder / "sent-mail", create=False)) == 46
    assert "<html" in (folder / "report.html").read_text(encoding="utf-8")

"""Where the other projects' mail samples are, for the tests that read them by path.

* flufl.bounce 6.0.0's sdist, unpacked by `scripts/corpora.sh` (`make test` runs it) into
  `.cache/corpora/`, or under `$OUTREACH_CORPORA`. Absent: the test skips, except under CI
  (`CI` set), where it fails: a fresh clone must fetch it.
* talon's and flanker's fixtures in `../shared/corpora/peer_inbound/` beside the checkout, or
  `$OUTREACH_PEER_CORPUS`.
* CPython's own email test messages, `test/test_email/data/` of the running interpreter.
None of these files is copied into the repository.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLUFL_RELEASE = "flufl_bounce-6.0.0"
# Read at import: the autouse fixture `isolated_environment` removes OUTREACH_* variables
# before each test runs.
_CORPORA = Path(os.environ.get("OUTREACH_CORPORA", ROOT / ".cache" / "corpora"))
_PEER = Path(
    os.environ.get("OUTREACH_PEER_CORPUS", ROOT.parent / "shared" / "corpora" / "peer_inbound")
)


def _missing(what: str, how: str) -> None:
    message = f"{what} not found: {how}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must fetch it: `make test` runs scripts/corpora.sh)")
    pytest.skip(message)


def flufl_release() -> Path:
    """The unpacked flufl.bounce sdist: its tests/ and tests/data/ (117 bounce samples)."""
    release = _CORPORA / FLUFL_RELEASE
    if not (release / "tests" / "test_detectors.py").is_file():
        _missing(f"flufl.bounce samples ({release})", "run `bash scripts/corpora.sh`")
    return release


def peer_corpus() -> Path:
    """talon's and flanker's fixtures with expected.json; skips when the folder is absent."""
    if not (_PEER / "expected.json").is_file():
        pytest.skip(f"peer corpus not found at {_PEER} (set OUTREACH_PEER_CORPUS)")
    return _PEER


def cpython_email_messages() -> list[Path]:
    """CPython's msg_*.txt email test messages; skips when this Python ships no test suite."""
    folder = Path(sysconfig.get_path("stdlib")) / "test" / "test_email" / "data"
    messages = sorted(folder.glob("msg_*.txt"))
    if not messages:
        pytest.skip(f"CPython's email test messages not found in {folder} (no test package)")
    return messages

"""Terminal output is inert: what a stranger writes in a reply cannot steer the staff's terminal.

Every attack goes through the real commands, with click's own stripping of colour codes off
(`color=True`, as on a terminal), after the reply was taken in by `outreach inbox import`.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.config import load_settings
from outreach.db import make_engine
from outreach.models import Recipient
from outreach.terminal import InertStream, inert
from tests.hostile import (
    BACKSPACE,
    C1_CSI,
    CLEAR,
    OSC8,
    OVERWRITE,
    RLO,
    TITLE,
    Scene,
    make_scene,
    run,
)
from tests.smtp_server import SmtpServer

# What a terminal obeys: C0 controls but newline and tab, DEL, C1, and the bidi controls.
OBEYED = (
    {chr(code) for code in range(0x20) if chr(code) not in "\n\t\r"}
    | {chr(code) for code in range(0x7F, 0xA0)}
    | set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def assert_inert(output: str) -> None:
    """Nothing in `output` is a control a terminal would act on; CR only before LF."""
    found = sorted({f"U+{ord(char):04X}" for char in output if char in OBEYED})
    assert found == [], found
    assert "\r" not in output.replace("\r\n", "")


@pytest.fixture
def scene(tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Scene:
    for name, value in smtp_server.environment().items():
        monkeypatch.setenv(name, value)
    scene = make_scene(tmp_path, smtp_server)
    # A position whose quote overwrites itself, backspaces and clears the screen.
    coded = run(
        "replies",
        "code",
        str(scene.reply_id),
        "--demand",
        "icj-order=declines",
        "--evidence",
        f"{OVERWRITE} {BACKSPACE} {CLEAR}",
    )
    assert coded.exit_code == 0, coded.output
    return scene


def test_replies_list_shows_a_subjects_escape_sequences_as_text(scene: Scene) -> None:
    result = run("replies", "list")
    assert result.exit_code == 0
    assert_inert(result.output)
    assert "Re: appeal \\u001b[2J\\u001b]0;outreach: all sent" in result.output
    assert "\\u009b31m\\u202eevil.example\\u202c" in result.output


def test_replies_show_keeps_the_bodys_lines_and_escapes_the_rest(scene: Scene) -> None:
    result = run("replies", "show", str(scene.reply_id))
    assert result.exit_code == 0
    assert_inert(result.output)
    body = result.output.split("\n\n", 1)[1]
    assert body.splitlines() == [
        "Dear colleagues,\\u001b[2J",
        "see our \\u001b]8;;http://evil.example/\\u001b\\official page\\u001b]8;;\\u001b\\.",
        # the reader of the mail turned the lone CR into a line break; nothing overwrites
        "Our position: declines",
        "supports.",
        "\\u001b]0;outreach: all sent\\u0007\\u009b31mKind regards, \\u202eevil.example\\u202c",
        "The Embassy",
    ]
    quote = "declines\\u000dsupports no\\u0008\\u0008yes \\u001b[2J"
    assert f'position    icj-order=declines "{quote}"' in result.output


def test_replies_list_json_stays_valid_and_means_the_same(scene: Scene) -> None:
    result = run("replies", "list", "--json")
    assert_inert(result.output)
    [row] = json.loads(result.output)
    assert row["subject"] == f"Re: appeal {CLEAR}{TITLE}{C1_CSI}{RLO}"


def test_the_report_on_the_terminal_and_in_a_text_file_is_inert(scene: Scene) -> None:
    result = run("report", "spring")
    assert result.exit_code == 0
    assert_inert(result.output)
    assert "declines\\u000dsupports" in result.output
    out = scene.folder / "report.txt"
    assert run("report", "spring", "--out", str(out)).exit_code == 0
    assert_inert(out.read_text("utf-8"))


def test_a_table_stays_aligned_around_an_escaped_quote(scene: Scene) -> None:
    lines = [line for line in run("report", "spring").output.splitlines() if "│" in line]
    evidence = [line for line in lines if "icj-order" in line and "\\u001b" in line]
    assert evidence
    assert len({len(line) for line in lines if line.startswith("│ emb-")}) <= 4  # per table
    assert all(line.endswith("│") for line in evidence)


def test_a_recipient_stored_before_the_bidi_check_is_shown_escaped(scene: Scene) -> None:
    # A row imported before invisible characters were refused, with an override in its name.
    engine: Engine = make_engine(load_settings().database.url)
    with engine.begin() as connection:
        connection.execute(
            sa.update(Recipient)
            .where(Recipient.key == "emb-br-am-cda")  # type: ignore[arg-type]
            .values(family_name=f"Exemplo{RLO}", organisation=f"{OSC8}")
        )
    for args in (("recipients", "show", "emb-br-am-cda"), ("recipients", "list")):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert_inert(result.output)
        assert "Exemplo\\u202e" in result.output  # the list cuts long names short


def test_an_error_message_quoting_hostile_input_is_inert(scene: Scene) -> None:
    result = run("recipients", "list", "--where", f"kind=embassy{RLO}")
    assert result.exit_code == 64
    assert_inert(result.output)
    assert "--where kind=embassy\\u202eevil.example\\u202c: not a kind" in result.output


def test_the_raw_message_of_a_letter_keeps_its_crlf() -> None:
    assert inert("Subject: x\r\n\r\nbody\r\n") == "Subject: x\r\n\r\nbody\r\n"
    assert inert("a\rb\x1b[2J\u009b\u202e\tc\n") == "a\\u000db\\u001b[2J\\u009b\\u202e\tc\n"


def test_a_crlf_split_across_two_writes_stays_a_crlf_and_a_lone_cr_is_escaped() -> None:
    buffer = io.StringIO()
    stream = InertStream(buffer)
    stream.write("line\r")
    stream.write("\nnext\r")
    stream.write("over")
    stream.write("end\r")
    stream.finish()
    assert buffer.getvalue() == "line\r\nnext\\u000doverend\\u000d"


def test_bytes_cannot_go_round_the_escaping() -> None:
    with pytest.raises(TypeError):
        InertStream(io.StringIO()).write(b"\x1b[2J")  # type: ignore[arg-type]
    assert not hasattr(InertStream(io.StringIO()), "buffer")

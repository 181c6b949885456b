"""The stripped text of a reply: the quoted original and the signature go, in every client's form."""

from __future__ import annotations

import pytest

from outreach.inbox.classify import InboundKind, classify
from tests.inbound_mail import reply

ANSWER_RU = "Мы поддерживаем призыв к миссии ООН."
ANSWER_DE = "Wir unterstützen den Aufruf zu einer Mission der Vereinten Nationen."
ANSWER_EN = "We support the call for a UN fact-finding mission."
QUOTED = "> Excellency,\r\n>\r\n> We write to ask for your support.\r\n"
ORIGINAL = "Excellency,\r\n\r\nWe write to ask for your support.\r\n"


def _stripped(body: str, *, ctype: str = "text/plain; charset=utf-8") -> str | None:
    c = classify(reply({}, body, ctype=ctype))
    assert c.kind is InboundKind.REPLY, c.reason
    return c.text


def test_a_russian_attribution_wrapped_over_two_lines_goes() -> None:
    # Gmail for Android wraps a long attribution after the "<" of the address.
    body = (
        f"{ANSWER_RU}\r\n\r\n7 марта 2023 г., 10:02 пользователь Appeal <\r\n"
        f"appeal@outreach.example.org> написал:\r\n\r\n{QUOTED}"
    )
    assert _stripped(body) == ANSWER_RU


def test_a_russian_attribution_above_an_unquoted_original_goes() -> None:
    # Mail.ru's attribution ("..., 10:02 +01:00 от NAME <ADDRESS>:") over the original as it was.
    body = (
        f"{ANSWER_RU}\r\n\r\nВторник, 7 марта 2023, 10:02 +01:00 от Appeal "
        f"<appeal@outreach.example.org>:\r\n\r\n{ORIGINAL}"
    )
    assert _stripped(body) == ANSWER_RU


def test_a_german_attribution_wrapped_over_two_lines_goes() -> None:
    # Gmail for Android in German: "NAME <ADDRESS> schrieb am DATE:", wrapped at 76 columns.
    body = (
        f"{ANSWER_DE}\r\n\r\nAppeal <appeal@outreach.example.org> schrieb am Di., 7. März\r\n"
        f"2023, 10:02:\r\n\r\n{QUOTED}"
    )
    assert _stripped(body) == ANSWER_DE


def test_a_german_attribution_above_an_unquoted_original_goes() -> None:
    body = (
        f"{ANSWER_DE}\r\n\r\nAppeal <appeal@outreach.example.org> schrieb am Di., 7. März "
        f"2023, 10:02:\r\n{ORIGINAL}"
    )
    assert _stripped(body) == ANSWER_DE


def test_a_thunderbird_attribution_above_a_bottom_posted_answer_goes() -> None:
    body = f"On 07/03/2023 10:02, Appeal wrote:\r\n{QUOTED}\r\n{ANSWER_EN}\r\n"
    assert _stripped(body) == ANSWER_EN


def test_a_lotus_notes_header_block_goes() -> None:
    # Notes' "-----NAME <ADDRESS> schrieb: -----" line, then its own order of fields.
    body = (
        f"{ANSWER_DE}\r\n\r\n\r\n"
        '-----"Appeal" <appeal@outreach.example.org> schrieb: -----\r\n'
        "An: Erika Beispiel/Botschaft/DE@Botschaft\r\n"
        'Von: "Appeal" <appeal@outreach.example.org>\r\n'
        "Datum: 07.03.2023 10:02\r\nBetreff: Appeal: a UN fact-finding mission\r\n\r\n"
        f"{ORIGINAL}"
    )
    assert _stripped(body) == ANSWER_DE


def test_a_lotus_notes_header_table_in_html_goes() -> None:
    # Notes' HTML lays the Von:/An:/Datum:/Betreff: fields out as table rows.
    rows = "".join(
        f'<tr valign=top><td><font size=1 color=#5f5f5f face="sans-serif">{k}</font></td>'
        f'<td><font size=1 face="sans-serif">{v}</font></td></tr>'
        for k, v in [
            ("Von:", "Appeal &lt;appeal@outreach.example.org&gt;"),
            ("An:", "erika.beispiel@example.org"),
            ("Datum:", "07.03.2023 10:02"),
            ("Betreff:", "Appeal: a UN fact-finding mission"),
        ]
    )
    html = (
        f"<html><body><p>{ANSWER_DE}</p><br><br><br>"
        f"<table width=100%>{rows}</table><br><hr width=100% size=2 align=left noshade>"
        "<p>Excellency,</p><p>We write to ask for your support.</p></body></html>"
    )
    assert _stripped(html, ctype="text/html; charset=utf-8") == ANSWER_DE


@pytest.mark.parametrize(
    "line",
    [
        "Sent from my iPhone",
        "Sent from my iPad",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Отправлено с iPhone",
        "Enviado desde mi iPhone",
        "Sent from Gmail Mobile",
        "Get Outlook for Android",
    ],
)
def test_a_mobile_signature_goes(line: str) -> None:
    body = (
        f"{ANSWER_EN}\r\n\r\n{line}\r\n\r\n"
        f"On 7 Mar 2023, at 10:02, Appeal <appeal@outreach.example.org> wrote:\r\n\r\n{QUOTED}"
    )
    assert _stripped(body) == ANSWER_EN


@pytest.mark.parametrize(
    "block",
    [
        pytest.param('<div dir="ltr" class="gmail_signature">', id="gmail"),
        pytest.param('<div class="moz-signature">', id="thunderbird"),
        pytest.param('<div id="Signature">', id="outlook-web"),
    ],
)
def test_a_signature_block_marked_in_html_goes(block: str) -> None:
    html = (
        f'<div dir="ltr"><div>{ANSWER_EN}</div><br>{block}'
        "<div>Jānis Paraugs</div><div>Counsellor, Permanent Mission (fictional)</div></div>"
        '<div class="gmail_quote"><blockquote>Excellency,</blockquote></div></div>'
    )
    assert _stripped(html, ctype="text/html; charset=utf-8") == ANSWER_EN


def test_a_line_that_only_begins_like_a_mobile_signature_stays() -> None:
    body = f"{ANSWER_EN}\r\nSent from my office, as agreed with the Minister.\r\n"
    assert _stripped(body) == f"{ANSWER_EN}\nSent from my office, as agreed with the Minister."


def test_a_memo_heading_inside_the_answer_stays() -> None:
    # Fields without an address or a time are the answer's own, not a quoted original's.
    body = (
        "Please find our position below.\r\n\r\nFrom: Embassy of Examplia (fictional)\r\n\r\n"
        f"To: the signatories of the appeal\r\n\r\nSubject: Our position\r\n\r\n{ANSWER_EN}\r\n"
    )
    assert _stripped(body) == (
        "Please find our position below.\n\nFrom: Embassy of Examplia (fictional)\n\n"
        f"To: the signatories of the appeal\n\nSubject: Our position\n\n{ANSWER_EN}"
    )

"""A readable reply is read whatever its charset label says; unreadable bytes stay quarantined."""

from __future__ import annotations

import base64

from outreach.inbox.classify import InboundKind, classify
from tests.inbound_mail import reply

RUSSIAN = (
    "Уважаемые господа,\r\n\r\nМы поддерживаем призыв к миссии ООН по установлению фактов.\r\n"
)


def _encoded(body: bytes, charset: str | None) -> bytes:
    """A reply whose body is ``body`` in base64 under the given label (None: no label)."""
    ctype = f"text/plain; charset={charset}" if charset else "text/plain"
    headers = {"Content-Type": ctype, "Content-Transfer-Encoding": "base64"}
    return reply(headers, base64.encodebytes(body).decode("ascii"))


def test_a_utf8_body_labelled_big5_is_read_as_utf8() -> None:
    c = classify(_encoded(RUSSIAN.encode("utf-8"), "big5"))
    assert (c.kind, c.quarantined) == (InboundKind.REPLY, False), c.reason
    assert (
        c.text
        == "Уважаемые господа,\n\nМы поддерживаем призыв к миссии ООН по установлению фактов."
    )
    assert c.language == "ru"
    assert c.review
    assert c.reason == "human reply (check: body declared big5, read as utf-8)"


def test_a_utf8_body_under_an_unknown_label_is_read_as_utf8() -> None:
    c = classify(_encoded("Nous soutenons l'appel à une mission.".encode(), "x-unknown-8bit"))
    assert (c.kind, c.quarantined) == (InboundKind.REPLY, False), c.reason
    assert c.text == "Nous soutenons l'appel à une mission."
    assert c.reason == "human reply (check: body declared x-unknown-8bit, read as utf-8)"


def test_a_windows_1251_body_labelled_utf8_is_read_in_its_code_page() -> None:
    c = classify(_encoded(RUSSIAN.encode("cp1251"), "utf-8"))
    assert (c.kind, c.quarantined) == (InboundKind.REPLY, False), c.reason
    assert c.text is not None
    assert c.text.startswith("Уважаемые господа,")
    assert c.reason == "human reply (check: body declared utf-8, read as cp1251)"


def test_a_short_french_body_labelled_ascii_is_read_as_windows_1252() -> None:
    # A tie between code pages on so short a text: "Trиs" mixes two scripts, "Très" does not.
    c = classify(_encoded("Très bien, merci.".encode("cp1252"), "us-ascii"))
    assert c.text == "Très bien, merci."
    assert c.reason == "human reply (check: body declared us-ascii, read as cp1252)"


def test_bytes_that_read_as_noise_in_every_code_page_stay_quarantined() -> None:
    c = classify(_encoded(bytes(range(128, 256)) * 4, "utf-8"))
    assert (c.kind, c.quarantined) == (InboundKind.UNKNOWN, True)
    assert c.error is not None
    assert c.error.startswith("undecodable base64 body: not valid utf-8 (base64)")


def test_an_auto_reply_with_an_unknown_charset_is_an_auto_reply() -> None:
    # Its header decides (RFC 3834 Precedence: auto_reply); software's text is read leniently.
    body = "Gracias por contactar con nosotros, tendr\xe1s noticias nuestras.".encode("latin-1")
    raw = (
        reply({"Subject": "Auto reply", "Precedence": "auto_reply", "In-Reply-To": ""}, "").replace(
            b"charset=utf-8", b"charset=ansi_x3.110-1983"
        )
        + body
    )
    c = classify(raw)
    assert (c.kind, c.quarantined) == (InboundKind.AUTO_REPLY, False), c.reason
    assert c.reason == "auto-reply: Precedence: auto_reply, auto-reply subject"

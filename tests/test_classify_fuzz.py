"""Hypothesis: random bytes and random MIME trees never make the classifier raise."""

from __future__ import annotations

import base64
import quopri

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach.inbox.classify import Classification, InboundKind, Limits, classify

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = Limits(max_seconds=2.0)

CHARSETS = st.sampled_from(
    [
        "utf-8",
        "us-ascii",
        "iso-8859-1",
        "koi8-r",
        "windows-1251",
        "x-unknown-8bit",
        "utf-7",
        "base64",
        "zlib_codec",
        "idna",
        "",
        '"',
        "utf-8\x00",
        "ébad",
        "unicode-escape",
    ]
)
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "Precedence",
        "X-Autoreply",
        "Return-Path",
        "X-Failed-Recipients",
        "Delivered-To",
        "Content-Transfer-Encoding",
        "X-Random",
    ]
)
TEXT = st.text(max_size=200)
HEADER_TEXT = st.text(st.characters(blacklist_characters="\x00"), max_size=200)
HEADER_VALUES = st.one_of(
    HEADER_TEXT.map(lambda t: t.replace("\n", " ")),
    st.builds(
        lambda cs, t: f"=?{cs}?b?{base64.b64encode(t.encode('utf-8', 'surrogatepass')).decode()}?=",
        CHARSETS,
        TEXT,
    ),
    st.builds(lambda cs, t: f"=?{cs}?q?{t}?=", CHARSETS, HEADER_TEXT),
    st.sampled_from(
        [
            "<>",
            "<a@b>",
            "no",
            "auto-replied",
            "bulk",
            "Tue, 7 Mar 2023 10:02:13 +0100",
            "Mon, 99 Foo 0000 99:99:99 +9999",
            '"unterminated',
            "@@@",
            "<" * 50,
        ]
    ),
)
ENCODINGS = st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"])


def _encode(body: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(body)
    if cte == "quoted-printable":
        return quopri.encodestring(body)
    return body


@st.composite
def leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(
        st.sampled_from(
            [
                "text/plain",
                "text/html",
                "application/pdf",
                "message/rfc822",
                "message/delivery-status",
                "text/rfc822-headers",
                "image/png",
            ]
        )
    )
    charset = draw(CHARSETS)
    cte = draw(ENCODINGS)
    body = draw(
        st.one_of(st.binary(max_size=300), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
    )
    body = _encode(body, cte)
    if draw(st.booleans()):  # corrupt the transfer encoding
        body = body[: draw(st.integers(0, len(body)))] + b"*=\xff"
    head = f'Content-Type: {ctype}; charset="{charset}"; format=flowed\r\nContent-Transfer-Encoding: {cte}\r\n'
    return head.encode("utf-8", "surrogatepass") + b"\r\n" + body


def tree(depth: int) -> st.SearchStrategy[bytes]:
    if depth == 0:
        return leaf()

    @st.composite
    def node(draw: st.DrawFn) -> bytes:
        boundary = draw(st.sampled_from(["b1", "b2", "=_x", "", "b1 b1", "--"]))
        subtype = draw(
            st.sampled_from(
                ["mixed", "alternative", "report; report-type=delivery-status", "related", "digest"]
            )
        )
        children = draw(st.lists(st.one_of(leaf(), tree(depth - 1)), max_size=3))
        out = (
            f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\npreamble\r\n'.encode()
        )
        for child in children:
            out += f"--{boundary}\r\n".encode() + child + b"\r\n"
        if draw(st.booleans()):  # a missing or broken closing boundary
            out += f"--{boundary}--\r\n".encode()
        return out

    return node()


@st.composite
def message(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    body = draw(tree(draw(st.integers(0, 3))))
    return head.encode("utf-8", "surrogatepass") + body


def _check(c: Classification) -> None:
    assert isinstance(c, Classification)
    assert isinstance(c.kind, InboundKind)
    assert isinstance(c.reason, str)
    assert c.reason
    if c.quarantined:
        assert c.kind is InboundKind.UNKNOWN
        assert c.error


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    _check(classify(raw, limits=LIMITS))


@FUZZ
@given(message())
def test_random_mime_never_raises(raw: bytes) -> None:
    _check(classify(raw, limits=LIMITS))


@FUZZ
@given(message(), st.integers(0, 3))
def test_tight_limits_never_raise(raw: bytes, depth: int) -> None:
    _check(classify(raw, limits=Limits(max_depth=depth, max_parts=4, max_header_bytes=300)))


@settings(max_examples=20, deadline=None)
@given(
    st.sampled_from([" ", "From: ", "> ", "On x wrote:\n", "\t", "a"]), st.integers(1000, 60_000)
)
def test_pathological_text_stays_fast(piece: str, count: int) -> None:
    raw = (
        "From: a@example.org\r\nTo: appeal@outreach.example.org\r\nSubject: x\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nHello\r\nFrom: " + piece * count + "\r\n"
    ).encode()
    _check(classify(raw, limits=LIMITS))

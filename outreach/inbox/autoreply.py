"""Auto-reply detection (RFC 3834 and vendor conventions) and return-date extraction."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from functools import cache

from babel.core import UnknownLocaleError
from babel.dates import get_month_names

__all__ = ["AutoReplySignals", "extract_return_date", "read_signals"]

# Subjects set by the software that sends an out-of-office or vacation notice.
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|auto:|"
    r"out of (?:the )?office|abwesenheitsnotiz|automatische antwort|"
    r"r[ée]ponse automatique|absence|respuesta autom[áa]tica|fuera de la oficina|"
    r"автоответ|автоматический ответ|risposta automatica|acknowledge?ment of receipt|"
    r"message received|ihre nachricht|accus[ée] de r[ée]ception)",
    re.IGNORECASE,
)
_AUTO_BODY = re.compile(
    r"out of (?:the )?office|on (?:annual )?leave|limited access to (?:e-?mail|my e-?mail)"
    r"|automatically generated|automatic(?:ally)? (?:reply|response|acknowledg)"
    r"|do not reply to (?:it|this)|has been received and will be"
    r"|your (?:e-?)?mail has been received"
    r"|absente? du bureau|nicht im b[üu]ro|abwesend|fuera de la oficina|вне офиса|в отпуске",
    re.IGNORECASE,
)
_RETURN_WORDS = re.compile(
    r"(?:\bback\b|\breturn|\breopen|\buntil\b|\btill\b|\bresume|\bafter\b"
    r"|jusqu|\bretour|\bà partir\b|\bbis\b|\bzurück|\bab dem\b|\bwieder\b"
    r"|\bhasta\b|\bregreso|\bvuelta|\bдо\b|\bпосле\b|\bвернусь|\bс\b)",
    re.IGNORECASE,
)
# Numeric dates are read day-first (dd.mm.yyyy, dd/mm/yyyy): the campaign writes to
# European and UN addresses; ISO yyyy-mm-dd is unambiguous.
_NUMERIC_DATE = re.compile(r"(?<![\d./-])(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?![\d./])")
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")


@dataclass(frozen=True, slots=True)
class AutoReplySignals:
    """Evidence for an automatic answer, graded by how much it can be trusted."""

    strong: tuple[str, ...]  # RFC 3834 and vendor headers: decisive on their own
    medium: tuple[str, ...]  # conventions a person rarely produces; two together decide
    weak: tuple[str, ...]  # also seen on human mail sent through bulk systems

    @property
    def is_auto(self) -> bool:
        """Decisive evidence that no person wrote this message."""
        return bool(self.strong) or len(self.medium) >= 2

    @property
    def any(self) -> tuple[str, ...]:
        """Every signal found, for the reason text."""
        return self.strong + self.medium + self.weak


def _token(value: object) -> str:
    """The first token of a header value, lower-case (drops RFC 3834 comments/params)."""
    text = str(value or "").strip().lower()
    return re.split(r"[\s;(]", text, maxsplit=1)[0] if text else ""


def read_signals(msg: Message, subject: str, body: str, return_path_null: bool) -> AutoReplySignals:
    """Collect auto-reply evidence from headers, subject and the first part of the body."""
    strong: list[str] = []
    medium: list[str] = []
    weak: list[str] = []
    auto_submitted = _token(msg.get("Auto-Submitted"))
    # RFC 3834 §5: any value other than "no" marks an automatic message.
    if auto_submitted and auto_submitted != "no":
        strong.append(f"Auto-Submitted: {auto_submitted}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        value = msg.get(name)
        if value is not None and _token(value) not in {"no", "false", "0"}:
            strong.append(name)
    precedence = _token(msg.get("Precedence"))
    if precedence == "auto_reply":
        strong.append("Precedence: auto_reply")
    elif precedence in {"bulk", "junk", "list"}:
        # Constituent-mail systems send human answers with Precedence: bulk.
        weak.append(f"Precedence: {precedence}")
    if "mailbox rules agent" in str(msg.get("X-MS-Exchange-Generated-Message-Source", "")).lower():
        strong.append("Exchange Mailbox Rules Agent")
    if msg.get("X-MS-Exchange-Inbox-Rules-Loop"):
        medium.append("X-MS-Exchange-Inbox-Rules-Loop")
    if msg.get("X-Auto-Response-Suppress") is not None:
        medium.append("X-Auto-Response-Suppress")
    if _AUTO_SUBJECT.match(subject[:500]):
        medium.append("auto-reply subject")
    if _AUTO_BODY.search(body[:3000]):
        medium.append("out-of-office wording")
    if msg.get("List-Unsubscribe") or msg.get("List-Id"):
        weak.append("List-* headers")
    if return_path_null:
        weak.append("null Return-Path")
    return AutoReplySignals(tuple(strong), tuple(medium), tuple(weak))


@cache
def _month_table(languages: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]]:
    """Month names (wide/abbreviated, format/stand-alone) in the campaign's languages."""
    names: dict[str, int] = {}
    for lang in (*languages, "en"):
        try:
            for width in ("wide", "abbreviated"):
                for context in ("format", "stand-alone"):
                    for num, name in get_month_names(width, context, lang).items():
                        key = name.lower().rstrip(".")
                        if len(key) >= 3:
                            names.setdefault(key, num)
        except (UnknownLocaleError, ValueError):  # that language contributes no names
            pass
    alternation = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    pattern = re.compile(
        rf"(?:(?<!\d)(\d{{1,2}})(?:er|\.|st|nd|rd|th)?\s+(?:de\s+)?({alternation})\.?"
        rf"(?:\s+(?:de\s+)?(\d{{4}}))?"
        rf"|\b({alternation})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?)(?![\w])",
        re.IGNORECASE,
    )
    return pattern, names


def _make_date(year: int | None, month: int, day: int, sent: dt.date | None) -> dt.date | None:
    """A date; a missing year is the first such day on or after the message date."""
    try:
        if year is not None:
            if year < 100:
                year += 2000
            return dt.date(year, month, day)
        base = sent or dt.date.today()
        candidate = dt.date(base.year, month, day)
        if candidate < base:
            candidate = dt.date(base.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def extract_return_date(
    text: str, languages: Sequence[str], sent: dt.date | None
) -> dt.date | None:
    """The return date an auto-reply states ("back on 12 March", "bis zum 15.03.2023"), or None."""
    text = text[:5000]  # bounds the regex work; the date is always near the top
    pattern, names = _month_table(tuple(languages))
    found: list[tuple[int, dt.date]] = []
    for m in pattern.finditer(text):
        if m.group(2):
            day, month, year = int(m.group(1)), names[m.group(2).lower()], m.group(3)
        else:
            day, month, year = int(m.group(5)), names[m.group(4).lower()], m.group(6)
        date = _make_date(int(year) if year else None, month, day, sent)
        if date:
            found.append((m.start(), date))
    for m in _NUMERIC_DATE.finditer(text):
        date = _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)), sent)
        if date:
            found.append((m.start(), date))
    for m in _ISO_DATE.finditer(text):
        date = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), sent)
        if date:
            found.append((m.start(), date))
    if sent is not None:
        found = [(pos, d) for pos, d in found if d >= sent]
    if not found:
        return None
    # Prefer a date introduced by return wording ("back on", "until", "jusqu'au", "bis").
    keyed = [(pos, d) for pos, d in found if _RETURN_WORDS.search(text[max(0, pos - 40) : pos])]
    chosen = keyed or found
    return max(d for _, d in chosen)

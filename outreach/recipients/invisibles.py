"""Invisible characters in recipient data: refused, except joiners where a script needs them.

A name or an organisation is printed in letters, headers, reports and the dashboard, so what it
shows must be what it holds. Format characters (General_Category Cf) show nothing themselves:
bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) reorder the text
around them, so "Embassy of X" can be stored as something else (UAX #9; CVE-2021-42574), and
zero-width characters (U+200B, U+2060, U+FEFF, U+00AD ...) make two equal-looking names differ
(UTR #36 §2). The Hangul fillers are letters that draw nothing, the classic "blank name".

The exception, after UAX #31 §2.3 and IDNA's CONTEXTJ rules (RFC 5892 Appendix A.1, A.2):
ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER change how letters join in Persian, Arabic-script
Urdu and Kurdish (U+200C in "علی‌رضا" keeps Ali and Reza apart) and form conjuncts after a
virama in Devanagari, Bengali, Malayalam or Sinhala. There they are part of the spelling and
kept; anywhere else they hide, and are refused like the rest.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import idna

ZWNJ, ZWJ = "\u200c", "\u200d"
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Letters (Lo) with no glyph, shown as a blank: UTS #39 restricts them in identifiers.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
# How far the joining context of a joiner is looked for: only transparent marks lie between a
# joiner and the letters it acts on, and no spelling has more than a handful of them.
_CONTEXT = 32


@dataclass(frozen=True, slots=True)
class Invisible:
    """An invisible character found in a value: which, where, and why it is refused."""

    char: str
    position: int  # 1 for the first character

    @property
    def code(self) -> str:
        """The code point and its name, e.g. "U+202E RIGHT-TO-LEFT OVERRIDE"."""
        return f"U+{ord(self.char):04X} {unicodedata.name(self.char, 'UNNAMED')}"

    def describe(self) -> str:
        """A message for the person who has to fix the data."""
        if self.char in BIDI_CONTROLS:
            why = "a bidirectional control, which can show the text in another order than it is"
        elif self.char in (ZWNJ, ZWJ):
            why = (
                "a joiner where it joins nothing (it is kept only between letters of scripts "
                "that use it, such as Persian, or after a virama)"
            )
        else:
            why = "an invisible character, which makes equal-looking text differ"
        return (
            f"contains {self.code} at character {self.position}: {why}; delete it "
            "(it cannot be seen: retype the value if you cannot find it)"
        )


def joiner_is_spelling(text: str, index: int) -> bool:
    """True when the ZWNJ or ZWJ at `index` is part of the spelling (RFC 5892 CONTEXTJ)."""
    start = max(0, index - _CONTEXT)
    window = text[start : index + _CONTEXT + 1]
    try:
        return idna.valid_contextj(window, index - start)
    except ValueError:  # an unassigned character next to it: nothing a script needs
        return False


def find_invisible(text: str) -> Invisible | None:
    """The first character of `text` that shows nothing and is not part of a spelling."""
    if text.isascii():  # ASCII has no format characters: the common case costs one scan
        return None
    for index, char in enumerate(text):
        if char in BLANK_LETTERS or (
            unicodedata.category(char) == "Cf"
            and not (char in (ZWNJ, ZWJ) and joiner_is_spelling(text, index))
        ):
            return Invisible(char, index + 1)
    return None

"""A person's text from its bytes: the declared charset, else the fallbacks a wrong label needs.

The order, and why:
1. the declared charset, strictly (RFC 2045 §4; no label: UTF-8, the de-facto default of 8-bit
   mail, of which US-ASCII is a subset);
2. UTF-8, strictly: the commonest wrong label is a legacy one (Big5, us-ascii, ...) on UTF-8
   bytes, and UTF-8's structure (RFC 3629) makes a false positive on other 8-bit text very
   unlikely, so a valid decode is trustworthy;
3. charset-normalizer, restricted to the legacy 8-bit code pages of the campaign's languages
   (Windows-1252 always, Windows-1251 and KOI8-R for Russian...): it rejects decodes that read
   as noise (a misaligned base64 body stays unreadable), where latin-1 would accept any bytes
   and hide the error behind mojibake. Ties between code pages (short texts) go to the one
   whose words do not mix scripts ("Très", not "Trиs").
A label Python does not know (``x-unknown-8bit``, RFC 1428's ``unknown-8bit``) gets step 2 only:
it is the sending software saying it did not know the encoding, and we do not guess over it.
Whatever is not the declared charset is reported in ``Decoded.note`` so that a person checks it.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from charset_normalizer import from_bytes

__all__ = ["Decoded", "read_text"]

# The legacy 8-bit code pages of a language: Windows' ANSI code page for it, then the older
# Unix one where it was common (KOI8 for Russian and Ukrainian). Windows-1252 covers the rest.
_LEGACY_CODEPAGES: dict[str, tuple[str, ...]] = {
    "ru": ("cp1251", "koi8_r"),
    "uk": ("cp1251", "koi8_u"),
    "be": ("cp1251",),
    "bg": ("cp1251",),
    "sr": ("cp1251", "cp1250"),
    "mk": ("cp1251",),
    "kk": ("cp1251",),
    "pl": ("cp1250",),
    "cs": ("cp1250",),
    "sk": ("cp1250",),
    "hu": ("cp1250",),
    "hr": ("cp1250",),
    "sl": ("cp1250",),
    "ro": ("cp1250",),
    "sq": ("cp1250",),
    "el": ("cp1253",),
    "tr": ("cp1254",),
    "az": ("cp1254",),
    "he": ("cp1255",),
    "ar": ("cp1256",),
    "fa": ("cp1256",),
    "et": ("cp1257",),
    "lv": ("cp1257",),
    "lt": ("cp1257",),
    "vi": ("cp1258",),
}
_DEFAULT_CODEPAGE = "cp1252"
_MAX_DETECT_BYTES = 400_000  # the detector samples chunks; this bounds the final decode


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body's text, the codec it was read with, and why that is not the declared charset."""

    text: str
    charset: str
    note: str | None = None


def _codec(name: str) -> str:
    """Python's canonical name of a charset label; LookupError when it names no text codec."""
    b"".decode(name)  # LookupError too for bytes-to-bytes codecs (base64, zlib): no charsets
    return codecs.lookup(name).name


def _candidates(languages: Sequence[str]) -> list[str]:
    pages: list[str] = [_DEFAULT_CODEPAGE]
    for language in languages:
        for page in _LEGACY_CODEPAGES.get(language.split("-")[0].lower(), ()):
            if page not in pages:
                pages.append(page)
    return pages


def _mixed_words(text: str) -> int:
    """Words whose letters come from more than one script: the mark of a wrong code page."""
    mixed = 0
    for word in text.split():
        scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in word if ch.isalpha()}
        mixed += len(scripts) > 1
    return mixed


def _detect(data: bytes, languages: Sequence[str]) -> tuple[str, str] | None:
    """The text and code page charset-normalizer finds plausible, or None for noise."""
    sample = data[:_MAX_DETECT_BYTES]
    matches = list(from_bytes(sample, cp_isolation=_candidates(languages), enable_fallback=False))
    if not matches:
        return None
    best = min((m.chaos, -m.coherence) for m in matches)
    tied = [m for m in matches if (m.chaos, -m.coherence) == best]
    decoded = [(str(m), m.encoding) for m in tied]
    text, encoding = min(decoded, key=lambda pair: _mixed_words(pair[0]))
    return text, encoding


def read_text(data: bytes, declared: str | None, languages: Sequence[str]) -> Decoded:
    """Decode a body a person wrote; raises the declared charset's error when nothing fits.

    Raises LookupError for an unknown label whose bytes are not UTF-8, UnicodeDecodeError
    (from the declared charset) when no fallback reads the bytes as text.
    """
    label = declared or "utf-8"
    failure: Exception
    try:
        codec = _codec(label)
        return Decoded(data.decode(codec, "strict"), codec)
    except LookupError as exc:
        codec, failure = "", exc
    except (UnicodeError, ValueError) as exc:
        failure = exc
    said = f"declared {declared}" if declared else "no charset declared"
    if codec != "utf-8":
        try:
            return Decoded(data.decode("utf-8", "strict"), "utf-8", f"{said}, read as utf-8")
        except UnicodeError:
            pass
    if isinstance(failure, LookupError):
        raise failure
    found = _detect(data, languages)
    if found is None:
        raise failure
    text, encoding = found
    return Decoded(text, encoding, f"{said}, read as {encoding}")

"""How one person is named in stored text and bytes, and how those mentions are taken out."""

from __future__ import annotations

import email
import email.policy
import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from outreach.addresses import address_key, parse_address
from outreach.errors import InputError

ERASED = "[erased]"

# An address or a key counts only whole: `a@b.org` is not found inside `ba@b.org` or
# `a.b@b.org`, nor `emb-fr-am` inside `emb-fr-am-head`. Before it: no letter, digit, dot, plus
# or hyphen; after it: none of those either, except a full stop that ends a sentence
# (`.org.example` goes on). A name counts from the start of a word, so that declined forms
# ("Piemēras") go with it, but "Ana" is not found in "Banana".
BEFORE = r"(?<![\w.+-])"
AFTER = r"(?![\w+-]|\.[\w-])"
WORD_START = r"(?<!\w)"
# A key made of one plain word ("ohchr") could be any word of any text: it is looked for only
# when it has a digit, a dot, a hyphen or an underscore, as the keys of the samples do.
DISTINCTIVE_KEY = re.compile(r"[\d._-]")
SHORTEST_NAME = 2  # a one-letter "name" (an initial) would match everywhere


def hashed_subject(key: str) -> str:
    """How an erased recipient's key appears in the audit trail and on their letters."""
    return "erased:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def folded(text: str) -> str:
    """The text without its diacritics ("Līga Piemēra" → "Liga Piemera"), as ASCII-only
    systems and address local parts often write names."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def spellings(address: str) -> list[str]:
    """The address as it may be written: as stored, normalised, and with its domain in
    punycode (RFC 5890/5891); case is left to the patterns. Empty for a malformed address."""
    try:
        forms = [address.strip(), parse_address(address), address_key(address)]
    except InputError:
        return [address.strip()] if "@" in address else []
    return list(dict.fromkeys(forms))


@dataclass(frozen=True, slots=True)
class Needle:
    """One identifier to look for, and how it is bounded."""

    text: str
    kind: str  # "address" or "key": whole; "full": a whole name; "name": from a word's start

    def as_text(self) -> str:
        """The needle as a pattern over text (its words separated by any white space: a name
        may be broken over two lines of a body)."""
        body = r"\s+".join(re.escape(word) for word in self.text.split())
        return self.bounded(body)

    def as_bytes(self) -> str:
        """The needle as a pattern over UTF-8 bytes, written as a latin-1 string of them.

        A bytes pattern ignores the case of ASCII letters only: each other letter is given
        in its lower and upper case.
        """
        words = []
        for word in self.text.split():
            chars = []
            for char in word:
                if char.isascii():
                    chars.append(re.escape(char))
                    continue
                forms = {char, char.lower(), char.upper()}
                encoded = sorted(
                    re.escape(form.encode("utf-8").decode("latin-1")) for form in forms
                )
                chars.append("(?:" + "|".join(encoded) + ")")
            words.append("".join(chars))
        return self.bounded(r"\s+".join(words))

    @property
    def token(self) -> str:
        """The needle's longest word, case-folded: text without it cannot hold the needle,
        which a plain substring test (far quicker than the pattern) rules out first."""
        words = unicodedata.normalize("NFC", self.text).casefold().split()
        return max(words, key=len) if words else ""

    def bounded(self, body: str) -> str:
        """The body with the boundaries of its kind."""
        if self.kind in ("address", "key"):
            return BEFORE + body + AFTER
        if self.kind == "full":
            return WORD_START + body + r"(?!\w)"
        return WORD_START + body


@functools.lru_cache(maxsize=64)  # an erasure asks for the same few patterns for every row
def compiled(needles: tuple[Needle, ...]) -> re.Pattern[str]:
    """One case-blind pattern over text, longest needle first (leftmost wins in an alternation:
    the address before its local part)."""
    ordered = sorted(set(needles), key=lambda needle: len(needle.text), reverse=True)
    return re.compile("|".join(needle.as_text() for needle in ordered) or "(?!)", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def compiled_bytes(needles: tuple[Needle, ...]) -> re.Pattern[bytes]:
    """The same pattern over raw bytes."""
    ordered = sorted(set(needles), key=lambda needle: len(needle.text), reverse=True)
    text = "|".join(needle.as_bytes() for needle in ordered) or "(?!)"
    return re.compile(text.encode("latin-1"), re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def tokens(needles: tuple[Needle, ...]) -> frozenset[str]:
    """The words of which at least one is in any text that holds one of the needles."""
    return frozenset(needle.token for needle in needles if needle.token)


def may_hold(text: str, needles: tuple[Needle, ...]) -> bool:
    """Whether the (NFC) text holds a token of the needles, whatever their case."""
    folded_text = text.casefold()
    return any(token in folded_text for token in tokens(needles))


@dataclass(frozen=True, slots=True)
class Identity:
    """What names one person: every spelling of their addresses, their key, their names.

    Strong needles name the person alone, wherever they are found: an address, the key, the
    full name. Weak ones (the given and the family name, the local part of an address) may be
    someone else's too: they are looked for only in the person's own rows.
    """

    key: str
    strong: tuple[Needle, ...]
    weak: tuple[Needle, ...]

    @property
    def pseudonym(self) -> str:
        """What the key becomes."""
        return hashed_subject(self.key)

    def address_keys(self) -> set[str]:
        """The suppression list's forms of the person's addresses."""
        keys = set()
        for needle in self.strong:
            if needle.kind == "address":
                try:
                    keys.add(address_key(needle.text))
                except InputError:
                    continue
        return keys

    def needles(self, *, everything: bool, with_names: bool) -> tuple[Needle, ...]:
        """The needles for one use: names left out where another recipient bears them."""
        chosen = tuple(n for n in self.strong if with_names or n.kind in ("address", "key"))
        return chosen + (self.weak if everything else ())

    def replace(self, match: re.Match[str]) -> str:
        """A found key becomes the pseudonym; anything else, ERASED."""
        return self.pseudonym if match.group().casefold() == self.key.casefold() else ERASED

    def redact(self, text: str, *, everything: bool = False, with_names: bool = True) -> str:
        """The text with each identifier replaced (compared in Unicode NFC, as names are kept)."""
        needles = self.needles(everything=everything, with_names=with_names)
        normal = unicodedata.normalize("NFC", text)
        if not may_hold(normal, needles):
            return text
        redacted = compiled(needles).sub(self.replace, normal)
        return text if redacted == normal else redacted

    def names_in(self, text: str, *, with_names: bool = True) -> bool:
        """Whether the text names the person (strong needles)."""
        needles = self.needles(everything=False, with_names=with_names)
        normal = unicodedata.normalize("NFC", text)
        return may_hold(normal, needles) and compiled(needles).search(normal) is not None

    def redact_bytes(self, raw: bytes, *, with_names: bool = True) -> bytes:
        """The bytes with each literal strong needle replaced."""
        if not self.bytes_name(raw, with_names=with_names):
            return raw
        pattern = compiled_bytes(self.needles(everything=False, with_names=with_names))
        return pattern.sub(ERASED.encode("ascii"), raw)

    def bytes_name(self, raw: bytes, *, with_names: bool = True) -> bool:
        """Whether the bytes hold a strong needle literally (as UTF-8 or ASCII)."""
        needles = self.needles(everything=False, with_names=with_names)
        if not may_hold(raw.decode("utf-8", "replace"), needles):
            return False
        return compiled_bytes(needles).search(raw) is not None

    def message_names(self, raw: bytes, *, with_names: bool = True, strict: bool = False) -> bool:
        """Whether a MIME message names the person, literally or once decoded (RFC 2047 words,
        quoted-printable, base64). A message the parser cannot read is judged on its bytes,
        unless `strict`: then it counts as naming them."""
        if self.bytes_name(raw, with_names=with_names):
            return True
        try:
            return any(self.names_in(text, with_names=with_names) for text in decoded_texts(raw))
        except Exception:  # hostile mail: any failure of the parser means "cannot tell"
            return strict

    def redact_message(self, raw: bytes, *, with_names: bool = True) -> bytes:
        """A message with its literal mentions replaced, or no bytes at all when a mention is
        left in an encoded form that cannot be replaced in place."""
        redacted = self.redact_bytes(raw, with_names=with_names)
        named = self.message_names(redacted, with_names=with_names, strict=True)
        return b"" if named else redacted


def decoded_texts(raw: bytes) -> Iterator[str]:
    """Every header value and text part of a message, decoded.

    With the stdlib's compat32 policy: ten times quicker than the default one here, and only
    the decoded text is wanted, not a model of the message.
    """
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in message.walk():
        for _, value in part.items():
            yield header_text(str(value))
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield body_text(payload, part.get_content_charset())


def header_text(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded (as it is, if they are broken)."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def body_text(payload: bytes, charset: str | None) -> str:
    """A text part's bytes as text, in its declared charset or else UTF-8."""
    try:
        return payload.decode(charset or "utf-8", "replace")
    except LookupError:  # an unknown charset name
        return payload.decode("utf-8", "replace")


def identity_of(
    key: str,
    addresses: Iterable[str],
    *,
    given_name: str | None,
    family_name: str | None,
    courtesy_title: str | None,
) -> Identity:
    """The identity of a recipient from their key, addresses and names."""
    spelled = [form for address in addresses if address for form in spellings(address)]
    names = [name for name in (given_name, family_name) if name and len(name) >= SHORTEST_NAME]
    full: list[str] = []
    if given_name and family_name:
        full += [f"{given_name} {family_name}", f"{family_name} {given_name}"]
    if courtesy_title and family_name:
        full += [f"{courtesy_title} {family_name}", f"{courtesy_title}. {family_name}"]
    local_parts = [form.rpartition("@")[0] for form in spelled]
    strong = [Needle(form, "address") for form in spelled]
    strong += [Needle(name, "full") for name in {*full, *map(folded, full)}]
    if DISTINCTIVE_KEY.search(key):
        strong.append(Needle(key, "key"))
    weak = [Needle(name, "name") for name in {*names, *map(folded, names)}]
    weak += [Needle(local, "name") for local in local_parts if len(local) >= SHORTEST_NAME]
    return Identity(key, tuple(dict.fromkeys(strong)), tuple(dict.fromkeys(weak)))

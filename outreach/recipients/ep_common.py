"""What the European Parliament readers share: group codes, country names, name casing, defaults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

from outreach.errors import Problem, RecipientError
from outreach.recipients.record import RecipientRecord
from outreach.recipients.validation import validate_row

ORGANISATION = "European Parliament"

# Where an MEP's office is when the recipient is first created. None of the EP sources says so,
# so these are never in `provided`: a re-import must not overwrite an office a user corrected
# (an MEP may be better reached at a Strasbourg or constituency address).
LOCATION_DEFAULTS: Mapping[str, str] = {
    "host_country": "BE",
    "city": "Brussels",
    "tz": "Europe/Brussels",
}

# The nine groups of the 10th term (2024-2029), each under the code campaigns segment by.
GROUP_CODES: tuple[str, ...] = (
    "EPP",
    "S&D",
    "Renew",
    "Greens/EFA",
    "The Left",
    "ECR",
    "PfE",
    "ESN",
    "NI",
)

# Every spelling seen in EP sources, keyed case-insensitively: the XML list gives the long
# English name, the API gives the EP's internal acronym (PPE, SD, RE, Verts/ALE, GUE/NGL, ENS,
# NA), the press uses the English acronym. Add a line here when a group is renamed or formed.
_GROUP_ALIASES: Mapping[str, str] = {
    "epp": "EPP",
    "ppe": "EPP",
    "epp group": "EPP",
    "group of the european people's party (christian democrats)": "EPP",
    "group of the european people's party": "EPP",
    "s&d": "S&D",
    "sd": "S&D",
    "s-d": "S&D",
    "group of the progressive alliance of socialists and democrats in the european parliament": (
        "S&D"
    ),
    "renew": "Renew",
    "re": "Renew",
    "renew europe": "Renew",
    "renew europe group": "Renew",
    "greens/efa": "Greens/EFA",
    "verts/ale": "Greens/EFA",
    "group of the greens/european free alliance": "Greens/EFA",
    "the left": "The Left",
    "left": "The Left",
    "gue/ngl": "The Left",
    "the left group in the european parliament - gue/ngl": "The Left",
    "the left group in the european parliament": "The Left",
    "ecr": "ECR",
    "european conservatives and reformists group": "ECR",
    "pfe": "PfE",
    "patriots": "PfE",
    "patriots for europe": "PfE",
    "patriots for europe group": "PfE",
    "esn": "ESN",
    "ens": "ESN",
    "europe of sovereign nations": "ESN",
    "europe of sovereign nations group": "ESN",
    "ni": "NI",
    "na": "NI",
    "non-attached": "NI",
    "non-attached members": "NI",
    "non-inscrits": "NI",
}

# English short names as the EP's English pages write them, for the 27 member states.
EU_COUNTRIES: Mapping[str, str] = {
    "austria": "AT",
    "belgium": "BE",
    "bulgaria": "BG",
    "croatia": "HR",
    "cyprus": "CY",
    "czechia": "CZ",
    "czech republic": "CZ",
    "denmark": "DK",
    "estonia": "EE",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "greece": "GR",
    "hungary": "HU",
    "ireland": "IE",
    "italy": "IT",
    "latvia": "LV",
    "lithuania": "LT",
    "luxembourg": "LU",
    "malta": "MT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "poland": "PL",
    "portugal": "PT",
    "romania": "RO",
    "slovakia": "SK",
    "slovenia": "SI",
    "spain": "ES",
    "sweden": "SE",
}


def _fold(text: str) -> str:
    """Fold typographic dashes, apostrophes and spacing so that aliases match as typed."""
    text = text.replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    return " ".join(text.split()).casefold()


def group_code(raw: str) -> str | None:
    """Return the group code (EPP, S&D, ...) for any spelling of a political group, else None."""
    return _GROUP_ALIASES.get(_fold(raw))


def country_code(english_name: str) -> str | None:
    """Return the ISO 3166-1 alpha-2 code of an EU member state's English name, else None."""
    return EU_COUNTRIES.get(_fold(english_name))


def clean_text(text: str) -> str:
    """Return `text` in Unicode NFC with runs of white space made single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).split())


# --- Family names from the upper-case display form ---------------------------------------------
#
# The XML list and the API's `label` write "Elio DI RUPO": the family name is the trailing run of
# upper-case words, and its letter case is lost. The API's `familyName` ("Di Rupo") is
# authoritative and always preferable; this heuristic exists only for the XML list, and a
# recipient imported from it should be re-imported from the API, or checked by hand.
#
# Rule: each word is capitalised, and so is each part after a hyphen or an apostrophe
# ("MÜLLER-LÜDENSCHEIDT" -> "Müller-Lüdenscheidt", "O'NEILL" -> "O'Neill"); "MC" prefixes keep
# the next capital ("MCGUINNESS" -> "McGuinness"). Nobiliary particles are written in lower case
# only where the MEP's country writes them so, and never as the last word:
#   DE, AT: von, vom, zu, zum, zur, der, den   ("VON DER LEYEN" -> "von der Leyen")
#   NL:     van, der, den, de, ter, ten, te, het ("VAN DER BERG" -> "van der Berg")
#   FR, LU: de, du, des, and d' before an apostrophe ("DE VILLIERS" -> "de Villiers")
#   ES, PT: de, del, la, las, los, da, das, do, dos, e, y
#   others, including BE and IT: none -- Flemish and Italian usage capitalises them
#   ("VAN BREMPT" -> "Van Brempt", "DI RUPO" -> "Di Rupo").
# With no country the German, Dutch and French particles apply. What this cannot recover: accents
# the upper case drops (Greek tonos), ß written SS, and particles capitalised by family custom.
_GERMAN = frozenset({"von", "vom", "zu", "zum", "zur", "der", "den"})
_DUTCH = frozenset({"van", "der", "den", "de", "ter", "ten", "te", "het"})
_FRENCH = frozenset({"de", "du", "des"})
_IBERIAN = frozenset({"de", "del", "la", "las", "los", "da", "das", "do", "dos", "e", "y"})
_PARTICLES: Mapping[str, frozenset[str]] = {
    "DE": _GERMAN,
    "AT": _GERMAN,
    "NL": _DUTCH,
    "FR": _FRENCH,
    "LU": _FRENCH,
    "ES": _IBERIAN,
    "PT": _IBERIAN,
}
_DEFAULT_PARTICLES = _GERMAN | _DUTCH | _FRENCH | {"la"}
_ELIDED_D = frozenset({"FR", "LU", None})
_INITIAL = re.compile(r"\w\.")
_APOSTROPHES = re.compile(r"(['\u2019])")


def _is_upper_word(word: str) -> bool:
    """True when `word` has letters and none of them is lower case ("DI", "MÜLLER", "O'NEILL")."""
    return any(c.isupper() for c in word) and not any(c.islower() for c in word)


def _capitalise(part: str) -> str:
    """Capitalise one name part; "MCGUINNESS" keeps the capital after "Mc"."""
    if len(part) > 3 and part[:2] == "MC":
        return "Mc" + part[2].upper() + part[3:].lower()
    return part[:1].upper() + part[1:].lower()


def _case_word(word: str, country: str | None) -> str:
    """Case one space-separated word of a family name, hyphen and apostrophe parts alike."""
    pieces = _APOSTROPHES.split(word)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if piece in ("'", "\u2019"):
            out.append(piece)
        elif index == 0 and len(pieces) > 1 and piece == "D" and country in _ELIDED_D:
            out.append("d")  # French elision: "D'ORNANO" -> "d'Ornano"
        else:
            out.append("-".join(_capitalise(p) for p in piece.split("-")))
    return "".join(out)


def case_family_name(upper: str, country: str | None = None) -> str:
    """Write an upper-case family name as in correspondence ("DI RUPO" -> "Di Rupo")."""
    particles = _PARTICLES.get(country, frozenset()) if country else _DEFAULT_PARTICLES
    words = clean_text(upper).split(" ")
    cased: list[str] = []
    for index, word in enumerate(words):
        is_last = index == len(words) - 1
        if not is_last and word.casefold() in particles:
            cased.append(word.lower())
        else:
            cased.append(_case_word(word, country))
    return " ".join(cased)


def split_full_name(full_name: str, country: str | None = None) -> tuple[str, str] | None:
    """Split "Elio DI RUPO" into ("Elio", "Di Rupo"); None when no split can be trusted."""
    words = clean_text(full_name).split(" ")
    start = len(words)
    # An initial ("J.") is part of the given names even though it is upper case.
    while (
        start > 0 and _is_upper_word(words[start - 1]) and not _INITIAL.fullmatch(words[start - 1])
    ):
        start -= 1
    if start == 0 or start == len(words):
        return None
    return " ".join(words[:start]), case_family_name(" ".join(words[start:]), country)


def build_record(
    fields: Mapping[str, object], *, source: str, line: int | None
) -> RecipientRecord | list[Problem]:
    """Validate an EP recipient as every reader does; `provided` is exactly the keys of `fields`.

    The location defaults are added for validation (a new recipient needs a zone) but left out
    of `provided`, so that they never overwrite an office recorded by another source.
    """
    result = validate_row({**LOCATION_DEFAULTS, **fields}, source=source, line=line)
    if isinstance(result, list):
        return result
    return dataclasses.replace(result, provided=frozenset(fields))


def file_date(path: Path) -> dt.date:
    """Return the file's modification date in UTC: most likely when it was downloaded."""
    try:
        stamp = path.stat().st_mtime
    except OSError as exc:
        raise RecipientError(
            f"{path}: cannot read the file ({exc.strerror}): check the path"
        ) from exc
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).date()

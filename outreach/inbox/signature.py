"""The end of a reply that is not the answer: signature, sign-off, disclaimer, mobile footer."""

from __future__ import annotations

import re

__all__ = ["SEPARATOR_LINE", "cut_signature"]

SEPARATOR_LINE = re.compile(r"^[ \t]*[_=-]{10,}[ \t]*$")
_DISCLAIMER = re.compile(
    r"^[ \t*]*(?:confidentiality(?: notice)?\b|disclaimer\b|legal notice|important notice"
    r"|this (?:e-?mail|message)(?: and any (?:attachments?|files))?(?: (?:is|are|may))? "
    r"(?:confidential|intended)|this (?:e-?mail|message) and any attachments"
    r"|you are receiving this (?:message|e-?mail) because|unsubscribe:"
    r"|avis de confidentialit|ce (?:message|courriel) (?:et|est) "
    r"|diese (?:e-?mail|nachricht) (?:enthält|ist) |aviso de confidencialidad|este mensaje"
    r"|конфиденциальн)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:(?:with )?(?:best|kind|warm|kindest|warmest)(?: personal)? regards|regards"
    r"|yours (?:sincerely|faithfully|truly)|sincerely|best wishes|respectfully"
    r"|mit freundlichen gr[üu](?:ß|ss)en|freundliche gr[üu](?:ß|ss)e|viele gr[üu](?:ß|ss)e"
    r"|beste gr[üu](?:ß|ss)e|(?:bien )?cordialement|bien à vous|je vous prie d'agréer"
    r"|veuillez agréer|с уважением|с наилучшими пожеланиями|atentamente|saludos cordiales"
    r"|un (?:cordial )?saludo|cordiales saludos|distinti saluti|cordiali saluti)\b[^\n]{0,80}$",
    re.IGNORECASE | re.MULTILINE,
)
# The footer a phone or webmail client adds under the answer, alone on its line.
_MOBILE_FOOTER = re.compile(
    r"^[ \t]*(?:sent from (?:my )?(?:iphone|ipad|ipod|android(?: (?:phone|device|tablet))?"
    r"|blackberry|mobile(?: device| phone)?|smartphone|samsung[^\n]{0,40}|galaxy[^\n]{0,40}"
    r"|huawei[^\n]{0,40}|windows phone)(?: with [^\n]{1,40})?"
    r"|sent from (?:gmail mobile|mail for windows(?: 10| 11)?|yahoo mail[^\n]{0,40}"
    r"|outlook(?: for (?:ios|android))?|proton ?mail[^\n]{0,40})"
    r"|get outlook for (?:ios|android)"
    r"|(?:von meinem|gesendet von meinem) (?:iphone|ipad|smartphone|android[^\n]{0,20}"
    r"|samsung[^\n]{0,40})(?: gesendet)?"
    r"|envoy[ée] (?:de|depuis) (?:mon )?(?:iphone|ipad|smartphone|android|samsung[^\n]{0,40})"
    r"|отправлено с (?:iphone|ipad|моего iphone|моего ipad|моего смартфона|android)"
    r"|enviado desde mi (?:iphone|ipad|smartphone|android|samsung[^\n]{0,40}))[.!]?[ \t]*$",
    re.IGNORECASE,
)
_MAX_SIGNATURE_LINES = 15


def cut_signature(text: str) -> str:
    """Drop the signature and any trailing disclaimer/footer; never the opening paragraph."""
    lines = text.split("\n")
    first_content = next((i for i, x in enumerate(lines) if x.strip()), 0)
    for i, line in enumerate(lines):
        if i > first_content and line in {"-- ", "--"}:  # RFC 3676 §4.3 signature separator
            lines = lines[:i]
            break
    for i, line in enumerate(lines):
        if i > first_content + 1 and _DISCLAIMER.match(line):
            lines = lines[:i]
            break
    for i, line in enumerate(lines):
        if i > first_content and _MOBILE_FOOTER.match(line):
            lines = lines[:i]
            break
    for i, line in enumerate(lines):
        if i > first_content + 1 and _SIGN_OFF.match(line):
            rest = [x for x in lines[i + 1 :] if x.strip()]
            if len(rest) <= _MAX_SIGNATURE_LINES:
                lines = lines[:i]
                break
    while lines and (not lines[-1].strip() or SEPARATOR_LINE.match(lines[-1])):
        lines.pop()
    return "\n".join(lines)

"""Letters: an appeal made personal for one recipient, in one language, as the bytes to send."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from outreach import clock
from outreach.addresses import AddressError, WireAddress, encode_address
from outreach.appeal import Appeal, load_appeal
from outreach.config import Settings
from outreach.errors import LetterError
from outreach.forms import FilledForm, FormsError, FormsOfAddress, load_forms, recipient_values
from outreach.language import LanguageChoice, choose_language
from outreach.message import (
    Headers,
    build_message,
    domain_of,
    new_message_id,
    new_token,
    plus_address,
)
from outreach.recipients.record import RecipientRecord, Role
from outreach.render import LetterTemplates

FORMS_FILE = "forms_of_address.yaml"


@dataclass(frozen=True, slots=True)
class Letter:
    """One letter, exactly as it is sent: its parts, its identity and its MIME bytes."""

    appeal_slug: str
    recipient_key: str
    to_address: str  # as it is sent: the domain in punycode (`encode_address`)
    language: str
    subject: str
    text: str
    html: str
    demand_keys: tuple[str, ...]
    token: str
    message_id: str
    mime: bytes
    reviewed: bool  # False when the translation or the form of address awaits review


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What makes a letter a follow-up: its step, templates, thread and the demands re-asked."""

    step: int  # 1 for the first follow-up
    template: str  # the templates' folder under the appeal, e.g. "followup"
    demand_keys: tuple[str, ...]  # only the demands still without a confirmed position
    in_reply_to: str  # the Message-ID of the previous letter of the thread
    references: tuple[str, ...]  # the thread's Message-IDs, the first letter first
    original_subject: str  # the first letter's subject
    original_sent: dt.datetime  # when the first letter left


def babel_locale(language: str) -> Locale:
    """The Babel locale for a language tag; plain `en` is British usage ("7 March 2023")."""
    tag = "en_GB" if language == "en" else language.replace("-", "_")
    try:
        return Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(language.split("-")[0])


class Composer:
    """Makes letters of one appeal: chooses the language, fills the forms, renders, encodes."""

    def __init__(self, appeal: Appeal, forms: FormsOfAddress, settings: Settings) -> None:
        self.appeal = appeal
        self.forms = forms
        self.settings = settings
        self.templates = LetterTemplates(appeal.folder, max_bytes=settings.letters.max_bytes)
        self.template_languages = self.templates.languages()
        self.follow_up_templates: dict[str, LetterTemplates] = {}

    def templates_for(self, kind: str) -> LetterTemplates:
        """The templates of the first letter ("letter") or of a follow-up folder."""
        if kind == "letter":
            return self.templates
        if kind not in self.follow_up_templates:
            self.follow_up_templates[kind] = LetterTemplates(
                self.appeal.folder, max_bytes=self.settings.letters.max_bytes, kind=kind
            )
        return self.follow_up_templates[kind]

    @classmethod
    def load(cls, settings: Settings, slug: str | None = None) -> Composer:
        """A composer for the appeal `slug` (default: letters.appeal) under paths.templates."""
        root = Path(settings.paths.templates)
        appeal = load_appeal(root / (slug or settings.letters.appeal))
        return cls(appeal, load_forms(root / FORMS_FILE), settings)

    def missing(self, recipient: RecipientRecord, language: str) -> str | None:
        """What `language` lacks for this recipient's letter, or None if it has everything."""
        if language not in self.appeal.languages:
            return "the appeal has no text in this language"
        if language not in self.template_languages:
            return "no letter templates in this language"
        form = self.forms.lookup(recipient.role, recipient.kind, language, recipient.gender)
        if form is None:
            return (
                f"no form of address for {recipient.role}/{recipient.kind} "
                f"with gender {recipient.gender}"
            )
        return None

    def choose(self, recipient: RecipientRecord) -> LanguageChoice:
        """The letter's language, following the recipient's preferences, then the defaults."""
        return choose_language(
            recipient.languages,
            self.settings.letters.default_languages,
            lambda language: self.missing(recipient, language),
        )

    def language_for(self, recipient: RecipientRecord, language: str | None) -> str:
        """The language to write in: the one asked for, if usable, else the chosen one."""
        if language is not None:
            reason = self.missing(recipient, language)
            if reason:
                raise LetterError(f"{recipient.key}: cannot write in {language}: {reason}")
            return language
        choice = self.choose(recipient)
        if choice.language is None:
            raise LetterError(f"{recipient.key}: no usable language ({choice.explain()})")
        return choice.language

    def fill_form(self, recipient: RecipientRecord, language: str) -> FilledForm:
        """Salutation, address block and closing for the recipient, in the language."""
        form = self.forms.lookup(recipient.role, recipient.kind, language, recipient.gender)
        assert form is not None, "language_for checked it"
        if recipient.role is not Role.OFFICE and not recipient.family_name:
            raise LetterError(f"{recipient.key}: a {recipient.role} needs a family name")
        locale = babel_locale(language)
        country = locale.territories.get(recipient.country or "") if recipient.country else None
        try:
            return form.fill(recipient_values(recipient, country))
        except FormsError as exc:
            raise LetterError(f"{recipient.key}: {exc}") from None

    def context(
        self,
        recipient: RecipientRecord,
        language: str,
        filled: FilledForm,
        follow_up: FollowUp | None = None,
    ) -> dict[str, Any]:
        """The variables the templates see (documented in templates/README.md)."""
        appeal = self.appeal
        sender = self.settings.sender
        locale = babel_locale(language)
        asked = appeal.demands_for(recipient)
        if follow_up is not None:
            asked = tuple(demand for demand in asked if demand.key in follow_up.demand_keys)
        original = None
        if follow_up is not None:
            original = {
                "subject": follow_up.original_subject,
                "date": follow_up.original_sent.date().isoformat(),
                "date_formatted": format_date(follow_up.original_sent, "long", locale=locale),
            }
        return {
            "step": follow_up.step if follow_up else 0,
            "original": original,
            "recipient": {
                name: getattr(recipient, name)
                for name in recipient.__dataclass_fields__
                if name != "provided"
            },
            "appeal": {
                "slug": appeal.slug,
                "title": appeal.title[language],
                "date": appeal.date.isoformat(),
                "date_formatted": format_date(appeal.date, "long", locale=locale),
                "signatories": list(appeal.signatories),
            },
            "intro": list(appeal.intro[language]),
            "lead_in": appeal.lead_in[language],
            "demands": [{"key": demand.key, "text": demand.text[language]} for demand in asked],
            "closing_paragraphs": list(appeal.closing[language]),
            "salutation": filled.salutation,
            "address_block": list(filled.address_block),
            "complimentary_close": filled.closing,
            "sender": {
                "name": sender.name,
                "organisation": sender.organisation,
                "email": sender.address,
            },
        }

    def wire_addresses(self, recipient: RecipientRecord) -> tuple[WireAddress, WireAddress]:
        """The sender's and the recipient's addresses as they will be sent, or LetterError.

        A domain always has an ASCII form (punycode); a non-ASCII local part has none and is
        carried only by a relay that offers SMTPUTF8 (RFC 6531), which smtp.smtputf8 declares.
        """
        email = recipient.email or ""
        try:
            to = encode_address(email)
        except AddressError as exc:
            raise LetterError(f"{recipient.key}: {exc}") from None
        sender = encode_address(self.settings.sender.address)  # validated with the settings
        if self.settings.smtp.smtputf8:
            return sender, to
        if to.smtputf8:
            raise LetterError(
                f"{recipient.key}: the address {email} has a non-ASCII local part, which only a "
                "relay offering SMTPUTF8 (RFC 6531) can carry: record an ASCII address "
                f"(`outreach recipients set {recipient.key} email=...`), or set "
                "smtp.smtputf8 = true if your relay offers SMTPUTF8"
            )
        if sender.smtputf8:
            raise LetterError(
                f"sender.address {sender.address} has a non-ASCII local part, which only a relay "
                "offering SMTPUTF8 (RFC 6531) can carry: use an ASCII sender address, or set "
                "smtp.smtputf8 = true if your relay offers SMTPUTF8"
            )
        return sender, to

    def compose(
        self,
        recipient: RecipientRecord,
        *,
        language: str | None = None,
        date: dt.datetime | None = None,
        token: str | None = None,
        message_id: str | None = None,
        follow_up: FollowUp | None = None,
    ) -> Letter:
        """The letter (or follow-up) for one recipient; LetterError says why none can be made."""
        if not recipient.email:
            raise LetterError(f"{recipient.key}: no e-mail address")
        sender_address, to_address = self.wire_addresses(recipient)
        language = self.language_for(recipient, language)
        filled = self.fill_form(recipient, language)
        context = self.context(recipient, language, filled, follow_up)
        templates = self.templates_for(follow_up.template if follow_up else "letter")
        if follow_up is not None and language not in templates.languages():
            raise LetterError(
                f"{recipient.key}: no follow-up templates in {language}: add "
                f"{templates.root / language}/subject.txt.j2, body.txt.j2 and body.html.j2"
            )
        parts = templates.render(language, context)
        sender = self.settings.sender
        token = token or new_token()
        headers = Headers(
            subject=parts.subject,
            from_name=sender.name,
            from_address=sender_address.address,
            to_name=display_name(recipient),
            to_address=to_address.address,
            reply_to=plus_address(sender_address.address, token)
            if self.settings.letters.plus_addressing
            else None,
            message_id=message_id or new_message_id(domain_of(sender_address.address)),
            token=token,
            date=date or clock.now(),
            language=language,
            in_reply_to=follow_up.in_reply_to if follow_up else None,
            references=follow_up.references if follow_up else (),
        )
        attachments = tuple(
            item.path
            for item in self.appeal.attachments
            # The first letter carries the attachments; a follow-up is read in its thread.
            if follow_up is None and (not item.languages or language in item.languages)
        )
        form = self.forms.lookup(recipient.role, recipient.kind, language, recipient.gender)
        utf8 = sender_address.smtputf8 or to_address.smtputf8
        return Letter(
            appeal_slug=self.appeal.slug,
            recipient_key=recipient.key,
            to_address=to_address.address,
            language=language,
            subject=parts.subject,
            text=parts.text,
            html=parts.html,
            demand_keys=tuple(demand["key"] for demand in context["demands"]),
            token=token,
            message_id=headers.message_id,
            mime=build_message(headers, parts.text, parts.html, attachments, utf8=utf8),
            reviewed=self.appeal.languages[language].reviewed and bool(form and form.reviewed),
        )


def display_name(recipient: RecipientRecord) -> str:
    """The name shown in To: the person, or the office for a mailbox without one."""
    person = " ".join(part for part in (recipient.given_name, recipient.family_name) if part)
    return person or recipient.organisation

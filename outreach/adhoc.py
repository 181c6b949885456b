"""Ad hoc letters: one appeal to chosen recipients now, outside any campaign, same state machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, select

from outreach.addresses import address_key, parse_address
from outreach.audit import record_event
from outreach.eligibility import why_not_sendable
from outreach.errors import InputError, LetterError
from outreach.letter import Composer, Letter
from outreach.message import domain_of
from outreach.models import Letter as LetterRow
from outreach.models import LetterState, Recipient
from outreach.recipients.record import RecipientKind, RecipientRecord, Role
from outreach.recipients.segment import parse_where, to_conditions
from outreach.recipients.table import iter_recipients, to_record
from outreach.repeats import earlier_letter
from outreach.suppression import address_hash


@dataclass(frozen=True, slots=True)
class AdHoc:
    """One intended letter: made, or the reason it will not be sent."""

    recipient: RecipientRecord
    recipient_id: int | None
    letter: Letter | None
    reason: str | None
    repeats: str | None = None  # with --again: the earlier letter this one repeats


def targets(
    session: Session, to: list[str], where: list[str]
) -> Iterator[tuple[RecipientRecord, int | None]]:
    """The recipients named by key or address (--to), or selected by a segment (--where)."""
    if bool(to) == bool(where):
        raise InputError(
            "name recipients with --to KEY|EMAIL, or select them with --where, not both"
        )
    if where:
        for selected in iter_recipients(session, to_conditions(parse_where(where))):
            yield to_record(selected), selected.id
        return
    for item in to:
        if "@" not in item:
            row = session.exec(select(Recipient).where(Recipient.key == item)).first()
            if row is None:
                raise InputError(
                    f"--to {item}: no recipient with this key; give a key or an address"
                )
            yield to_record(row), row.id
            continue
        address = parse_address(item)
        row = session.exec(
            select(Recipient).where(Recipient.email_key == address_key(address))
        ).first()
        if row is not None:
            yield to_record(row), row.id
            continue
        # An address outside the database: an office mailbox of unknown kind ("Dear Sir or Madam").
        yield (
            RecipientRecord(
                key=f"adhoc-{address_key(address)}"[:64],
                kind=RecipientKind.OTHER,
                role=Role.OFFICE,
                organisation=domain_of(address),
                tz="UTC",
                email=address,
            ),
            None,
        )


def prepare(
    session: Session,
    composer: Composer,
    to: list[str],
    where: list[str],
    *,
    language: str | None,
    again: bool,
    now: dt.datetime,
) -> list[AdHoc]:
    """Make every letter, or say why one will not be sent (suppressed, already sent, no letter).

    Two targets at one mailbox get one letter: the first named (or, for --where, the first by
    key) has it.
    """
    prepared: list[AdHoc] = []
    mailboxes: dict[str, str] = {}  # address comparison form → the recipient writing to it
    for recipient, recipient_id in targets(session, to, where):
        reason = why_not_sendable(session, recipient)
        mailbox = address_key(recipient.email) if recipient.email else None
        if reason is None and mailbox is not None and mailbox in mailboxes:
            reason = f"same mailbox as {mailboxes[mailbox]}, who gets the one letter to it"
        earlier = None
        if reason is None and recipient.email:
            earlier = earlier_letter(session, composer.appeal.slug, recipient.email)
            if earlier is not None and not again:
                reason = (
                    f"this appeal already went to {recipient.email} ({earlier.describe()}); "
                    'add --again --reason "…" to send it once more'
                )
        if reason is not None:
            prepared.append(AdHoc(recipient, recipient_id, None, reason))
            continue
        try:
            letter = composer.compose(recipient, language=language, date=now)
        except LetterError as exc:
            prepared.append(AdHoc(recipient, recipient_id, None, str(exc)))
            continue
        if mailbox is not None:
            mailboxes[mailbox] = recipient.key
        repeats = earlier.describe() if earlier is not None else None
        prepared.append(AdHoc(recipient, recipient_id, letter, None, repeats))
    return prepared


def enqueue(
    session: Session,
    prepared: list[AdHoc],
    *,
    now: dt.datetime,
    actor: str,
    again_reason: str | None = None,
) -> list[int]:
    """Store the letters, due now, outside any campaign; returns their ids (each audited).

    A letter that repeats the appeal to a mailbox (`--again`) needs `again_reason`, which the
    audit trail keeps with the earlier letter.
    """
    if any(item.repeats for item in prepared if item.letter) and not (again_reason or "").strip():
        raise InputError(
            "--again needs --reason: say why this appeal goes again to a mailbox that has it"
        )
    ids = []
    table = LetterRow.__table__  # type: ignore[attr-defined]
    for item in prepared:
        letter = item.letter
        if letter is None:
            continue
        letter_id = int(
            session.execute(
                table.insert().returning(table.c.id),
                {
                    "campaign_id": None,
                    "appeal_slug": letter.appeal_slug,
                    "recipient_id": item.recipient_id,
                    "recipient_key": item.recipient.key,
                    "to_address": letter.to_address,
                    "address_hash": address_hash(letter.to_address),
                    "domain": domain_of(letter.to_address).lower(),
                    "language": letter.language,
                    "subject": letter.subject,
                    "demand_keys": "|".join(letter.demand_keys),
                    "token": letter.token,
                    "message_id": letter.message_id,
                    "mime": letter.mime,
                    "state": LetterState.QUEUED,
                    "send_after": now,
                    "due_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
        )
        ids.append(letter_id)
        subject = item.recipient.key
        if item.repeats:
            record_event(
                session,
                actor,
                "letter.resend",
                subject,
                letter=letter_id,
                earlier=item.repeats,
                reason=(again_reason or "").strip(),
            )
        else:
            record_event(session, actor, "letter.adhoc", subject, letter=letter_id)
    return ids

"""Ad hoc letters: one appeal to chosen recipients now, outside any campaign, same state machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from outreach.addresses import address_key, parse_address
from outreach.eligibility import why_not_sendable
from outreach.errors import InputError, LetterError
from outreach.letter import Composer, Letter
from outreach.message import domain_of
from outreach.models import Letter as LetterRow
from outreach.models import LetterState, Recipient
from outreach.recipients.record import RecipientKind, RecipientRecord, Role
from outreach.recipients.segment import parse_where, to_conditions
from outreach.recipients.table import iter_recipients, to_record
from outreach.suppression import address_hash

# A letter in any of these states means the appeal went, or is going, to that address.
ALREADY = (
    LetterState.QUEUED,
    LetterState.CLAIMED,
    LetterState.SENDING,
    LetterState.SENT,
    LetterState.DEFERRED,
    LetterState.UNKNOWN,
    LetterState.BOUNCED,
    LetterState.REPLIED,
)


@dataclass(frozen=True, slots=True)
class AdHoc:
    """One intended letter: made, or the reason it will not be sent."""

    recipient: RecipientRecord
    recipient_id: int | None
    letter: Letter | None
    reason: str | None


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
    """Make every letter, or say why one will not be sent (suppressed, already sent, no letter)."""
    prepared: list[AdHoc] = []
    for recipient, recipient_id in targets(session, to, where):
        reason = why_not_sendable(session, recipient)
        if reason is None and recipient.email and not again:
            reason = already_sent(session, composer.appeal.slug, recipient.email)
        if reason is not None:
            prepared.append(AdHoc(recipient, recipient_id, None, reason))
            continue
        try:
            letter = composer.compose(recipient, language=language, date=now)
        except LetterError as exc:
            prepared.append(AdHoc(recipient, recipient_id, None, str(exc)))
            continue
        prepared.append(AdHoc(recipient, recipient_id, letter, None))
    return prepared


def already_sent(session: Session, slug: str, address: str) -> str | None:
    """Why not to send this appeal to this address again, if it went there before."""
    earlier = session.exec(
        select(LetterRow)
        .where(
            LetterRow.appeal_slug == slug,
            LetterRow.address_hash == address_hash(address),
            col(LetterRow.state).in_(ALREADY),
        )
        .order_by(col(LetterRow.id))
    ).first()
    if earlier is None:
        return None
    return (
        f"this appeal already went to {address} (letter {earlier.id}, {earlier.state.value}); "
        "add --again to send it once more"
    )


def enqueue(session: Session, prepared: list[AdHoc], *, now: dt.datetime) -> list[int]:
    """Store the letters, due now, outside any campaign; returns their ids."""
    ids = []
    for item in prepared:
        letter = item.letter
        if letter is None:
            continue
        table = LetterRow.__table__  # type: ignore[attr-defined]
        ids.append(
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
    return ids

"""One appeal, one letter per mailbox: who has this appeal already, and who shares a mailbox.

"Not twice" holds across the whole life of an appeal: a second campaign, an ad hoc send and a
re-import must not write again to a mailbox the appeal went to (or is going to), and two
recipients at one mailbox get one letter. A follow-up in the letter's own thread is no repeat.
A deliberate re-send is explicit, has a reason, and is audited (`Resend`).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, func, select

from outreach.addresses import address_key
from outreach.errors import InputError
from outreach.models import Campaign, LetterState, Recipient, RecipientStatus, Role
from outreach.models import Letter as LetterRow
from outreach.recipients.record import RecipientRecord
from outreach.suppression import address_hash

# A letter in any of these states means the appeal went, may have gone, or is going to that
# mailbox. Not: failed (refused for good), suppressed, skipped, cancelled, duplicate.
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
class Earlier:
    """A letter of the appeal that went, or may go, to a mailbox."""

    letter_id: int
    state: LetterState
    campaign: str | None  # None for an ad hoc letter
    recipient_key: str

    def describe(self) -> str:
        """Where the earlier letter is, in words: "letter 17 of campaign spring-2026, sent"."""
        where = f"campaign {self.campaign}" if self.campaign else "an ad hoc send"
        return f"letter {self.letter_id} of {where}, {self.state.value}"


def earlier_letter(
    session: Session, slug: str, address: str, *, besides: int | None = None
) -> Earlier | None:
    """The first letter of this appeal to this mailbox that was sent or may be, if any.

    `besides`: a campaign whose own letters do not count (checking an approved campaign again
    must not find its letters repeats of themselves).
    """
    query = (
        select(LetterRow, Campaign.name)
        .outerjoin(Campaign, col(Campaign.id) == col(LetterRow.campaign_id))
        .where(
            LetterRow.appeal_slug == slug,
            LetterRow.address_hash == address_hash(address),
            col(LetterRow.state).in_(ALREADY),
        )
        .order_by(col(LetterRow.id))
    )
    if besides is not None:
        query = query.where(
            sa.or_(col(LetterRow.campaign_id).is_(None), col(LetterRow.campaign_id) != besides)
        )
    found = session.exec(query).first()
    if found is None:
        return None
    letter, campaign = found
    assert letter.id is not None
    return Earlier(letter.id, LetterState(letter.state), campaign, letter.recipient_key)


def lock_appeal(session: Session, slug: str) -> None:
    """Serialise the writers of one appeal's letters until the transaction ends.

    Two approvals (or an approval and an ad hoc send) running at once must not both find a
    mailbox unwritten. SQLite needs nothing: its writers hold the database lock from BEGIN
    IMMEDIATE on. PostgreSQL takes a transaction-scoped advisory lock on the appeal.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(slug))))


def rank(recipient: Recipient) -> tuple[int, bool, str]:
    """Who a shared mailbox's letter is addressed to: the first in this order.

    The highest priority (1 before 3), then a named person before an office (the letter can
    then use the person's form of address), then the key, so the choice is stable.
    """
    return (recipient.priority, recipient.role is Role.OFFICE, recipient.key)


def shared_mailboxes(
    session: Session, conditions: list[ColumnElement[bool]]
) -> dict[str, list[Recipient]]:
    """The mailboxes that several active recipients of the segment share, with those
    recipients in the order they are offered its one letter (`rank`).

    Keys are the addresses' comparison form (`address_key`). One grouped query finds the
    shared mailboxes (few, in practice), then their members.
    """
    shared = select(Recipient.email_key).where(
        *conditions,
        col(Recipient.email_key).is_not(None),
        Recipient.status == RecipientStatus.ACTIVE,
    )
    keys = list(session.exec(shared.group_by(Recipient.email_key).having(func.count() > 1)).all())
    members: dict[str, list[Recipient]] = {}
    for start in range(0, len(keys), 500):
        for member in session.exec(
            select(Recipient).where(
                *conditions,
                col(Recipient.email_key).in_(keys[start : start + 500]),
                Recipient.status == RecipientStatus.ACTIVE,
            )
        ):
            assert member.email_key is not None
            members.setdefault(member.email_key, []).append(member)
    return {mailbox: sorted(found, key=rank) for mailbox, found in members.items()}


@dataclass(frozen=True, slots=True)
class Resend:
    """A deliberate re-send: to whom (keys or addresses, or everyone) and why.

    It waives only the "already written" check: suppression, status and the one letter per
    mailbox within a campaign still hold.
    """

    reason: str = ""
    everyone: bool = False
    targets: frozenset[str] = frozenset()  # recipient keys and address comparison forms

    @classmethod
    def of(cls, targets: list[str], *, everyone: bool, reason: str | None) -> Resend:
        """A re-send from command-line values; refused without a reason."""
        if not targets and not everyone:
            if reason:
                raise InputError("--reason goes with --resend KEY|EMAIL or --resend-all")
            return cls()
        if not reason or not reason.strip():
            raise InputError(
                "a re-send needs --reason: say why this appeal goes again to a mailbox that "
                "has it (it is kept in the audit trail)"
            )
        keys = frozenset(address_key(t) if "@" in t else t for t in targets)
        return cls(reason.strip(), everyone, keys)

    def __bool__(self) -> bool:
        """Whether anyone is re-sent to."""
        return self.everyone or bool(self.targets)

    def covers(self, recipient: RecipientRecord) -> bool:
        """Whether this recipient is to be written to again."""
        return self.everyone or bool(self.named(recipient))

    def named(self, recipient: RecipientRecord) -> set[str]:
        """The targets that name this recipient (by key or by address)."""
        email = address_key(recipient.email) if recipient.email else None
        return {target for target in self.targets if target in (recipient.key, email)}


NO_RESEND = Resend()

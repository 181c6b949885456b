"""What is held about one person: the one place that decides it, for export and for erasure.

A person's own rows are their record, every letter written to them (follow-ups of their
threads included), the attempts to deliver those, every message tied to those letters, sent
from one of their addresses or bouncing one of them (matched to a letter or not), the positions
coded from those, the suppression entries of their addresses, and the audit entries about them
or about those letters and messages. Anything else that names them (an address, the key, the
full name) is a mention: a column of someone else's row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from outreach.addresses import address_key
from outreach.errors import InputError
from outreach.mentions import Identity, folded, identity_of
from outreach.models import (
    Attempt,
    AuditEvent,
    InboundMessage,
    Letter,
    Position,
    Recipient,
    Suppression,
)
from outreach.recipients.table import get_recipient
from outreach.suppression import address_hash

# Tables never searched for mentions: other people's own records (a homonym's name is theirs),
# the staff's accounts, and Alembic's bookkeeping.
UNSEARCHED_TABLES = frozenset({"recipient", "user_account", "alembic_version"})
# Digests, kept on purpose: the address hash makes the suppression work, and an inbound
# message's dedup key lets a re-import recognise a message already taken in (and erased).
UNSEARCHED_COLUMNS = frozenset({"address_hash", "dedup_key"})
# Columns holding whole MIME messages from outside, whose mentions may be encoded.
MESSAGE_COLUMNS = frozenset({("inbound_message", "raw")})
BATCH = 200


@dataclass(frozen=True, slots=True)
class Mention:
    """A column of a row that is not the person's own but names them."""

    table: str
    row_id: int
    column: str


@dataclass(frozen=True, slots=True)
class Footprint:
    """Everything held about one person, found once for both export and erasure."""

    recipient: Recipient
    identity: Identity
    # False when another recipient bears the same family name: names are then looked for
    # only in the person's own rows, never in other rows, which may be about the other one.
    with_names: bool
    shared: tuple[tuple[str, str], ...]  # (address, other key): addresses others hold now
    # (other key, field): other recipients' records that name the person (an office called
    # after them): staff's data about someone else, which staff correct, never the erasure.
    named_by: tuple[tuple[str, str], ...]
    suppressions: tuple[Suppression, ...]
    letters: tuple[Letter, ...]
    attempts: tuple[Attempt, ...]
    messages: tuple[InboundMessage, ...]
    positions: tuple[Position, ...]
    events: tuple[AuditEvent, ...]  # about the person: their key or address is the subject
    related_events: tuple[AuditEvent, ...]  # about their letters and messages, by id
    mentions: tuple[Mention, ...]

    def own_rows(self) -> dict[str, set[int]]:
        """The ids of the person's own rows, by table."""
        rows: dict[str, Iterable[object]] = {
            "letter": self.letters,
            "attempt": self.attempts,
            "inbound_message": self.messages,
            "position": self.positions,
            "suppression": self.suppressions,
            "audit_event": (*self.events, *self.related_events),
        }
        return {
            table: {getattr(row, "id") for row in items}  # noqa: B009 (rows of several models)
            for table, items in rows.items()
        }


def comparison_key(address: str) -> str | None:
    """The suppression list's form of an address, or None for text that is not one."""
    try:
        return address_key(address)
    except InputError:
        return None


def find_footprint(session: Session, key: str, *, mentions: bool = True) -> Footprint:
    """Everything held about the recipient with this key (NotFoundError if there is none);
    without `mentions`, the search of every other row for them is left out."""
    row = get_recipient(session, key)
    letters = own_letters(session, row)
    own, shared = own_addresses(session, row, letters)
    identity = identity_of(
        key,
        own,
        given_name=row.given_name,
        family_name=row.family_name,
        courtesy_title=row.courtesy_title,
    )
    letter_ids = [letter.id for letter in letters if letter.id is not None]
    messages = own_messages(session, letter_ids, identity.address_keys())
    message_ids = [message.id for message in messages if message.id is not None]
    events, related = own_events(session, identity, letter_ids, message_ids)
    footprint = Footprint(
        recipient=row,
        identity=identity,
        with_names=not has_namesake(session, row),
        shared=tuple(shared),
        named_by=tuple(records_naming(session, identity, row)),
        suppressions=tuple(
            session.exec(
                select(Suppression).where(
                    col(Suppression.address_hash).in_([address_hash(a) for a in own])
                )
            )
        ),
        letters=tuple(letters),
        attempts=tuple(
            session.exec(
                select(Attempt)
                .where(col(Attempt.letter_id).in_(letter_ids))
                .order_by(col(Attempt.id))
            )
        ),
        messages=tuple(messages),
        positions=tuple(own_positions(session, letter_ids, message_ids)),
        events=tuple(events),
        related_events=tuple(related),
        mentions=(),
    )
    if not mentions:
        return footprint
    found = find_mentions(
        session.connection(), identity, with_names=footprint.with_names, skip=footprint.own_rows()
    )
    return dataclasses.replace(footprint, mentions=tuple(found))


# The fields of another recipient's record that may name the person (addresses are `shared`).
NAMING_FIELDS = ("given_name", "family_name", "organisation", "city", "tags", "source")


def records_naming(
    session: Session, identity: Identity, row: Recipient
) -> Iterator[tuple[str, str]]:
    """Other recipients whose record names the person by key or full name, and the field."""
    others = select(Recipient).where(col(Recipient.id) != row.id)
    for other in session.exec(others.execution_options(yield_per=BATCH)):
        for name in NAMING_FIELDS:
            value = getattr(other, name)
            if value and identity.names_in(value):
                yield other.key, name


def own_addresses(
    session: Session, row: Recipient, letters: list[Letter]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Every address the person had (their record's, their letters'), less those another
    recipient has now, and those, each with the other's key."""
    addresses = [row.email or "", *(letter.to_address for letter in letters)]
    spelled = list(dict.fromkeys(address for address in addresses if address))
    shared = held_by_others(session, row, spelled)
    taken = {comparison_key(address) for address, _ in shared}
    return [a for a in spelled if comparison_key(a) not in taken], shared


def own_positions(
    session: Session, letter_ids: list[int], message_ids: list[int]
) -> Iterable[Position]:
    """The positions coded from the person's messages or on their letters."""
    return session.exec(
        select(Position)
        .where(
            sa.or_(
                col(Position.inbound_id).in_(message_ids),
                col(Position.letter_id).in_(letter_ids),
            )
        )
        .order_by(col(Position.id))
    )


def own_letters(session: Session, row: Recipient) -> list[Letter]:
    """The letters written to the person, with their threads.

    A key may name a role that passes from one holder to the next (`emb-fr-am-head`), and a
    re-import then updates the record: a letter under the key to another address is theirs
    only if it names them (their full name in its bytes), or if the record is an office's,
    which has no person to confuse. The previous ambassador's letters are not the next one's.
    """
    current = [row.email] if row.email else []
    digests = [address_hash(address) for address in current]
    namer = identity_of(
        row.key,
        current,
        given_name=row.given_name,
        family_name=row.family_name,
        courtesy_title=row.courtesy_title,
    )
    conditions = [col(Letter.recipient_id) == row.id, col(Letter.recipient_key) == row.key]
    if digests:
        conditions.append(col(Letter.address_hash).in_(digests))
    found: dict[int | None, Letter] = {}
    for letter in session.exec(select(Letter).where(sa.or_(*conditions))):
        if (
            letter.address_hash in digests
            or row.family_name is None
            or (letter.mime and namer.message_names(bytes(letter.mime)))
        ):
            found[letter.id] = letter
    # A thread is one conversation: its first letter and every follow-up go together.
    roots = {letter.thread_id or letter.id for letter in found.values()}
    for letter in session.exec(
        select(Letter).where(sa.or_(col(Letter.id).in_(roots), col(Letter.thread_id).in_(roots)))
    ):
        found.setdefault(letter.id, letter)
    return sorted(found.values(), key=lambda letter: letter.id or 0)


def held_by_others(
    session: Session, row: Recipient, addresses: Iterable[str]
) -> list[tuple[str, str]]:
    """The person's addresses that another recipient has now, with that recipient's key."""
    by_key: dict[str, str] = {}
    for address in addresses:  # the first spelling is the record's own
        if (k := comparison_key(address)) is not None:
            by_key.setdefault(k, address)
    if not by_key:
        return []
    others = session.exec(
        select(Recipient.key, Recipient.email_key).where(
            col(Recipient.email_key).in_(list(by_key)), col(Recipient.id) != row.id
        )
    )
    return sorted((by_key[email_key], other) for other, email_key in others if email_key)


def has_namesake(session: Session, row: Recipient) -> bool:
    """Whether another recipient has the same family name (compared without case or accents)."""
    if not row.family_name:
        return False
    wanted = folded(row.family_name).casefold()
    others = session.exec(
        select(Recipient.family_name).where(
            col(Recipient.id) != row.id, col(Recipient.family_name).is_not(None)
        )
    )
    return any(folded(name).casefold() == wanted for name in others if name)


def own_messages(session: Session, letter_ids: list[int], keys: set[str]) -> list[InboundMessage]:
    """Messages tied to the person's letters, sent from their address, or bouncing it."""
    ids = set(
        session.exec(select(InboundMessage.id).where(col(InboundMessage.letter_id).in_(letter_ids)))
    )
    # Senders and bounced addresses are compared in their suppression form (case, IDN), which
    # SQL cannot compute: only these two short columns of every message are read for it.
    candidates = session.exec(
        select(InboundMessage.id, InboundMessage.sender, InboundMessage.bounce_addresses)
    )
    for message_id, sender, bounced in candidates:
        named = [sender or "", *bounced.split("|")]
        if any(comparison_key(address) in keys for address in named if address):
            ids.add(message_id)
    return list(
        session.exec(
            select(InboundMessage)
            .where(col(InboundMessage.id).in_(ids))
            .order_by(col(InboundMessage.id))
        )
    )


def own_events(
    session: Session, identity: Identity, letter_ids: list[int], message_ids: list[int]
) -> tuple[list[AuditEvent], list[AuditEvent]]:
    """Audit entries about the person, and those about their letters and messages."""
    about: list[AuditEvent] = []
    related: list[AuditEvent] = []
    letters = {str(letter_id) for letter_id in letter_ids}
    messages = {str(message_id) for message_id in message_ids}
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if identity.names_in(event.subject) or event.subject == identity.key:
            about.append(event)
        elif (event.action.startswith("letter.") and event.subject in letters) or (
            event.action.startswith("reply.") and event.subject in messages
        ):
            related.append(event)
    return about, related


def searched_columns(connection: Connection) -> Iterator[tuple[sa.Table, list[sa.Column[object]]]]:
    """Every table of the database with the text and binary columns to search, as reflected
    from the database itself, so that a table or column added later is searched too."""
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    for table in metadata.sorted_tables:
        if table.name in UNSEARCHED_TABLES or "id" not in table.c:
            continue
        columns = [
            column
            for column in table.c
            if isinstance(column.type, (sa.String, sa.LargeBinary))
            and column.name not in UNSEARCHED_COLUMNS
        ]
        if columns:
            yield table, columns


def find_mentions(
    connection: Connection,
    identity: Identity,
    *,
    with_names: bool,
    skip: dict[str, set[int]] | None = None,
) -> list[Mention]:
    """Every column of every row, other than those in `skip`, that names the person."""
    skip = skip or {}
    found = []
    for table, columns in searched_columns(connection):
        ignored = skip.get(table.name, set())
        statement = sa.select(table.c.id, *columns).execution_options(yield_per=BATCH)
        for row in connection.execute(statement):
            if row.id in ignored:
                continue
            for column in columns:
                value = row._mapping[column.name]
                if value and names(identity, table.name, column.name, value, with_names):
                    found.append(Mention(table.name, row.id, column.name))
    return found


def names(identity: Identity, table: str, column: str, value: object, with_names: bool) -> bool:
    """Whether one stored value names the person."""
    if isinstance(value, str):
        return identity.names_in(value, with_names=with_names)
    raw = bytes(value)  # type: ignore[call-overload]  # bytes, or memoryview from psycopg
    if (table, column) in MESSAGE_COLUMNS:
        return identity.message_names(raw, with_names=with_names)
    return identity.bytes_name(raw, with_names=with_names)

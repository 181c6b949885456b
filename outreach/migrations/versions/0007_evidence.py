"""inbound matches carry a strength: evidence before effect

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

Rows taken in before this migration had their effects at once, whatever the evidence. They are
marked so that what they already did stays consistent with what the reports count:
- matched by hand: confirmed (a person chose the letter);
- matched by token, In-Reply-To or a bounce's returned original: verified, noted as taken in
  before the checks (their effects happened and are kept; nothing is re-judged);
- matched by the sender's or reported address only, which staff were already told to confirm:
  for review, unless someone has coded positions on it (then a person acted on it: confirmed).
  Their effects (a letter marked replied or bounced, a suppression) happened before this
  migration and are not undone here; the reports leave them out until a person confirms.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BEFORE = "taken in before evidence checks (migration 0007)"


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(sa.Column("match_strength", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("match_note", sa.String(length=1000), nullable=False, server_default="")
        )
        batch.create_index(
            batch.f("ix_inbound_message_match_strength"), ["match_strength"], unique=False
        )
    table = sa.table(
        "inbound_message",
        sa.column("id", sa.Integer),
        sa.column("letter_id", sa.Integer),
        sa.column("match_method", sa.String),
        sa.column("match_strength", sa.String),
        sa.column("match_note", sa.String),
        sa.column("review", sa.Boolean),
    )
    position = sa.table("position", sa.column("inbound_id", sa.Integer))
    coded = sa.exists().where(position.c.inbound_id == table.c.id)
    matched = table.c.letter_id.is_not(None)
    connection = op.get_bind()
    connection.execute(
        table.update()
        .where(matched, table.c.match_method == "manual")
        .values(match_strength="confirmed", match_note="matched by hand (before migration 0007)")
    )
    connection.execute(
        table.update()
        .where(matched, table.c.match_method.in_(["token", "in_reply_to", "original"]))
        .values(match_strength="verified", match_note=BEFORE)
    )
    connection.execute(
        table.update()
        .where(matched, table.c.match_method == "sender", coded)
        .values(match_strength="confirmed", match_note="coded by a person (before migration 0007)")
    )
    connection.execute(
        table.update()
        .where(matched, table.c.match_method == "sender", ~coded)
        .values(
            match_strength="for_review",
            review=True,
            match_note="matched by the sender's or reported address only, before migration 0007 "
            "(its effects then were applied): confirm or reject it",
        )
    )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_index(batch.f("ix_inbound_message_match_strength"))
        batch.drop_column("match_note")
        batch.drop_column("match_strength")

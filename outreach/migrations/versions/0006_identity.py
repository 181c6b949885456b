"""inbound messages known by their content digest; letters left out as duplicates

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from outreach.inbox.identity import dedup_key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("inbound_message") as batch:
        batch.add_column(
            sa.Column("reused_message_id", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # The dedup key was the Message-ID: it becomes the content digest. Rows whose bytes were
    # erased keep their key (there is nothing to digest), as does a second row that digests
    # like an earlier one (it was stored twice before; both stay).
    connection = op.get_bind()
    table = sa.table(
        "inbound_message",
        sa.column("id", sa.Integer),
        sa.column("dedup_key", sa.String),
        sa.column("raw", sa.LargeBinary),
    )
    taken = set(connection.execute(sa.select(table.c.dedup_key)).scalars())
    last = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.dedup_key, table.c.raw)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(500)
        ).all()
        if not rows:
            break
        for row in rows:
            last = row.id
            if not row.raw:
                continue
            key = dedup_key(bytes(row.raw))
            if key == row.dedup_key or key in taken:
                continue
            taken.discard(row.dedup_key)
            taken.add(key)
            connection.execute(table.update().where(table.c.id == row.id).values(dedup_key=key))


def downgrade() -> None:
    """Revert this migration (dedup keys stay digests: they are unique either way)."""
    with op.batch_alter_table("inbound_message") as batch:
        batch.drop_column("reused_message_id")

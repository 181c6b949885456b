"""inbound messages, positions, mailbox cursors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "mailbox_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=500), nullable=False),
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("last_uid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox", "folder"),
    )
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=1000), nullable=False),
        sa.Column("message_id", sa.String(length=1000), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("date", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "reply",
                "auto_reply",
                "bounce",
                "unknown",
                name="inboundkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("review", sa.Boolean(), nullable=False),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=2000), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("return_date", sa.Date(), nullable=True),
        sa.Column("bounce_permanent", sa.Boolean(), nullable=True),
        sa.Column("bounce_status", sa.String(length=16), nullable=True),
        sa.Column("bounce_addresses", sa.String(length=2000), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=True),
        sa.Column(
            "match_method",
            sa.Enum(
                "token",
                "in_reply_to",
                "original",
                "sender",
                "manual",
                name="matchmethod",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_message_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inbound_message_letter_id"), ["letter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_message_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_message_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("demand_key", sa.String(length=64), nullable=False),
        sa.Column(
            "stance",
            sa.Enum(
                "supports",
                "commits",
                "noncommittal",
                "declines",
                "not_addressed",
                name="stance",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.String(length=4000), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("coded_by", sa.String(length=200), nullable=False),
        sa.Column("coded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_message.id"],
        ),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_position_current"), ["current"], unique=False)
        batch_op.create_index(batch_op.f("ix_position_inbound_id"), ["inbound_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_position_letter_id"), ["letter_id"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_position_letter_id"))
        batch_op.drop_index(batch_op.f("ix_position_inbound_id"))
        batch_op.drop_index(batch_op.f("ix_position_current"))

    op.drop_table("position")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_message_received_at"))
        batch_op.drop_index(batch_op.f("ix_inbound_message_message_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_message_letter_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_message_kind"))

    op.drop_table("inbound_message")
    op.drop_table("mailbox_cursor")

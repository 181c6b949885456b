"""campaigns, letters and delivery attempts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("appeal_slug", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=2000), nullable=False),
        sa.Column("window", sa.String(length=200), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_dates", sa.String(length=2000), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "approved",
                "running",
                "paused",
                "finished",
                "cancelled",
                name="campaignstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("pause_reason", sa.String(length=1000), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_name"), ["name"], unique=True)
        batch_op.create_index(batch_op.f("ix_campaign_state"), ["state"], unique=False)

    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("appeal_slug", sa.String(length=64), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("recipient_key", sa.String(length=64), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("demand_keys", sa.String(length=1000), nullable=False),
        sa.Column("token", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("mime", sa.LargeBinary(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "claimed",
                "sending",
                "sent",
                "deferred",
                "failed",
                "unknown",
                "suppressed",
                "skipped",
                "cancelled",
                "bounced",
                "replied",
                name="letterstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_letter_address_hash"), ["address_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_letter_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_letter_due", ["state", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_letter_recipient_id"), ["recipient_id"], unique=False)

    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "sent",
                "deferred",
                "failed",
                "unknown",
                name="attemptoutcome",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("enhanced_code", sa.String(length=16), nullable=True),
        sa.Column("reply", sa.String(length=2000), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letter.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_letter_id"), ["letter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attempt_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_started_at"))
        batch_op.drop_index(batch_op.f("ix_attempt_letter_id"))

    op.drop_table("attempt")
    with op.batch_alter_table("letter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letter_recipient_id"))
        batch_op.drop_index("ix_letter_due")
        batch_op.drop_index(batch_op.f("ix_letter_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_letter_address_hash"))

    op.drop_table("letter")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_state"))
        batch_op.drop_index(batch_op.f("ix_campaign_name"))

    op.drop_table("campaign")

"""recipients, suppression list and audit trail

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.String(length=4000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)

    op.create_table(
        "recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "embassy",
                "un_permanent_mission",
                "un_official",
                "un_special_procedure",
                "mep",
                "ministry",
                "eu_official",
                "other",
                name="recipientkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum(
                "ambassador",
                "charge_d_affaires",
                "permanent_representative",
                "minister",
                "secretary_general",
                "high_commissioner",
                "special_rapporteur",
                "mep",
                "office",
                name="role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("courtesy_title", sa.String(length=16), nullable=True),
        sa.Column(
            "gender",
            sa.Enum("m", "f", "unknown", name="gender", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("organisation", sa.String(length=300), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("host_country", sa.String(length=2), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("languages", sa.String(length=200), nullable=False),
        sa.Column("committees", sa.String(length=1000), nullable=False),
        sa.Column("delegations", sa.String(length=1000), nullable=False),
        sa.Column("political_group", sa.String(length=64), nullable=True),
        sa.Column("political_group_raw", sa.String(length=300), nullable=True),
        sa.Column("national_party", sa.String(length=300), nullable=True),
        sa.Column("tags", sa.String(length=1000), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "do_not_contact",
                name="recipientstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recipient", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recipient_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_recipient_email_key"), ["email_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_recipient_key"), ["key"], unique=True)
        batch_op.create_index(batch_op.f("ix_recipient_kind"), ["kind"], unique=False)

    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "manual",
                "request",
                "erasure",
                "bounce",
                name="suppressionsource",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppression_address_hash"), ["address_hash"], unique=True
        )


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_address_hash"))

    op.drop_table("suppression")
    with op.batch_alter_table("recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recipient_kind"))
        batch_op.drop_index(batch_op.f("ix_recipient_key"))
        batch_op.drop_index(batch_op.f("ix_recipient_email_key"))
        batch_op.drop_index(batch_op.f("ix_recipient_country"))

    op.drop_table("recipient")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")

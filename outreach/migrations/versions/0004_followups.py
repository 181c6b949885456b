"""follow-up steps, letters that follow up an earlier one, campaigns sent on any day

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "follow_up_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("after_days", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "number"),
    )
    op.create_index(
        op.f("ix_follow_up_step_campaign_id"), "follow_up_step", ["campaign_id"], unique=False
    )
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("every_day", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Existing letters are all first letters: step 0, no parent.
    with op.batch_alter_table("letter") as batch:
        batch.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_letter_parent_id", ["parent_id"])
        batch.create_foreign_key("fk_letter_parent_id", "letter", ["parent_id"], ["id"])
        batch.create_foreign_key("fk_letter_thread_id", "letter", ["thread_id"], ["id"])
        batch.create_index("ix_letter_thread_id", ["thread_id"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("letter") as batch:
        batch.drop_index("ix_letter_thread_id")
        batch.drop_constraint("fk_letter_thread_id", type_="foreignkey")
        batch.drop_constraint("fk_letter_parent_id", type_="foreignkey")
        batch.drop_constraint("uq_letter_parent_id", type_="unique")
        batch.drop_column("thread_id")
        batch.drop_column("parent_id")
        batch.drop_column("step")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("every_day")
    op.drop_index(op.f("ix_follow_up_step_campaign_id"), table_name="follow_up_step")
    op.drop_table("follow_up_step")

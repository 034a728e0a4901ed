"""inbox: updates stored before they are confirmed; request keys for tickets and announcements

Revision ID: 0008_inbox
Revises: 0006_patrol_hazard
Create Date: 2026-12-01 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

import bot.db.base

revision: str = "0008_inbox"
down_revision: str | None = "0007_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON()
            .with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
            .with_variant(sqlite.JSON(), "sqlite"),
            nullable=False,
        ),
        sa.Column("received_at", bot.db.base.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("handled_at", bot.db.base.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inbox_status", "inbox", ["status", "update_id"], unique=False)
    op.create_index(op.f("ix_inbox_received_at"), "inbox", ["received_at"], unique=False)
    with op.batch_alter_table("repair_tickets") as batch:
        batch.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_repair_tickets_request_key", ["request_key"])
    with op.batch_alter_table("announcements") as batch:
        batch.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_announcements_request_key", ["request_key"])


def downgrade() -> None:
    with op.batch_alter_table("announcements") as batch:
        batch.drop_constraint("uq_announcements_request_key", type_="unique")
        batch.drop_column("request_key")
    with op.batch_alter_table("repair_tickets") as batch:
        batch.drop_constraint("uq_repair_tickets_request_key", type_="unique")
        batch.drop_column("request_key")
    op.drop_index(op.f("ix_inbox_received_at"), table_name="inbox")
    op.drop_index("ix_inbox_status", table_name="inbox")
    op.drop_table("inbox")

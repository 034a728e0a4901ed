"""supervisor insight: ticket channel, first acceptance on time, 公示 opt-in, indexes for monthly figures

Revision ID: 0013_stats
Revises: 0012_fast_path
Create Date: 2026-12-01 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_stats"
down_revision: str | None = "0012_fast_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=10), server_default="chat", nullable=False))
        batch_op.add_column(sa.Column("accepted_on_time", sa.Boolean(), nullable=True))
        batch_op.create_index("ix_repair_tickets_compound_created", ["compound_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_repair_tickets_compound_resolved", ["compound_id", "resolved_at"], unique=False
        )
    with op.batch_alter_table("repair_policies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_figures", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # Patrol findings filed before this revision are known by the signup that made them.
    op.execute(
        "UPDATE repair_tickets SET channel = 'patrol' WHERE id IN "
        "(SELECT hazard_ticket_id FROM patrol_signups WHERE hazard_ticket_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("repair_policies", schema=None) as batch_op:
        batch_op.drop_column("public_figures")
    with op.batch_alter_table("repair_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_repair_tickets_compound_resolved")
        batch_op.drop_index("ix_repair_tickets_compound_created")
        batch_op.drop_column("accepted_on_time")
        batch_op.drop_column("channel")

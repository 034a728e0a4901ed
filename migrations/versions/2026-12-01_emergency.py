"""emergency alerts from typed messages: one ticket per message

Revision ID: 0010_emergency
Revises: 0006_patrol_hazard
Create Date: 2026-12-01 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_emergency"
down_revision: str | None = "0009_law_feedback"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repair_tickets") as batch:
        batch.add_column(sa.Column("alert_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_repair_tickets_alert_key", ["alert_key"])


def downgrade() -> None:
    with op.batch_alter_table("repair_tickets") as batch:
        batch.drop_constraint("uq_repair_tickets_alert_key", type_="unique")
        batch.drop_column("alert_key")

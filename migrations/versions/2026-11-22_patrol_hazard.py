"""patrol report → hazard ticket

Revision ID: 0006_patrol_hazard
Revises: 0005_law
Create Date: 2026-11-22 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_patrol_hazard"
down_revision: str | None = "0005_law"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patrol_signups") as batch:
        batch.add_column(sa.Column("hazard_ticket_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patrol_signups") as batch:
        batch.drop_column("hazard_ticket_id")

"""law feedback: why an answer was marked 👎

Revision ID: 0009_law_feedback
Revises: 0006_patrol_hazard
Create Date: 2026-12-01 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_law_feedback"
down_revision: str | None = "0008_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("law_feedback") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("law_feedback") as batch:
        batch.drop_column("reason")

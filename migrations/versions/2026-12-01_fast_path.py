"""fast path: indexes for the hot per-person lists (/mytickets, the points ledger)

Revision ID: 0012_fast_path
Revises: 0011_votes
Create Date: 2026-12-01 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_fast_path"
down_revision: str | None = "0011_votes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A person's newest tickets and ledger lines are read newest first by id, a few at a time: with the person
# first and the id second, that is a short walk down one index instead of a scan or a sort.
INDEXES = [
    ("ix_repair_tickets_reporter_newest", "repair_tickets", ["reporter_id", "id"]),
    ("ix_repair_followers_person_ticket", "repair_followers", ["person_id", "ticket_id"]),
    ("ix_points_entries_account_newest", "points_entries", ["account_id", "id"]),
    ("ix_points_entries_account_created", "points_entries", ["account_id", "created_at"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)

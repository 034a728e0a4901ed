"""identity: the points ledger can no longer be deleted along with a person

Binding now attaches a Telegram account to the roster's person instead of deleting a record; the database
refuses, rather than cascades, any delete of a person or account that still has ledger rows.

Revision ID: 0007_identity
Revises: 0006_patrol_hazard
Create Date: 2026-12-01 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_identity"
down_revision: str | None = "0006_patrol_hazard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, referred table)
LEDGER_KEYS = (
    ("points_accounts", "person_id", "people"),
    ("points_entries", "person_id", "people"),
    ("points_entries", "account_id", "points_accounts"),
    ("points_vouchers", "person_id", "people"),
    ("points_vouchers", "account_id", "points_accounts"),
)


def _set_ondelete(ondelete: str) -> None:
    for table in dict.fromkeys(t for t, _, _ in LEDGER_KEYS):
        with op.batch_alter_table(table) as batch:
            for _, column, referred in (k for k in LEDGER_KEYS if k[0] == table):
                name = f"fk_{table}_{column}_{referred}"
                batch.drop_constraint(name, type_="foreignkey")
                batch.create_foreign_key(name, referred, [column], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _set_ondelete("RESTRICT")


def downgrade() -> None:
    _set_ondelete("CASCADE")

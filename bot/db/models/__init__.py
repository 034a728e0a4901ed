"""All models, imported so that Base.metadata knows every table (Alembic autogenerate relies on it)."""

# Each capability's models register their tables by being imported.
from bot.db.models import announcements, events, law, patrols, points, repairs, votes  # noqa: F401
from bot.db.models.activity import ActivityRecord
from bot.db.models.community import (
    Building,
    Compound,
    GroupChat,
    Household,
    InviteCode,
    InviteRedemption,
    JoinRequest,
    Person,
    Residency,
    ResponsibilityArea,
    StaffRole,
    Unit,
)
from bot.db.models.delivery import InboxUpdate, OutboxMessage
from bot.db.models.persistence import PtbConversation, PtbStore

__all__ = [
    "ActivityRecord",
    "Building",
    "Compound",
    "GroupChat",
    "Household",
    "InboxUpdate",
    "InviteCode",
    "InviteRedemption",
    "JoinRequest",
    "OutboxMessage",
    "Person",
    "PtbConversation",
    "PtbStore",
    "Residency",
    "ResponsibilityArea",
    "StaffRole",
    "Unit",
]

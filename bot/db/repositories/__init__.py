from bot.db.repositories.activity import ActivityRepository
from bot.db.repositories.announcements import AnnouncementRepository
from bot.db.repositories.community import CommunityRepository
from bot.db.repositories.events import EventRepository
from bot.db.repositories.identity import IdentityRepository
from bot.db.repositories.inbox import InboxRepository
from bot.db.repositories.law import LawRepository
from bot.db.repositories.outbox import OutboxRepository
from bot.db.repositories.patrols import PatrolRepository
from bot.db.repositories.points import PointsRepository
from bot.db.repositories.repairs import RepairsRepository
from bot.db.repositories.stats import StatsRepository
from bot.db.repositories.votes import VoteRepository

__all__ = [
    "ActivityRepository",
    "AnnouncementRepository",
    "CommunityRepository",
    "EventRepository",
    "IdentityRepository",
    "InboxRepository",
    "LawRepository",
    "OutboxRepository",
    "PatrolRepository",
    "PointsRepository",
    "RepairsRepository",
    "StatsRepository",
    "VoteRepository",
]

from bot.db.repositories.community import CommunityRepository
from bot.db.repositories.outbox import OutboxRepository

__all__ = ["CommunityRepository", "OutboxRepository"]

"""The repairs vocabulary every repairs module shares: statuses, kinds of work, urgencies, ticket numbers.

A leaf: it imports nothing of the repairs services, so the services, their notices and the handlers can all
use it without a cycle."""

from __future__ import annotations

from enum import StrEnum

from bot.work_kinds import WorkKind


class TicketStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class Queue(StrEnum):
    BUTLER = "butler"
    MEDIATION = "mediation"
    DUTY = "duty"


class TimerKind(StrEnum):
    REMIND = "remind"
    ESCALATE = "escalate"
    AUTOCLOSE = "autoclose"


class Channel(StrEnum):
    """How a report came in (supervisor figures, intake by channel)."""

    CHAT = "chat"
    QR = "qr"
    GROUP = "group"
    STAFF = "staff"  # logged by staff for a resident who phoned or came to the office
    PATROL = "patrol"


class Viewer(StrEnum):
    """How the person looking at a ticket is related to it."""

    REPORTER = "reporter"
    FOLLOWER = "follower"
    STAFF = "staff"


ACTIVE_STATUSES: tuple[str, ...] = (TicketStatus.OPEN, TicketStatus.ACCEPTED)
KINDS: tuple[str, ...] = tuple(k.value for k in WorkKind)
URGENCIES: tuple[str, ...] = tuple(u.value for u in Urgency)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)


def number_of(ticket_id: int) -> str:
    return f"BX{ticket_id:05d}"

"""Who sees a command or a menu button. Each capability declares its own (bot/capability.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.roles import Role
from bot.services.views import PersonView

EVERYONE = "everyone"
UNREGISTERED = "unregistered"
RESIDENTS = "residents"  # has a home
REGISTERED = "registered"  # has a home or a role


@dataclass(frozen=True)
class Audience:
    kind: str = EVERYONE
    roles: frozenset[str] = frozenset()

    def admits(self, person: PersonView | None) -> bool:
        if self.roles:
            return person is not None and bool(person.role_names() & self.roles)
        if self.kind == EVERYONE:
            return True
        if self.kind == UNREGISTERED:
            return person is None or not person.is_registered
        if self.kind == RESIDENTS:
            return person is not None and bool(person.homes)
        if self.kind == REGISTERED:
            return person is not None and person.is_registered
        return False


def roles(*names: Role) -> Audience:
    return Audience(roles=frozenset(r.value for r in names))


@dataclass(frozen=True)
class CommandSpec:
    command: str
    description_key: str  # catalogue key
    audience: Audience
    order: int

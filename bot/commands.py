"""Which commands and menu buttons each kind of person sees. Capabilities add theirs here."""

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


COMMANDS: list[CommandSpec] = [
    CommandSpec("start", "cmd.start", Audience(), 0),
    CommandSpec("register", "cmd.register", Audience(UNREGISTERED), 5),
    CommandSpec("me", "cmd.me", Audience(REGISTERED), 80),
    CommandSpec("help", "cmd.help", Audience(), 90),
    CommandSpec("language", "cmd.language", Audience(), 91),
    CommandSpec("cancel", "cmd.cancel", Audience(), 95),
    CommandSpec("linkgroup", "cmd.linkgroup", roles(Role.ADMIN), 70),
]


def register_command(spec: CommandSpec) -> None:
    if all(c.command != spec.command for c in COMMANDS):
        COMMANDS.append(spec)


def commands_for(person: PersonView | None) -> list[CommandSpec]:
    return sorted((c for c in COMMANDS if c.audience.admits(person)), key=lambda c: c.order)

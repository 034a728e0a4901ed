"""Plain dataclasses the services return; handlers render them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HomeView:
    household_id: int
    compound_id: int
    compound_name: str
    building_id: int
    building: str
    unit_id: int
    unit: str
    room: str

    @property
    def label(self) -> str:
        return f"{self.compound_name} {self.building}{self.unit}{self.room}"


@dataclass(frozen=True)
class RoleView:
    role: str
    compound_id: int | None
    building_ids: tuple[int, ...] = ()
    work_kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class PersonView:
    id: int
    telegram_id: int | None
    name: str
    language: str | None
    homes: list[HomeView] = field(default_factory=list)
    roles: list[RoleView] = field(default_factory=list)

    @property
    def is_registered(self) -> bool:
        return bool(self.homes or self.roles)

    def has_role(self, *roles: str, compound_id: int | None = None) -> bool:
        for view in self.roles:
            if view.role in roles and (
                compound_id is None or view.compound_id is None or view.compound_id == compound_id
            ):
                return True
        return False

    def role_names(self) -> set[str]:
        return {view.role for view in self.roles}

    def compound_ids(self) -> set[int]:
        ids = {home.compound_id for home in self.homes}
        ids.update(view.compound_id for view in self.roles if view.compound_id is not None)
        return ids


@dataclass(frozen=True)
class Choice:
    id: int
    label: str

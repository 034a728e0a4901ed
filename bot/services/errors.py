from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.i18n import Translator


class UserFacingError(Exception):
    """A refusal the user should read: a catalogue key and its values, rendered in the user's language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class Problem(str):
    """One problem found in a file or a check: reads as its English line (logs, tests), and carries the
    catalogue key and values to be shown to the operator in their language (`render`)."""

    key: str
    values: dict[str, object]

    def __new__(cls, key: str, english: str, **values: object) -> Problem:
        problem = super().__new__(cls, english)
        problem.key = key
        problem.values = values
        return problem

    def render(self, t: Translator, language: str | None) -> str:
        values = {k: v.render(t, language) if isinstance(v, Problem) else v for k, v in self.values.items()}
        return t(language, self.key, **values)

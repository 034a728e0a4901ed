from __future__ import annotations


class UserFacingError(Exception):
    """A refusal the user should read: a catalogue key and its values, rendered in the user's language."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

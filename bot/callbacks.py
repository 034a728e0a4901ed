"""Callback data codec: "prefix:part:part", checked against Telegram's 64-byte limit when built.

Reading is defensive: the data comes from the client, so anything longer than Telegram allows, or a number our
ids can never be (above 2**63, which the database cannot even compare), reads as nothing — the press is then
answered like a stale button.
"""

from __future__ import annotations

CALLBACK_DATA_LIMIT = 64
# Database ids are signed 64-bit integers.
ID_MIN, ID_MAX = -(2**63), 2**63 - 1


class CallbackDataTooLong(ValueError):
    pass


def pack(prefix: str, *parts: str | int) -> str:
    data = ":".join([prefix, *(str(p) for p in parts)])
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise CallbackDataTooLong(data)
    return data


def is_valid(data: str | None) -> bool:
    return data is not None and 0 < len(data.encode()) <= CALLBACK_DATA_LIMIT


def unpack(data: str | None) -> list[str]:
    return data.split(":") if data is not None and is_valid(data) else [""]


def bounded_int(text: str | None) -> int | None:
    """A decimal id that fits the database, or None (an overlong, signed-oddly or non-numeric value)."""
    if text is None or not 0 < len(text) <= 20:
        return None
    digits = text[1:] if text[:1] == "-" else text
    if not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return value if ID_MIN <= value <= ID_MAX else None


def int_part(parts: list[str], index: int) -> int | None:
    if not 0 <= index < len(parts):
        return None
    return bounded_int(parts[index])


ArgType = type[int] | type[str]


class Button:
    """One kind of button, typed: `TICKET_VIEW = Button("rp", "view", int)`.

    `TICKET_VIEW.data(12)` builds "rp:view:12" (checked against the 64-byte limit), `TICKET_VIEW.pattern`
    is the handler's pattern, and `TICKET_VIEW.parse(query.data)` gives back `(12,)` — or None for anything a
    client could send that this button never made (a stale, forged or overlong press), which the handler
    answers like a stale button.
    """

    def __init__(self, prefix: str, verb: str, *args: ArgType) -> None:
        if ":" in prefix or ":" in verb:
            raise ValueError("a button's prefix and verb cannot contain ':'")
        self.prefix = prefix
        self.verb = verb
        self.args = args
        self.pattern = f"^{prefix}:{verb}" + ("$" if not args else ":")

    def data(self, *values: str | int) -> str:
        if len(values) != len(self.args):
            raise TypeError(f"{self.prefix}:{self.verb} takes {len(self.args)} values")
        for kind, value in zip(self.args, values, strict=True):
            if kind is int and not (isinstance(value, int) and ID_MIN <= value <= ID_MAX):
                raise TypeError(f"{self.prefix}:{self.verb} needs a database id, got {value!r}")
            if kind is str and (not isinstance(value, str) or ":" in value):
                raise TypeError(f"{self.prefix}:{self.verb} needs a text without ':', got {value!r}")
        return pack(self.prefix, self.verb, *values)

    def parse(self, data: str | None) -> tuple[int | str, ...] | None:
        parts = unpack(data)
        if parts[:2] != [self.prefix, self.verb] or len(parts) != 2 + len(self.args):
            return None
        values: list[int | str] = []
        for kind, text in zip(self.args, parts[2:], strict=True):
            if kind is int:
                number = bounded_int(text)
                if number is None:
                    return None
                values.append(number)
            else:
                values.append(text)
        return tuple(values)

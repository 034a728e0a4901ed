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

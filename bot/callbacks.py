"""Callback data codec: "prefix:part:part", checked against Telegram's 64-byte limit when built."""

from __future__ import annotations

CALLBACK_DATA_LIMIT = 64


class CallbackDataTooLong(ValueError):
    pass


def pack(prefix: str, *parts: str | int) -> str:
    data = ":".join([prefix, *(str(p) for p in parts)])
    if len(data.encode()) > CALLBACK_DATA_LIMIT:
        raise CallbackDataTooLong(data)
    return data


def unpack(data: str | None) -> list[str]:
    return (data or "").split(":")


def int_part(parts: list[str], index: int) -> int | None:
    try:
        return int(parts[index])
    except (IndexError, ValueError):
        return None

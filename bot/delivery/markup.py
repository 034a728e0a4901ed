"""Bot API reply_markup as plain JSON, so services can queue buttons without importing telegram."""

from __future__ import annotations

from typing import Any

Button = tuple[str, str]  # (label, callback_data)


def inline_keyboard(rows: list[list[Button]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [[{"text": text, "callback_data": data} for text, data in row] for row in rows]
    }


def url_keyboard(rows: list[list[tuple[str, str]]]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": text, "url": url} for text, url in row] for row in rows]}

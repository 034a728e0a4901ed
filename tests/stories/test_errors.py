"""Anything unexpected: a short friendly message with an error id; no trace reaches the user."""

from __future__ import annotations

import logging
import re

import pytest

from bot.services import people
from tests.factories import USERS
from tests.harness import Harness


async def test_unexpected_failure_gives_error_id_and_logs_the_trace(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded")

    monkeypatch.setattr(people, "whoami", broken)
    with caplog.at_level(logging.ERROR, logger="redbutler.errors"):
        replies = await harness.send(USERS.resident, "/me")
    text = replies[-1].text or ""
    match = re.search(r"编号告诉物业：([0-9a-f]{8})$", text)
    assert match is not None
    assert "RuntimeError" not in text and "Traceback" not in text and "database" not in text
    assert any(match.group(1) in record.getMessage() and record.exc_info for record in caplog.records)


async def test_english_user_gets_the_error_in_english(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = await harness.send(4001, "/start")
    await harness.press(4001, replies[-1], "English")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(people, "whoami", broken)
    replies = await harness.send(4001, "/me")
    assert "Sorry, something went wrong" in (replies[-1].text or "")


async def test_a_5000_character_message_is_answered(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "啊" * 5000)
    assert replies and len(replies[-1].text or "") < 4096

"""The conversation helpers shared by patrols, events, announcements and votes."""

from __future__ import annotations

from typing import Any

from bot.context import BotContext
from handlers.events import MessageDraft
from handlers.flows import draft_id
from handlers.patrols import ReportDraft


class _Context:
    """Just what the draft helpers read: user_data, and BotContext's own load/store."""

    def __init__(self, user_data: dict[str, Any]) -> None:
        self.user_data = user_data

    load = BotContext.load
    store = BotContext.store


def test_a_report_begun_before_the_drafts_were_typed_still_knows_its_shift() -> None:
    context = _Context({"patrol_report": 12})
    assert draft_id(context, ReportDraft, "shift_id") == 12  # type: ignore[arg-type]


def test_a_typed_draft_round_trips_under_the_same_key() -> None:
    context = _Context({})
    context.store(MessageDraft(event_id=7))  # type: ignore[misc]
    assert context.user_data == {"event_message": {"event_id": 7}}
    assert draft_id(context, MessageDraft, "event_id") == 7  # type: ignore[arg-type]


def test_no_draft_means_no_id() -> None:
    assert draft_id(_Context({}), ReportDraft, "shift_id") is None  # type: ignore[arg-type]
    assert draft_id(_Context({"patrol_report": "junk"}), ReportDraft, "shift_id") is None  # type: ignore[arg-type]

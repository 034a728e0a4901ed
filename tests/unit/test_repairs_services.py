"""The repairs services' rules on an in-memory unit of work: who may act, what a second press does, and who
hears about it — without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.db.models.repairs import RepairTicket
from bot.i18n import default_translator
from bot.roles import Role
from bot.services import repairs
from bot.services.errors import UserFacingError
from tests.unit.fakes import FakeCompound, FakeRepairsUnitOfWork

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REPORTER, BUTLER, OTHER_BUTLER, NEIGHBOUR = 1, 2, 3, 4


def tg(person_id: int) -> int:
    return 1000 + person_id


def world(**ticket_values: Any) -> tuple[FakeRepairsUnitOfWork, RepairTicket]:
    uow = FakeRepairsUnitOfWork()
    uow.community.compounds[1] = FakeCompound(1)
    uow.community.add_person(REPORTER, "王阿姨")
    uow.community.add_person(BUTLER, "李管家")
    uow.community.add_person(OTHER_BUTLER, "赵管家")
    uow.community.add_person(NEIGHBOUR, "邻居")
    uow.community.give_role(BUTLER, Role.BUTLER, 1)
    uow.community.give_role(OTHER_BUTLER, Role.BUTLER, 1)
    values: dict[str, Any] = {
        "id": 7,
        "compound_id": 1,
        "reporter_id": REPORTER,
        "household_id": 11,
        "place_id": None,
        "building_id": None,
        "place_label": "3栋1单元101",
        "public_label": "3栋",
        "kind": "plumbing_electric",
        "urgency": "normal",
        "description": "厨房漏水",
        "photos": [],
        "status": "open",
        "queue": "butler",
        "assignee_id": BUTLER,
        "escalation_level": 0,
        "needs_help": False,
        "reopen_count": 0,
        "version": 1,
        "last_person_action_at": NOW,
        "created_at": NOW,
        "stage_due_at": NOW + timedelta(hours=2),
        "rating": None,
        "last_urge_at": None,
    }
    values.update(ticket_values)
    ticket = uow.repairs.add(RepairTicket(**values))
    return uow, ticket


T = default_translator()


async def test_accepting_tells_the_reporter_and_starts_the_resolve_clock() -> None:
    uow, ticket = world()
    view = await repairs.accept(uow, T, tg(BUTLER), ticket.id, NOW)  # type: ignore[arg-type]
    assert view.status == "accepted" and view.assignee_name == "李管家"
    assert uow.commits == 1
    assert any("BX00007" in text for text in uow.outbox.to(tg(REPORTER)))
    assert uow.repairs.pending_timers(ticket.id) == ["escalate", "remind"]
    assert uow.rearmed  # the scheduler learns of the new due times once the change is committed
    assert uow.repairs.actions(ticket.id) == ["accepted"]


async def test_a_second_accept_is_refused_and_says_whose_it_is() -> None:
    uow, ticket = world()
    await repairs.accept(uow, T, tg(BUTLER), ticket.id, NOW)  # type: ignore[arg-type]
    with pytest.raises(UserFacingError) as mine:
        await repairs.accept(uow, T, tg(BUTLER), ticket.id, NOW)  # type: ignore[arg-type]
    assert mine.value.key == "repairs.already_yours"
    with pytest.raises(UserFacingError) as taken:
        await repairs.accept(uow, T, tg(OTHER_BUTLER), ticket.id, NOW)  # type: ignore[arg-type]
    assert taken.value.key == "repairs.already_taken" and taken.value.values["name"] == "李管家"
    assert uow.commits == 1


async def test_a_resident_cannot_accept_a_ticket() -> None:
    uow, ticket = world()
    with pytest.raises(UserFacingError) as refused:
        await repairs.accept(uow, T, tg(NEIGHBOUR), ticket.id, NOW)  # type: ignore[arg-type]
    assert refused.value.key == "repairs.not_staff"
    assert ticket.status == "open" and uow.outbox.messages == []


async def test_rating_closes_the_ticket_and_tells_the_butler() -> None:
    uow, ticket = world(status="resolved", resolved_at=NOW)
    uow.repairs.add_timer(ticket.id, "autoclose", NOW + timedelta(days=3), NOW)
    view = await repairs.rate(uow, T, tg(REPORTER), ticket.id, 5, NOW)  # type: ignore[arg-type]
    assert view.status == "closed" and view.rating == 5
    assert uow.repairs.pending_timers(ticket.id) == []  # no auto-close after the resident closed it
    assert any("⭐⭐⭐⭐⭐" in text for text in uow.outbox.to(tg(BUTLER)))


async def test_only_the_reporter_rates_and_only_once() -> None:
    uow, ticket = world(status="resolved", resolved_at=NOW)
    with pytest.raises(UserFacingError) as stranger:
        await repairs.rate(uow, T, tg(NEIGHBOUR), ticket.id, 1, NOW)  # type: ignore[arg-type]
    assert stranger.value.key == "repairs.not_yours"
    await repairs.rate(uow, T, tg(REPORTER), ticket.id, 4, NOW)  # type: ignore[arg-type]
    with pytest.raises(UserFacingError) as again:
        await repairs.rate(uow, T, tg(REPORTER), ticket.id, 1, NOW)  # type: ignore[arg-type]
    assert again.value.key == "repairs.already_rated" and ticket.rating == 4


async def test_urging_pings_the_butler_then_waits_before_the_next_urge() -> None:
    uow, ticket = world(status="accepted")
    await repairs.urge(uow, T, tg(REPORTER), ticket.id, NOW)  # type: ignore[arg-type]
    assert len(uow.outbox.to(tg(BUTLER))) == 1
    with pytest.raises(UserFacingError) as too_soon:
        await repairs.urge(uow, T, tg(REPORTER), ticket.id, NOW + timedelta(hours=1))  # type: ignore[arg-type]
    assert too_soon.value.key == "repairs.urge_too_soon"
    assert len(uow.outbox.to(tg(BUTLER))) == 1


async def test_a_late_urge_climbs_the_ladder_to_the_property_manager() -> None:
    uow, ticket = world(status="accepted", stage_due_at=NOW - timedelta(minutes=1))
    uow.community.add_person(5, "物业经理")
    uow.community.give_role(5, Role.PROPERTY_MANAGER, 1)
    await repairs.urge(uow, T, tg(REPORTER), ticket.id, NOW)  # type: ignore[arg-type]
    assert ticket.escalation_level == 1
    assert "escalated" in uow.repairs.actions(ticket.id)
    assert uow.outbox.to(tg(5))  # the manager hears of it


async def test_reopening_goes_back_to_the_butler_who_fixed_it() -> None:
    uow, ticket = world(status="resolved", resolved_at=NOW)
    view = await repairs.reopen(uow, T, tg(REPORTER), ticket.id, NOW)  # type: ignore[arg-type]
    assert view.status == "accepted" and view.assignee_name == "李管家"
    assert ticket.reopen_count == 1
    assert uow.outbox.to(tg(BUTLER))


async def test_completing_asks_the_reporter_for_stars_and_starts_the_auto_close_clock() -> None:
    uow, ticket = world(status="accepted")
    view = await repairs.complete(uow, T, tg(BUTLER), ticket.id, None, NOW)  # type: ignore[arg-type]
    assert view.status == "resolved"
    [notice] = [m for m in uow.outbox.messages if m.chat_id == tg(REPORTER)]
    buttons = [b["callback_data"] for row in notice.payload["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == [f"rp:rate:{ticket.id}:{n}" for n in range(1, 6)] + [f"rp:bad:{ticket.id}"]
    assert uow.repairs.pending_timers(ticket.id) == ["autoclose"]
    assert uow.rearmed


async def test_only_the_assignee_completes() -> None:
    uow, ticket = world(status="accepted")
    with pytest.raises(UserFacingError) as refused:
        await repairs.complete(uow, T, tg(OTHER_BUTLER), ticket.id, None, NOW)  # type: ignore[arg-type]
    assert refused.value.key == "repairs.not_assignee" and ticket.status == "accepted"


async def test_handing_back_to_the_duty_queue_needs_a_reason_and_alerts_the_manager() -> None:
    uow, ticket = world(status="accepted")
    uow.community.add_person(5, "物业经理")
    uow.community.give_role(5, Role.PROPERTY_MANAGER, 1)
    with pytest.raises(UserFacingError) as no_reason:
        await repairs.reassign(uow, T, tg(BUTLER), ticket.id, 0, "  ", NOW)  # type: ignore[arg-type]
    assert no_reason.value.key == "repairs.reason_needed"
    view = await repairs.reassign(uow, T, tg(BUTLER), ticket.id, 0, "需要电工证", NOW)  # type: ignore[arg-type]
    assert view.status == "open" and view.assignee_id is None and view.queue == "duty"
    assert uow.outbox.to(tg(5))  # the duty manager is asked to take it


async def test_the_board_counts_tickets_by_status_and_lists_the_late_ones() -> None:
    uow, ticket = world(status="accepted", stage_due_at=NOW - timedelta(hours=1))
    uow.repairs.add(RepairTicket(**{**_columns(ticket), "id": 8, "status": "closed", "rating": 2}))
    uow.repairs.add(RepairTicket(**{**_columns(ticket), "id": 9, "status": "open", "stage_due_at": None}))
    uow.community.add_person(6, "书记")
    uow.community.give_role(6, Role.SUPERVISOR, 1)
    board = await repairs.board(uow, tg(6), NOW)  # type: ignore[arg-type]
    assert board.counts == {"open": 1, "accepted": 1, "resolved": 0, "closed": 1}
    assert [t.id for t in board.overdue] == [7]
    assert [t.id for t in board.worst_rated] == [8]


def _columns(ticket: RepairTicket) -> dict[str, Any]:
    return {c.key: getattr(ticket, c.key) for c in RepairTicket.__table__.columns}

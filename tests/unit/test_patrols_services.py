"""Patrol sign-up on a fake unit of work: what volunteers and coordinators would notice, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db.models import Compound, Person
from bot.db.models.patrols import PatrolRoute, PatrolShift
from bot.i18n import Translator
from bot.roles import Role
from bot.services import patrols
from bot.services.errors import UserFacingError
from tests.unit.fakes import EventsFakeRole, PatrolsFakeUnitOfWork

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in the compound
COORDINATOR, LI, WANG, ZHAO = 100, 301, 302, 303


@pytest.fixture(scope="module")
def t() -> Translator:
    return Translator()


def _compound_with_a_shift(capacity: int = 1) -> tuple[PatrolsFakeUnitOfWork, int]:
    uow = PatrolsFakeUnitOfWork()
    uow.community.compound_rows.append(Compound(id=1, name="阳光花园", timezone="Asia/Shanghai"))
    for person_id, telegram_id, name in (
        (1, COORDINATOR, "王主任"),
        (2, LI, "老李"),
        (3, WANG, "小王"),
        (4, ZHAO, "赵姐"),
    ):
        uow.community.people.append(
            Person(id=person_id, telegram_id=telegram_id, display_name=name, language="zh_CN", reachable=True)
        )
    uow.community.roles[1] = [EventsFakeRole(Role.COORDINATOR.value, 1)]
    for person_id in (2, 3, 4):
        uow.community.roles[person_id] = [EventsFakeRole(Role.PATROL.value, 1)]
    uow.patrols.add(PatrolRoute(compound_id=1, name="东门—北门", radius_m=300, created_at=NOW))
    shift = PatrolShift(
        compound_id=1,
        route_id=uow.patrols.routes[0].id,
        starts_at=NOW + timedelta(days=2, hours=10),  # 20:00 local, two days on
        ends_at=NOW + timedelta(days=2, hours=12),
        capacity=capacity,
        status="open",
        created_at=NOW,
    )
    uow.patrols.add(shift)
    return uow, shift.id


async def test_signing_up_books_the_place_with_both_reminders_to_come(t: Translator) -> None:
    uow, shift_id = _compound_with_a_shift()
    result = await patrols.sign_up(uow, t, LI, shift_id, NOW)  # type: ignore[arg-type]
    assert result.status == "booked" and result.shift.booked == 1 and result.shift.free == 0
    assert set(result.reminders) == {"evening", "hour"}
    assert uow.rearmed == 1


async def test_a_full_shift_puts_the_next_volunteer_on_the_waiting_list(t: Translator) -> None:
    uow, shift_id = _compound_with_a_shift()
    await patrols.sign_up(uow, t, LI, shift_id, NOW)  # type: ignore[arg-type]
    result = await patrols.sign_up(uow, t, WANG, shift_id, NOW)  # type: ignore[arg-type]
    assert result.status == "waiting" and result.position == 1
    with pytest.raises(UserFacingError) as again:
        await patrols.sign_up(uow, t, WANG, shift_id, NOW)  # type: ignore[arg-type]
    assert again.value.key == "patrols.already_waiting"


async def test_someone_without_the_patrol_role_cannot_sign_up(t: Translator) -> None:
    uow, shift_id = _compound_with_a_shift()
    uow.community.roles[2] = []
    with pytest.raises(UserFacingError) as refused:
        await patrols.sign_up(uow, t, LI, shift_id, NOW)  # type: ignore[arg-type]
    assert refused.value.key == "patrols.not_volunteer"
    assert uow.patrols.signup_rows == []


async def test_a_cancelled_place_goes_to_the_first_waiting_who_is_told(t: Translator) -> None:
    uow, shift_id = _compound_with_a_shift()
    await patrols.sign_up(uow, t, LI, shift_id, NOW)  # type: ignore[arg-type]
    await patrols.sign_up(uow, t, WANG, shift_id, NOW + timedelta(minutes=1))  # type: ignore[arg-type]
    result = await patrols.cancel(uow, t, LI, shift_id, NOW + timedelta(hours=1))  # type: ignore[arg-type]
    assert result.status == "cancelled" and result.refilled_by == "waiting" and not result.late
    assert len(uow.outbox.to(WANG)) == 1
    assert uow.outbox.to(COORDINATOR) == []  # early enough: no late-cancel alarm


async def test_a_late_cancel_with_nobody_waiting_alerts_the_coordinator_and_offers_the_place(
    t: Translator,
) -> None:
    uow, shift_id = _compound_with_a_shift()
    await patrols.sign_up(uow, t, LI, shift_id, NOW)  # type: ignore[arg-type]
    late = NOW + timedelta(days=2, hours=5)  # five hours before the start, inside the 12-hour cut-off
    result = await patrols.cancel(uow, t, LI, shift_id, late)  # type: ignore[arg-type]
    assert result.late and result.refilled_by == "offer"
    assert len(uow.outbox.to(COORDINATOR)) == 1
    offered = [m for m in uow.outbox.messages if m.dedupe_key and m.dedupe_key.startswith("patrol-offer:")]
    assert {m.chat_id for m in offered} == {WANG, ZHAO}

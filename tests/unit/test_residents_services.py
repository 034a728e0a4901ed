"""Join requests on a fake unit of work: the approver's card, one decision however many press, the news."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import Translator
from bot.roles import Role
from bot.services import residents
from bot.services.errors import UserFacingError
from tests.unit.fakes import FakePeopleUnitOfWork

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NEWCOMER, LEADER, OTHER_LEADER, ADMIN = 2001, 2002, 2003, 2004


def world() -> tuple[FakePeopleUnitOfWork, int]:
    uow = FakePeopleUnitOfWork()
    home = uow.community.add_home(building="3栋", room="502")
    building = home.unit.building
    uow.community.add_staff(LEADER, "李组长", Role.BUILDING_LEADER, building.compound_id, [building.id])
    uow.community.add_staff(OTHER_LEADER, "赵组长", Role.BUILDING_LEADER, building.compound_id, [building.id])
    for person in uow.community.people.values():
        person.language = "en"
    return uow, home.id


async def ask(uow: FakePeopleUnitOfWork, household_id: int) -> residents.JoinRequestView:
    return await residents.request_join(uow, Translator(), NEWCOMER, "小陈", household_id, NOW, daily_limit=3)


async def test_a_join_request_reaches_each_building_leader_with_approve_and_reject() -> None:
    uow, household_id = world()
    request = await ask(uow, household_id)
    assert request.status == "pending" and request.home_label == "幸福小区 3栋1单元502"
    for leader in (LEADER, OTHER_LEADER):
        [card] = [m for m in uow.outbox.messages if m.chat_id == leader]
        assert "小陈 asks to link: 幸福小区 3栋1单元502" in card.payload["text"]
        [[approve, reject]] = card.payload["reply_markup"]["inline_keyboard"]
        assert (approve["text"], approve["callback_data"]) == ("✅ Approve", f"jr:ok:{request.id}")
        assert (reject["text"], reject["callback_data"]) == ("❌ Reject", f"jr:no:{request.id}")
    assert uow.woke_sender == 1


async def test_a_second_request_while_one_waits_is_refused() -> None:
    uow, household_id = world()
    await ask(uow, household_id)
    with pytest.raises(UserFacingError) as refused:
        await ask(uow, household_id)
    assert refused.value.key == "residents.join_pending"


async def test_without_an_approver_the_request_is_refused() -> None:
    uow = FakePeopleUnitOfWork()
    home = uow.community.add_home()
    with pytest.raises(UserFacingError) as refused:
        await residents.request_join(uow, Translator(), NEWCOMER, "小陈", home.id, NOW, daily_limit=3)
    assert refused.value.key == "residents.no_approver"
    assert uow.community.join_requests == {}


async def test_approval_binds_the_home_and_tells_the_requester_with_their_menu() -> None:
    uow, household_id = world()
    request = await ask(uow, household_id)
    menu = {"inline_keyboard": [[{"text": "🔧", "callback_data": "rp:new"}]]}
    decided = await residents.decide_join(
        uow, Translator(), request.id, LEADER, True, NOW + timedelta(minutes=5), menu_for=lambda _p, _l: menu
    )
    assert decided.status == "approved" and decided.decided_by_name == "李组长"
    newcomer = await uow.community.person_by_telegram(NEWCOMER)
    assert newcomer is not None
    assert [r.household_id for r in await uow.community.residencies_of(newcomer.id)] == [household_id]
    [news] = [m for m in uow.outbox.messages if m.chat_id == NEWCOMER]
    assert news.payload["reply_markup"] == menu


async def test_the_second_approver_is_told_who_decided_first_and_nothing_changes() -> None:
    uow, household_id = world()
    request = await ask(uow, household_id)
    await residents.decide_join(uow, Translator(), request.id, LEADER, False, NOW)
    sent = len(uow.outbox.messages)
    with pytest.raises(UserFacingError) as refused:
        await residents.decide_join(uow, Translator(), request.id, OTHER_LEADER, True, NOW)
    assert refused.value.key == "residents.join_already_decided"
    assert refused.value.values == {"status": "rejected", "name": "李组长"}
    assert len(uow.outbox.messages) == sent
    newcomer = await uow.community.person_by_telegram(NEWCOMER)
    assert newcomer is not None and await uow.community.residencies_of(newcomer.id) == []


async def test_someone_who_is_not_an_approver_cannot_decide() -> None:
    uow, household_id = world()
    request = await ask(uow, household_id)
    with pytest.raises(UserFacingError) as refused:
        await residents.decide_join(uow, Translator(), request.id, NEWCOMER, True, NOW)
    assert refused.value.key == "common.not_allowed"


async def test_a_household_invite_binds_the_home_once() -> None:
    uow, household_id = world()
    compound_id = uow.community.households[household_id].unit.building.compound_id
    uow.community.add_invite_code("ABCD2345", "household", compound_id, household_id=household_id)
    outcome = await residents.redeem_invite(uow, NEWCOMER, "小陈", " abcd-2345 ", NOW)
    assert outcome.kind == "bound_home" and outcome.home is not None
    assert outcome.home.label == "幸福小区 3栋1单元502"
    with pytest.raises(UserFacingError) as refused:
        await residents.redeem_invite(uow, NEWCOMER + 1, "小刘", "ABCD2345", NOW)
    assert refused.value.key == "residents.invite_used"


async def test_an_expired_invite_is_refused_and_binds_nothing() -> None:
    uow, household_id = world()
    compound_id = uow.community.households[household_id].unit.building.compound_id
    uow.community.add_invite_code(
        "ABCD2345", "household", compound_id, household_id=household_id, expires_at=NOW - timedelta(days=1)
    )
    with pytest.raises(UserFacingError) as refused:
        await residents.redeem_invite(uow, NEWCOMER, "小陈", "ABCD2345", NOW)
    assert refused.value.key == "residents.invite_expired"
    assert uow.community.redemptions == []

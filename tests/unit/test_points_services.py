"""Volunteer points services on a fake unit of work: what a resident, a merchant and staff would notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import Translator
from bot.roles import Role
from bot.services import points, points_awards, points_vouchers
from bot.services.errors import UserFacingError
from tests.unit.fakes import FakePeopleUnitOfWork

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
RESIDENT, LEADER, STRANGER = 1001, 1002, 1003


def world(balance: int = 0, stock: int | None = None) -> tuple[FakePeopleUnitOfWork, int]:
    uow = FakePeopleUnitOfWork()
    home = uow.community.add_home()
    compound_id = home.unit.building.compound_id
    resident = uow.community.add_resident(RESIDENT, "王阿姨", home, phone="13800000001")
    resident.language = "en"
    uow.community.add_staff(LEADER, "李组长", Role.ADMIN, compound_id)
    service = uow.points.add_shop(compound_id, "理发店", "剪发", cost=10, stock=stock)
    if balance:
        uow.points.give(resident.id, compound_id, balance)
    return uow, service.id


async def test_redeeming_holds_the_points_and_rearms_the_scheduler_once() -> None:
    uow, service_id = world(balance=25)
    voucher = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    assert voucher.status == "held" and voucher.balance == 15
    assert voucher.hold_until == NOW + timedelta(minutes=points.HOLD_MINUTES)
    assert uow.rearmed == 1  # the hold lapses on its own if not confirmed
    again = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    assert again.id == voucher.id and again.balance == 15  # the same press holds once


async def test_redeeming_more_than_the_balance_is_refused_and_holds_nothing() -> None:
    uow, service_id = world(balance=5)
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    assert refused.value.key == "points.not_enough"
    assert uow.points.vouchers == {} and uow.commits == 0
    resident = await uow.community.person_by_telegram(RESIDENT)
    assert resident is not None and uow.points.balance_of(resident.id) == 5


async def test_the_last_unit_of_stock_goes_once() -> None:
    uow, service_id = world(balance=50, stock=1)
    await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-2", NOW)
    assert refused.value.key == "points.out_of_stock"


async def test_confirming_makes_the_voucher_valid_and_a_second_confirm_changes_nothing() -> None:
    uow, service_id = world(balance=25)
    held = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    confirmed = await points_vouchers.confirm_redemption(uow, RESIDENT, held.id, NOW + timedelta(minutes=1))
    assert confirmed.status == "active" and confirmed.expires_at == NOW + timedelta(minutes=1, days=30)
    rearmed = uow.rearmed
    again = await points_vouchers.confirm_redemption(uow, RESIDENT, held.id, NOW + timedelta(minutes=2))
    assert again.status == "active" and again.expires_at == confirmed.expires_at
    assert uow.rearmed == rearmed  # nothing due moved


async def test_a_lapsed_hold_cannot_be_confirmed() -> None:
    uow, service_id = world(balance=25)
    held = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.confirm_redemption(
            uow, RESIDENT, held.id, NOW + timedelta(minutes=points.HOLD_MINUTES)
        )
    assert refused.value.key == "points.hold_lapsed"


async def test_cancelling_gives_the_points_back_once() -> None:
    uow, service_id = world(balance=25)
    held = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    cancelled = await points_vouchers.cancel_voucher(uow, RESIDENT, held.id, NOW)
    assert cancelled.status == "cancelled" and cancelled.balance == 25
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.cancel_voucher(uow, RESIDENT, held.id, NOW)
    assert refused.value.key == "points.voucher_cancelled"
    assert uow.points.balance_of(uow.points.vouchers[held.id].person_id) == 25


async def test_a_staff_award_tells_the_resident_and_counts_once_per_request() -> None:
    uow, _ = world()
    award = await points_awards.award_points(
        uow, Translator(), LEADER, "13800000001", 5, "帮邻居搬家", "msg-1", NOW
    )
    assert (award.person_name, award.amount, award.balance) == ("王阿姨", 5, 5)
    assert uow.outbox.to(RESIDENT) == ["⭐ You were awarded 5 points: 帮邻居搬家. You now have 5."]
    assert uow.woke_sender == 1
    again = await points_awards.award_points(
        uow, Translator(), LEADER, "13800000001", 5, "帮邻居搬家", "msg-1", NOW
    )
    assert again.entry_id == award.entry_id and again.balance == 5
    assert len(uow.outbox.to(RESIDENT)) == 1


async def test_a_resident_cannot_award_points() -> None:
    uow, _ = world()
    with pytest.raises(UserFacingError) as refused:
        await points_awards.award_points(uow, Translator(), RESIDENT, "王阿姨", 5, "自己", "msg-1", NOW)
    assert refused.value.key == "points.not_staff"
    assert uow.points.entries == [] and uow.outbox.messages == []


async def test_a_deduction_never_takes_the_balance_below_zero() -> None:
    uow, _ = world(balance=3)
    with pytest.raises(UserFacingError) as refused:
        await points_awards.award_points(
            uow, Translator(), LEADER, "王阿姨", 5, "误发", "msg-1", NOW, deduct=True
        )
    assert refused.value.key == "points.would_overdraft"
    assert uow.outbox.messages == []


async def test_a_stranger_is_asked_to_register_first() -> None:
    uow, service_id = world()
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.hold_redemption(uow, STRANGER, service_id, "press-1", NOW)
    assert refused.value.key == "points.not_registered"


MERCHANT = 1004


def with_merchant(uow: FakePeopleUnitOfWork, service_id: int) -> None:
    service = uow.points.services[service_id]
    merchant = uow.community.add_staff(MERCHANT, "钱老板", Role.MERCHANT, service.compound_id)
    uow.points.members.append((service.partner_id, merchant.id))


async def test_a_merchant_marks_a_voucher_used_once_and_the_owner_is_told() -> None:
    uow, service_id = world(balance=25)
    with_merchant(uow, service_id)
    held = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    await points_vouchers.confirm_redemption(uow, RESIDENT, held.id, NOW)
    used = await points_vouchers.verify_voucher(uow, Translator(), MERCHANT, held.code.lower(), NOW)
    assert used.status == "used" and used.used_at == NOW
    assert len(uow.outbox.to(RESIDENT)) == 1
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.verify_voucher(uow, Translator(), MERCHANT, held.code, NOW)
    assert refused.value.key == "points.voucher_used"
    assert len(uow.outbox.to(RESIDENT)) == 1


async def test_a_held_but_unconfirmed_voucher_cannot_be_used() -> None:
    uow, service_id = world(balance=25)
    with_merchant(uow, service_id)
    held = await points_vouchers.hold_redemption(uow, RESIDENT, service_id, "press-1", NOW)
    with pytest.raises(UserFacingError) as refused:
        await points_vouchers.verify_voucher(uow, Translator(), MERCHANT, held.code, NOW)
    assert refused.value.key == "points.hold_lapsed"

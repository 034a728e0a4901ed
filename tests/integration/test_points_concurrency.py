"""Integrity under load: many requests at once, each in its own unit of work, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from bot.db.models.points import PointsAccount
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import default_translator
from bot.services import points_vouchers
from bot.services.activity import record_activity
from bot.services.errors import UserFacingError
from bot.services.points_reports import audit
from tests.conftest import START
from tests.factories import USERS
from tests.points_helpers import (
    add_service,
    assert_audit_ok,
    balance,
    count_entries,
    give_points,
    ledger_sum,
    person_id,
    seed_catalogue,
    stock,
    vouchers,
)

NOW = START


async def _outcomes(tasks: list[asyncio.Future[object]] | list[object]) -> tuple[list[object], list[str]]:
    results = await asyncio.gather(*tasks, return_exceptions=True)  # type: ignore[arg-type]
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r.key for r in results if isinstance(r, UserFacingError)]
    crashed = [r for r in results if isinstance(r, BaseException) and not isinstance(r, UserFacingError)]
    assert not crashed, crashed[:3]
    return ok, refused


async def test_hundred_redemptions_at_one_balance_never_overdraw(uow_factory: UnitOfWorkFactory) -> None:
    await seed_catalogue(uow_factory, NOW)
    service_id = await add_service(uow_factory, NOW, name="并发测试", cost=2)
    await give_points(uow_factory, USERS.resident, 25, NOW, "start")

    ok, refused = await _outcomes(
        [
            points_vouchers.hold_redemption(uow_factory(), USERS.resident, service_id, f"burst:{i}", NOW)
            for i in range(100)
        ]
    )

    assert len(ok) == 12  # 25 // 2
    assert refused == ["points.not_enough"] * 88
    assert await balance(uow_factory, USERS.resident) == 1
    assert await ledger_sum(uow_factory, USERS.resident) == 1
    assert len(await vouchers(uow_factory, service_id)) == 12
    await assert_audit_ok(uow_factory)

    # Confirming all of them at once (twice each) issues each voucher once and moves no points.
    ids = [v.id for v in ok]  # type: ignore[attr-defined]
    confirmed, refused = await _outcomes(
        [points_vouchers.confirm_redemption(uow_factory(), USERS.resident, i, NOW) for i in ids + ids]
    )
    assert len(confirmed) == 24 and not refused
    assert {v.status for v in await vouchers(uow_factory, service_id)} == {"active"}
    assert await balance(uow_factory, USERS.resident) == 1
    await assert_audit_ok(uow_factory)


async def test_stock_never_goes_below_zero_with_many_people_at_once(uow_factory: UnitOfWorkFactory) -> None:
    await seed_catalogue(uow_factory, NOW)
    service_id = await add_service(uow_factory, NOW, name="限量体验课", cost=1, stock=7)
    people = [USERS.resident, USERS.neighbour, USERS.butler, USERS.patrol, USERS.admin]
    for telegram_id in people:
        await give_points(uow_factory, telegram_id, 50, NOW, f"stock:{telegram_id}")

    ok, refused = await _outcomes(
        [
            points_vouchers.hold_redemption(uow_factory(), people[i % 5], service_id, f"stock:{i}", NOW)
            for i in range(100)
        ]
    )

    assert len(ok) == 7
    assert set(refused) == {"points.out_of_stock"} and len(refused) == 93
    assert await stock(uow_factory, service_id) == 0
    spent = sum([50 - await balance(uow_factory, p) for p in people])
    assert spent == 7
    await assert_audit_ok(uow_factory)


async def test_per_person_limit_holds_under_concurrency(uow_factory: UnitOfWorkFactory) -> None:
    await seed_catalogue(uow_factory, NOW)
    service_id = await add_service(uow_factory, NOW, name="每人限三次", cost=1, limit=3)
    await give_points(uow_factory, USERS.resident, 40, NOW, "limit")

    ok, refused = await _outcomes(
        [
            points_vouchers.hold_redemption(uow_factory(), USERS.resident, service_id, f"limit:{i}", NOW)
            for i in range(30)
        ]
    )

    assert len(ok) == 3
    assert refused == ["points.over_limit"] * 27
    assert await balance(uow_factory, USERS.resident) == 37
    await assert_audit_ok(uow_factory)


async def test_a_voucher_is_used_once_however_many_merchants_scan_it(uow_factory: UnitOfWorkFactory) -> None:
    await seed_catalogue(uow_factory, NOW)
    await give_points(uow_factory, USERS.resident, 10, NOW, "verify")
    items = await points_vouchers.services_in(uow_factory(), USERS.resident, None)
    target = next(s for s in items if s.partner == "康乐社区诊所")
    held = await points_vouchers.hold_redemption(uow_factory(), USERS.resident, target.id, "v", NOW)
    await points_vouchers.confirm_redemption(uow_factory(), USERS.resident, held.id, NOW)
    t = default_translator()

    ok, refused = await _outcomes(
        [points_vouchers.verify_voucher(uow_factory(), t, USERS.merchant, held.code, NOW) for _ in range(50)]
    )

    assert len(ok) == 1
    assert refused == ["points.voucher_used"] * 49
    assert [v.status for v in await vouchers(uow_factory, target.id)] == ["used"]
    assert await balance(uow_factory, USERS.resident) == 10 - target.cost
    await assert_audit_ok(uow_factory)


async def test_cancel_and_expiry_racing_return_points_once(uow_factory: UnitOfWorkFactory) -> None:
    await seed_catalogue(uow_factory, NOW)
    service_id = await add_service(uow_factory, NOW, name="赛跑", cost=5, stock=3, days=1)
    await give_points(uow_factory, USERS.resident, 5, NOW, "race")
    held = await points_vouchers.hold_redemption(uow_factory(), USERS.resident, service_id, "race", NOW)
    await points_vouchers.confirm_redemption(uow_factory(), USERS.resident, held.id, NOW)
    later = NOW + timedelta(days=2)
    t = default_translator()

    results = await asyncio.gather(
        *[points_vouchers.cancel_voucher(uow_factory(), USERS.resident, held.id, later) for _ in range(5)],
        *[points_vouchers.close_due_voucher(uow_factory(), t, held.id, later) for _ in range(5)],
        return_exceptions=True,
    )

    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, UserFacingError)]
    assert await balance(uow_factory, USERS.resident) == 5
    assert await count_entries(uow_factory, kind="release") == 1
    assert await stock(uow_factory, service_id) == 3
    await assert_audit_ok(uow_factory)


async def test_the_same_activity_recorded_at_once_awards_once(uow_factory: UnitOfWorkFactory) -> None:
    await seed_catalogue(uow_factory, NOW)
    pid = await person_id(uow_factory, USERS.patrol)

    async def record() -> object:
        async with uow_factory() as uow:
            view = await record_activity(
                uow,
                source_key="shift:77:person:patrol",
                person_id=pid,
                compound_id=None,
                activity_type="patrol_shift",
                occurred_at=NOW,
                now=NOW,
            )
            await uow.commit()
            return view

    results = await asyncio.gather(*[record() for _ in range(20)], return_exceptions=True)

    # Late duplicates either see the first record or lose on the unique keys; none adds points.
    assert sum(1 for r in results if r is not None and not isinstance(r, BaseException)) == 1
    assert await balance(uow_factory, USERS.patrol) == 2
    assert await count_entries(uow_factory, kind="earn") == 1
    await assert_audit_ok(uow_factory)


async def test_audit_finds_a_balance_that_does_not_match_the_ledger(uow_factory: UnitOfWorkFactory) -> None:
    await give_points(uow_factory, USERS.resident, 7, NOW, "audit")
    await assert_audit_ok(uow_factory)
    async with uow_factory() as uow:
        await uow.session.execute(update(PointsAccount).values(balance=PointsAccount.balance + 3))
        await uow.commit()

    report = await audit(uow_factory())

    assert not report.ok
    assert any("ledger sums to 7" in p for p in report.problems)

"""Volunteers earn points, check them, redeem them at partner shops; merchants verify; staff correct."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from bot.db.models.points import PointsEntry
from bot.emulator.core import Message
from bot.services.activity import record_activity
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.points_helpers import (
    assert_audit_ok,
    balance,
    count_entries,
    give_points,
    person_id,
    seed_catalogue,
    stock,
    vouchers,
)


async def shift_done(
    harness: Harness, telegram_id: int, key: str, kind: str = "patrol_shift", **extra: object
) -> None:
    """What the patrol/event capability does when a shift or an event is completed."""
    pid = await person_id(harness.services.uow_factory, telegram_id)
    async with harness.services.uow() as uow:
        await record_activity(
            uow,
            source_key=key,
            person_id=pid,
            compound_id=None,
            activity_type=kind,
            occurred_at=harness.clock.now(),
            now=harness.clock.now(),
            **extra,  # type: ignore[arg-type]
        )
        await uow.commit()


async def open_service(harness: Harness, user: int, category: str, service: str) -> Message:
    replies = await harness.send(user, "/points")
    await harness.press(user, replies[-1], "兑换好礼")
    menu = harness.last(user)
    await harness.press(user, menu, category)
    await harness.press(user, harness.last(user), service)
    return harness.last(user)


async def redeem(harness: Harness, user: int, category: str, service: str) -> Message:
    """Open the service, press 兑换: the confirmation card (points already held)."""
    card = await open_service(harness, user, category, service)
    await harness.press(user, card, "分兑换")
    return harness.last(user)


async def press_data(harness: Harness, user: int, message_id: int, data: str) -> dict[str, Any] | None:
    """A press Telegram delivers again (after a crash) or a tampered client sends: data, no visible button."""
    update = forged_callback(harness.world, user, user, message_id, data)
    await harness.process(update)
    return harness.world.callback_answer(update["callback_query"]["id"])


def code_of(photo: Message) -> str:
    text = photo.text or ""
    return text.split("兑换码：", 1)[1].split("\n", 1)[0].strip()


async def test_completed_shifts_earn_by_the_rules_once_and_points_shows_them(harness: Harness) -> None:
    await seed_catalogue(harness.services.uow_factory, harness.clock.now())
    await shift_done(harness, USERS.resident, "shift:1:resident")
    await shift_done(harness, USERS.resident, "shift:1:resident")  # the same shift reported again
    await shift_done(harness, USERS.resident, "care:9:resident", kind="elderly_care", hours=1.5)
    await shift_done(harness, USERS.resident, "unknown:1", kind="knitting_club")  # no rule: no points

    replies = await harness.send(USERS.resident, "/points")

    text = replies[-1].text or ""
    assert "您现在有 5 分" in text
    assert "本月已获得 5 分" in text
    assert "平安巡逻" in text and "养老院陪护" in text and "+3" in text
    assert await count_entries(harness.services.uow_factory, kind="earn") == 2
    await harness.drain_outbox()
    notices = harness.texts(USERS.resident)
    assert any("「平安巡逻」获得 2 分" in t for t in notices)
    # Free text and the big menu button work too.
    replies = await harness.send(USERS.resident, "我还有多少积分")
    assert "您现在有 5 分" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "⭐ 我的积分")
    assert "您现在有 5 分" in (replies[-1].text or "")
    await assert_audit_ok(harness.services.uow_factory)


async def test_redeem_confirm_get_qr_voucher_and_merchant_verifies_once(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "redeem")

    card = await open_service(harness, USERS.resident, "生活服务", "理发一次")
    assert "巧手理发店" in (card.text or "") and "所需积分：6 分" in (card.text or "")
    await harness.press(USERS.resident, card, "分兑换")
    card = harness.last(USERS.resident)
    assert "6 分已先扣下，剩余 14 分" in (card.text or "")
    assert await balance(uf, USERS.resident) == 14

    _, replies = await harness.press(USERS.resident, card, "确认兑换")

    photo = replies[-1]
    assert photo.kind == "photo" and photo.photo
    code = code_of(photo)
    assert len(code) == 8
    assert f"https://t.me/RedButlerBot?start=v_{code}" in (photo.text or "")
    assert await balance(uf, USERS.resident) == 14

    # The clinic's merchant cannot take the barber's voucher; it stays valid.
    replies = await harness.send(USERS.merchant, f"/verify {code.lower()}")
    assert "这张券要在「巧手理发店」使用，不是您店里的券" in (replies[-1].text or "")
    assert [v.status for v in await vouchers(uf)] == ["active"]
    await assert_audit_ok(uf)


async def test_merchant_scans_the_qr_deep_link_and_the_voucher_works_once(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "scan")
    card = await redeem(harness, USERS.resident, "医疗保健", "测血压血糖")
    _, replies = await harness.press(USERS.resident, card, "确认兑换")
    code = code_of(replies[-1])

    replies = await harness.open_link(USERS.merchant, f"v_{code}")

    assert "核销成功" in (replies[-1].text or "") and "张阿姨" in (replies[-1].text or "")
    await harness.drain_outbox()
    assert "已在康乐社区诊所使用" in harness.texts(USERS.resident)[-1]
    # Scanned again, typed again: refused, nothing changes.
    replies = await harness.open_link(USERS.merchant, f"v_{code}")
    assert "已经在" in (replies[-1].text or "") and "用过了" in (replies[-1].text or "")
    replies = await harness.send(USERS.merchant, f"/verify {code}")
    assert "用过了" in (replies[-1].text or "")
    assert [v.status for v in await vouchers(uf)] == ["used"]
    assert await balance(uf, USERS.resident) == 16
    await assert_audit_ok(uf)


async def test_cancel_before_use_returns_points_and_stock_once(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "cancel")
    card = await redeem(harness, USERS.resident, "医疗保健", "中医推拿一次")
    _, replies = await harness.press(USERS.resident, card, "确认兑换")
    photo = replies[-1]
    service_id = (await vouchers(uf))[0].service_id
    assert await stock(uf, service_id) == 9

    answer, replies = await harness.press(USERS.resident, photo, "取消这张券")

    assert "10 分退回来了，现在有 20 分" in (replies[-1].text or "")
    assert await stock(uf, service_id) == 10
    # The merchant cannot use a cancelled voucher; pressing cancel again changes nothing.
    replies = await harness.send(USERS.merchant, f"/verify {code_of(photo)}")
    assert "已经取消了" in (replies[-1].text or "")
    voucher_id = (await vouchers(uf))[0].id
    answer = await press_data(harness, USERS.resident, photo.message_id, f"pt:x:{voucher_id}")
    assert answer is not None and "已经取消了" in answer["text"]
    assert await balance(uf, USERS.resident) == 20
    assert await count_entries(uf, kind="release") == 1
    await assert_audit_ok(uf)


async def test_unconfirmed_hold_is_released_and_unused_voucher_expires(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "expiry")
    held_card = await redeem(harness, USERS.resident, "儿童课程", "书法体验课")
    assert await balance(uf, USERS.resident) == 12

    harness.clock.advance(timedelta(minutes=16))
    handled = await harness.tick()
    await harness.drain_outbox()

    assert handled["points_vouchers"] == 1
    assert await balance(uf, USERS.resident) == 20
    assert "没有确认兑换，8 分已退回" in harness.texts(USERS.resident)[-1]
    answer, _ = await harness.press(USERS.resident, held_card, "确认兑换")
    assert answer is not None and "没有及时确认" in answer.get("text", "")
    assert await balance(uf, USERS.resident) == 20

    # A confirmed voucher nobody uses expires after its validity (30 days for this one).
    card = await redeem(harness, USERS.resident, "医疗保健", "测血压血糖")
    _, replies = await harness.press(USERS.resident, card, "确认兑换")
    code = code_of(replies[-1])
    harness.clock.advance(timedelta(days=30, minutes=1))
    replies = await harness.send(USERS.merchant, f"/verify {code}")
    assert "过期" in (replies[-1].text or "")
    handled = await harness.tick()
    assert handled["points_vouchers"] == 1
    assert (await harness.tick())["points_vouchers"] == 0  # a second sweep finds nothing more to return
    # (This chat got a notice a moment ago: let the sender keep Telegram's one-per-second pace.)
    assert harness.services.sender is not None
    await harness.services.sender.drain(wait_for_limits=True)
    assert "过期没用，4 分已退回，现在有 20 分" in harness.texts(USERS.resident)[-1]
    assert await balance(uf, USERS.resident) == 20
    assert await count_entries(uf, kind="release") == 2
    await assert_audit_ok(uf)


async def test_crash_between_hold_and_confirmation_completes_or_releases_once(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "crash")
    card = await redeem(harness, USERS.resident, "生活服务", "理发一次")
    assert await balance(uf, USERS.resident) == 14

    await harness.restart(crash=True)
    uf = harness.services.uow_factory

    # The hold survived the crash; pressing 兑换 again on the old card does not hold twice.
    assert await balance(uf, USERS.resident) == 14
    menu = harness.world.message(USERS.resident, card.message_id)
    assert "确认兑换" in " ".join(menu.button_texts)
    confirm_data = menu.find_button("确认兑换")["callback_data"]
    _, replies = await harness.press(USERS.resident, menu, "确认兑换")
    assert replies[-1].kind == "photo"
    assert confirm_data.startswith("pt:ok:")
    # Telegram redelivers the same press after the restart: the same voucher, nothing doubled.
    await press_data(harness, USERS.resident, card.message_id, confirm_data)
    assert await balance(uf, USERS.resident) == 14
    assert await count_entries(uf, kind="hold") == 1
    assert [v.status for v in await vouchers(uf)] == ["active"]

    # A second hold, the process dies, nobody confirms: the restart's sweep releases it once.
    card = await redeem(harness, USERS.resident, "生活服务", "理发一次")
    assert await balance(uf, USERS.resident) == 8
    await harness.restart(crash=True)
    uf = harness.services.uow_factory
    harness.clock.advance(timedelta(minutes=20))
    await harness.tick()
    await harness.tick()
    assert await balance(uf, USERS.resident) == 14
    assert sorted(v.status for v in await vouchers(uf)) == ["active", "released"]
    assert await count_entries(uf, kind="release") == 1
    await assert_audit_ok(uf)


async def test_a_crash_inside_the_hold_leaves_nothing_half_written(
    harness: Harness, monkeypatch: object
) -> None:
    import pytest

    from bot.db.repositories.points import PointsRepository

    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "half")
    card = await open_service(harness, USERS.resident, "生活服务", "理发一次")
    service_id = int(card.find_button("分兑换")["callback_data"].rsplit(":", 1)[1])

    async def dies(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    patcher = pytest.MonkeyPatch()
    patcher.setattr(PointsRepository, "append", dies)
    try:
        answer, _ = await harness.press(USERS.resident, card, "分兑换")
    finally:
        patcher.undo()

    assert answer is not None and "出了点小问题" in answer["text"]
    assert await balance(uf, USERS.resident) == 20
    assert await stock(uf, service_id) == 30
    assert await vouchers(uf) == []
    await assert_audit_ok(uf)


async def test_refusals_are_clear_and_change_nothing(harness: Harness) -> None:
    from tests.points_helpers import OTHER_MERCHANT, OTHER_RESIDENT, add_other_compound_people, add_service

    uf = harness.services.uow_factory
    now = harness.clock.now()
    await seed_catalogue(uf, now)
    await give_points(uf, USERS.resident, 5, now, "bad")

    # Too few points.
    card = await open_service(harness, USERS.resident, "医疗保健", "中医推拿一次")
    answer, _ = await harness.press(USERS.resident, card, "分兑换")
    assert answer is not None and "积分不够哦：这个要 10 分，您现在有 5 分" in answer["text"]
    # Out of stock.
    await add_service(uf, now, name="秒光的课", cost=1, stock=0, category="限量")
    card = await open_service(harness, USERS.resident, "限量", "秒光的课")
    answer, _ = await harness.press(USERS.resident, card, "分兑换")
    assert answer is not None and "已经兑换完了" in answer["text"]
    # Over the per-person limit (1 for this one).
    await add_service(uf, now, name="限一次", cost=1, limit=1, category="限次")
    card = await redeem(harness, USERS.resident, "限次", "限一次")
    await harness.press(USERS.resident, card, "确认兑换")
    card = await open_service(harness, USERS.resident, "限次", "限一次")
    answer, _ = await harness.press(USERS.resident, card, "分兑换")
    assert answer is not None and "每人最多兑换 1 次" in answer["text"]
    assert await balance(uf, USERS.resident) == 4

    # Forged voucher, a voucher of another compound, a voucher of another partner, not a merchant.
    replies = await harness.send(USERS.merchant, "/verify ZZZZ9999")
    assert "没有找到这张兑换券" in (replies[-1].text or "")
    replies = await harness.open_link(USERS.merchant, "v_" + "x" * 60)
    assert "没有找到这张兑换券" in (replies[-1].text or "")
    await add_other_compound_people(uf, now)
    harness.world.add_user(OTHER_MERCHANT, "孙老板")
    other_service = await add_service(
        uf, now, name="和谐洗头", cost=1, partner="和谐理发", compound="和谐家园"
    )
    await give_points(uf, OTHER_RESIDENT, 3, now, "other")
    from bot.services import points_vouchers

    held = await points_vouchers.hold_redemption(uf(), OTHER_RESIDENT, other_service, "o", now)
    await points_vouchers.confirm_redemption(uf(), OTHER_RESIDENT, held.id, now)
    replies = await harness.send(USERS.merchant, f"/verify {held.code}")
    assert "别的小区的" in (replies[-1].text or "")
    mine = (await vouchers(uf))[0]
    replies = await harness.send(OTHER_MERCHANT, f"/verify {mine.code}")
    assert "别的小区的" in (replies[-1].text or "")
    barber = await add_service(uf, now, name="剪刘海", cost=1, partner="巧手理发店")
    await give_points(uf, USERS.neighbour, 3, now, "nb")
    held_barber = await points_vouchers.hold_redemption(uf(), USERS.neighbour, barber, "b", now)
    await points_vouchers.confirm_redemption(uf(), USERS.neighbour, held_barber.id, now)
    replies = await harness.send(USERS.merchant, f"/verify {held_barber.code}")
    assert "要在「巧手理发店」使用" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, f"/verify {held_barber.code}")
    assert "只有合作商户可以核销" in (replies[-1].text or "")
    assert {v.status for v in await vouchers(uf)} == {"active"}

    # Staff-only awards: not staff, bad amounts, empty reason.
    replies = await harness.send(USERS.resident, "/award 1栋1单元101 5 帮忙")
    assert "只有管理员、楼栋长或社区党组织" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/award 1栋1单元101 -5 帮忙")
    assert "分数要在 1 到 50 之间" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/award 1栋1单元101 100000 帮忙")
    assert "分数要在 1 到 50 之间" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/award 1栋1单元101 5")
    assert "请写上原因" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/award 1栋1单元101 五 帮忙")
    assert "格式：/award" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/award 9栋9单元909 5 帮忙")
    assert "没找到" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/deduct 1栋1单元101 50 乱扔垃圾")
    assert "只有 2 分，不够扣" in (replies[-1].text or "")
    assert await balance(uf, USERS.neighbour) == 2
    await assert_audit_ok(uf)


async def test_staff_award_deduct_and_reverse_with_reasons(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())

    replies = await harness.send(USERS.building_leader, "/award 3栋2单元501 5 帮邻居搬家")
    assert "已给 张阿姨 加 5 分" in (replies[-1].text or "")
    await harness.drain_outbox()
    assert "您获得 5 分奖励：帮邻居搬家" in harness.texts(USERS.resident)[-1]
    # The building leader of 3栋 cannot award someone in 1栋; the admin can.
    replies = await harness.send(USERS.building_leader, "/award 1栋1单元101 5 帮忙")
    assert "黄先生 不在您负责的楼栋" in (replies[-1].text or "")
    assert await balance(uf, USERS.neighbour) == 0
    replies = await harness.send(USERS.admin, "/deduct 张阿姨 2 重复登记")
    assert "已扣 张阿姨 2 分" in (replies[-1].text or "")
    assert await balance(uf, USERS.resident) == 3

    async with uf() as uow:
        award = await uow.session.scalar(select(PointsEntry).where(PointsEntry.kind == "award"))
        assert award is not None and award.reason == "帮邻居搬家"
        award_id = award.id
    # 5 cannot be taken back from a balance of 3.
    replies = await harness.send(USERS.supervisor, f"/reverse {award_id} 记错人了")
    assert "只有 3 分，不够扣" in (replies[-1].text or "")
    await harness.send(USERS.admin, "/award 张阿姨 4 义务打扫楼道")
    replies = await harness.send(USERS.building_leader, f"/reverse {award_id} 记错人了")
    assert "只有管理员" in (replies[-1].text or "")
    replies = await harness.send(USERS.supervisor, f"/reverse {award_id} 记错人了")
    assert f"记录 {award_id} 已冲正（-5 分）" in (replies[-1].text or "")
    replies = await harness.send(USERS.supervisor, f"/reverse {award_id} 再来一次")
    assert "已经冲正过了" in (replies[-1].text or "")
    assert await balance(uf, USERS.resident) == 2
    async with uf() as uow:
        kinds = [
            e.kind for e in (await uow.session.scalars(select(PointsEntry).order_by(PointsEntry.id))).all()
        ]
    assert kinds == ["award", "deduct", "award", "reversal"]  # nothing edited or deleted
    await assert_audit_ok(uf)


async def test_leaderboard_shows_names_only_for_people_who_opted_in(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await shift_done(harness, USERS.resident, "shift:5:resident")
    await shift_done(harness, USERS.resident, "party:11:resident", kind="party_day")
    await shift_done(harness, USERS.neighbour, "shift:5:neighbour")

    replies = await harness.send(USERS.neighbour, "/points")
    _, _ = await harness.press(USERS.neighbour, replies[-1], "本月排行")
    board = harness.last(USERS.neighbour)

    text = board.text or ""
    assert "1. 3栋的志愿者  4 分" in text
    assert "2. 1栋的志愿者  2 分（我）" in text
    assert "张阿姨" not in text and "黄先生" not in text

    await harness.press(USERS.neighbour, board, "显示我的名字")
    replies = await harness.send(USERS.resident, "/publicname on")
    assert "会显示您的名字" in (replies[-1].text or "")
    replies = await harness.send(USERS.neighbour, "/points")
    await harness.press(USERS.neighbour, replies[-1], "本月排行")
    text = harness.last(USERS.neighbour).text or ""
    assert "1. 张阿姨  4 分" in text and "2. 黄先生  2 分（我）" in text


async def test_statement_as_xlsx_lists_every_entry(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await shift_done(harness, USERS.resident, "shift:8:resident")
    await give_points(uf, USERS.resident, 10, harness.clock.now(), "xlsx")
    card = await redeem(harness, USERS.resident, "生活服务", "理发一次")
    await harness.press(USERS.resident, card, "不换了")

    replies = await harness.send(USERS.resident, "/points")
    _, replies = await harness.press(USERS.resident, replies[-1], "积分明细表")

    document = replies[-1]
    assert document.kind == "document" and "共 4 笔，现在余额 12 分" in (document.text or "")
    assert document.document is not None
    stored = harness.world.stored_file(document.document["file_id"])
    assert stored is not None
    sheet = load_workbook(io.BytesIO(stored.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("时间", "类型", "积分", "余额", "说明")
    assert [(r[1], r[2], r[3]) for r in rows[2:]] == [
        ("服务", 2, 2),
        ("奖励", 10, 12),
        ("兑换", -6, 6),
        ("退回", 6, 12),
    ]


async def test_admin_edits_rules_and_the_next_shift_uses_them(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())

    replies = await harness.send(USERS.admin, "/pointrules patrol_shift 3")
    assert "规则已保存" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "/pointrules patrol_shift 20")
    assert "只有管理员" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/pointrules patrol_shift 999")
    assert "规则不对" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/pointrules")
    assert "平安巡逻（patrol_shift）：每次 3 分" in (replies[-1].text or "")
    assert "养老院陪护（elderly_care）：每小时 2 分" in (replies[-1].text or "")

    await shift_done(harness, USERS.patrol, "shift:20:patrol")
    assert await balance(uf, USERS.patrol) == 3


async def test_my_vouchers_lists_active_ones_and_resends_the_qr(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.resident, 20, harness.clock.now(), "mine")
    card = await redeem(harness, USERS.resident, "餐饮", "老人午餐一份")
    _, replies = await harness.press(USERS.resident, card, "确认兑换")
    code = code_of(replies[-1])

    replies = await harness.send(USERS.resident, "/points")
    await harness.press(USERS.resident, replies[-1], "我的兑换券")
    listing = harness.last(USERS.resident)
    assert "1 张待使用" in (listing.text or "")
    _, replies = await harness.press(USERS.resident, listing, "老人午餐一份")
    assert replies[-1].kind == "photo" and code in (replies[-1].text or "")
    # The owner scanning their own QR just sees the voucher again; it stays unused.
    replies = await harness.open_link(USERS.resident, f"v_{code}")
    assert replies[-1].kind == "photo" and code in (replies[-1].text or "")
    # Someone else's voucher id, forged: refused.
    voucher_id = (await vouchers(uf))[0].id
    theirs = (await harness.send(USERS.neighbour, "/points"))[-1]
    answer = await press_data(harness, USERS.neighbour, theirs.message_id, f"pt:x:{voucher_id}")
    assert answer is not None and "没有找到这张兑换券" in answer["text"]
    assert [v.status for v in await vouchers(uf)] == ["active"]


async def test_english_speakers_and_strangers_get_a_clear_answer(harness: Harness) -> None:
    uf = harness.services.uow_factory
    await seed_catalogue(uf, harness.clock.now())
    await give_points(uf, USERS.neighbour, 7, harness.clock.now(), "en")
    replies = await harness.send(USERS.neighbour, "/language")
    await harness.press(USERS.neighbour, replies[-1], "English")

    replies = await harness.send(USERS.neighbour, "/points")

    assert "You have 7 points" in (replies[-1].text or "")
    assert "🎁 Rewards" in replies[-1].button_texts
    # Someone who never registered asks about points: told how to start, nothing created.
    replies = await harness.send(USERS.outsider, "我还有多少积分")
    assert "还没有绑定小区" in (replies[-1].text or "")
    replies = await harness.send(USERS.outsider, "/points")
    assert "还没有绑定小区" in (replies[-1].text or "")
    assert await count_entries(uf) == 1


async def test_a_stranger_who_chose_english_is_refused_in_english_and_nothing_is_created(
    harness: Harness,
) -> None:
    """/points looks the person up and reads the page in one go; a refusal still speaks their language."""
    uf = harness.services.uow_factory
    replies = await harness.send(USERS.outsider, "/language")
    await harness.press(USERS.outsider, replies[-1], "English")
    await harness.restart()  # the next update looks them up afresh
    replies = await harness.send(USERS.outsider, "/points")
    assert "not linked to a compound" in (replies[-1].text or ""), replies[-1].text
    assert await count_entries(uf) == 0

"""A resident, a newcomer, a building leader and an admin meet the bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.config import Settings
from bot.db.models import JoinRequest, Person, Residency
from bot.emulator.core import TelegramWorld
from bot.services.invites import create_invites
from tests.factories import COMPOUND, OTHER_COMPOUND, USERS
from tests.harness import Harness, forged_callback


@pytest.fixture(params=["in-process", "http"])
async def harness(request: pytest.FixtureRequest, settings: Settings, world: TelegramWorld, clock: FakeClock):  # type: ignore[no-untyped-def]
    """The onboarding stories run twice: in-process, and over HTTP through PTB's real HTTP stack."""
    h = await Harness(settings, world, clock, http=request.param == "http").start()
    try:
        yield h
    finally:
        await h.close()


async def invite(harness: Harness, **target: object) -> str:
    views = await create_invites(
        harness.services.uow(),
        bot_username="RedButlerBot",
        compound_name=str(target.pop("compound", COMPOUND)),
        now=harness.clock.now(),
        **target,  # type: ignore[arg-type]
    )
    return views[0].code


async def residencies(harness: Harness, telegram_id: int) -> int:
    async with harness.services.uow() as uow:
        return int(
            await uow.session.scalar(
                select(func.count(Residency.id))
                .join(Person, Person.id == Residency.person_id)
                .where(Person.telegram_id == telegram_id)
            )
            or 0
        )


async def test_first_start_asks_language_then_welcomes_with_register_buttons(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/start")
    assert "请选择语言" in (replies[-1].text or "")
    _, replies = await harness.press(USERS.newcomer, replies[-1], "中文")
    texts = [m.text or "" for m in replies]
    assert any("红管家" in t for t in texts)
    assert "🔑 我有邀请码" in replies[-1].button_texts
    assert "🙋 申请加入" in replies[-1].button_texts


async def test_english_speaker_switches_language_and_gets_english(harness: Harness) -> None:
    replies = await harness.send(4001, "/start")
    _, replies = await harness.press(4001, replies[-1], "English")
    assert any("Hello, I'm RedButler" in (m.text or "") for m in replies)
    replies = await harness.send(4001, "/cancel")
    assert replies[-1].text == "There is nothing to cancel right now."


async def test_household_deep_link_binds_resident_and_sets_resident_menu(harness: Harness) -> None:
    code = await invite(harness, building="3栋", unit="1单元", room="101")
    replies = await harness.open_link(USERS.newcomer, f"inv_{code}")
    assert "绑定成功" in (replies[-1].text or "")
    assert "幸福里小区 3栋1单元101" in (replies[-1].text or "")
    assert await residencies(harness, USERS.newcomer) == 1
    commands = [c["command"] for c in harness.world.commands_for(USERS.newcomer)]
    assert "me" in commands and "register" not in commands and "linkgroup" not in commands
    # The same link again: told kindly, nothing doubled.
    replies = await harness.open_link(USERS.newcomer, f"inv_{code}")
    assert "已经绑定过" in (replies[-1].text or "")
    assert await residencies(harness, USERS.newcomer) == 1


async def test_wrong_and_used_codes_are_refused_and_change_nothing(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/start")
    _, replies = await harness.press(USERS.newcomer, replies[-1], "中文")
    _, replies = await harness.press(USERS.newcomer, replies[-1], "我有邀请码")
    assert "请输入邀请码" in (replies[-1].text or "")
    replies = await harness.send(USERS.newcomer, "ZZZZ9999")
    assert "邀请码不对" in (replies[-1].text or "")
    replies = await harness.send(USERS.newcomer, "x" * 5000)
    assert "邀请码不对" in (replies[-1].text or "")
    code = await invite(harness, building="3栋", unit="1单元", room="102", max_uses=1)
    await harness.open_link(USERS.outsider, f"inv_{code}")
    replies = await harness.send(USERS.newcomer, code.lower())
    assert "已经用过了" in (replies[-1].text or "")
    assert await residencies(harness, USERS.newcomer) == 0
    # Still in the code step: a right code now works.
    good = await invite(harness, building="3栋", unit="1单元", room="201")
    replies = await harness.send(USERS.newcomer, good)
    assert "绑定成功" in (replies[-1].text or "")


async def test_code_of_another_compound_is_refused_after_group_link(harness: Harness) -> None:
    other = await invite(harness, compound=OTHER_COMPOUND, building="A座", unit="1单元", room="101")
    async with harness.services.uow() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        compound_id = compound.id
    replies = await harness.open_link(USERS.newcomer, f"reg_{compound_id}")
    _, replies = await harness.press(USERS.newcomer, replies[-1], "我有邀请码")
    replies = await harness.send(USERS.newcomer, other)
    assert "和谐家园" in (replies[-1].text or "") and "不是您选的小区" in (replies[-1].text or "")
    assert await residencies(harness, USERS.newcomer) == 0


async def test_building_invite_lets_resident_pick_unit_and_room(harness: Harness) -> None:
    code = await invite(harness, building="2栋")
    replies = await harness.open_link(USERS.newcomer, f"inv_{code}")
    assert "请选择单元" in (replies[-1].text or "")
    _, replies = await harness.press(USERS.newcomer, replies[-1], "2单元")
    card = harness.last(USERS.newcomer)
    assert "请选择房号" in (card.text or "")
    _, replies = await harness.press(USERS.newcomer, card, "302")
    assert any("绑定成功" in (m.text or "") and "2栋2单元302" in (m.text or "") for m in replies)


async def test_join_request_approved_by_building_leader_once_even_if_pressed_twice(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    _, _ = await harness.press(USERS.newcomer, replies[-1], "申请加入")
    card = harness.last(USERS.newcomer)
    assert "哪个小区" in (card.text or "")
    await harness.press(USERS.newcomer, card, COMPOUND)
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "3栋")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "1单元")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "402")
    confirm = harness.last(USERS.newcomer)
    assert "3栋1单元402" in (confirm.text or "")
    await harness.press(USERS.newcomer, confirm, "发送申请")
    assert "申请已发送" in (harness.last(USERS.newcomer).text or "")

    stats = await harness.drain_outbox()
    assert stats.sent == 1  # only the leader of 3栋, not every admin
    leader_card = harness.last(USERS.building_leader)
    assert "李大爷" in (leader_card.text or "") and "3栋1单元402" in (leader_card.text or "")
    data = leader_card.find_button("同意")["callback_data"]
    # Two phones of the same leader press at once: one approval.
    results = await asyncio.gather(
        harness.process(harness.world.user_presses(USERS.building_leader, leader_card.message_id, data)),
        harness.process(harness.world.user_presses(USERS.building_leader, leader_card.message_id, data)),
    )
    assert len(results) == 2
    assert await residencies(harness, USERS.newcomer) == 1
    assert "已同意" in (harness.world.message(USERS.building_leader, leader_card.message_id).text or "")
    # An old client still showing the button presses it again.
    update = forged_callback(
        harness.world, USERS.building_leader, USERS.building_leader, leader_card.message_id, data
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "已经处理过了" in (answer.get("text") or "")
    assert "赵姐" in (answer.get("text") or "")
    await harness.drain_outbox()
    assert any("申请已经通过" in t for t in harness.texts(USERS.newcomer))
    assert sum("申请已经通过" in t for t in harness.texts(USERS.newcomer)) == 1


async def test_outsider_cannot_approve_with_a_forged_button(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    for label in (COMPOUND, "3栋", "2单元", "101", "发送申请"):
        await harness.press(USERS.newcomer, harness.last(USERS.newcomer), label)
    async with harness.services.uow() as uow:
        request_id = await uow.session.scalar(select(JoinRequest.id))
    await harness.send(USERS.outsider, "/start")
    message = harness.last(USERS.outsider)
    update = forged_callback(
        harness.world, USERS.outsider, USERS.outsider, message.message_id, f"jr:ok:{request_id}"
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "没有权限" in (answer.get("text") or "")
    assert await residencies(harness, USERS.newcomer) == 0


async def test_join_requests_are_limited_per_day(harness: Harness) -> None:
    harness.services.settings.join_requests_per_day = 1
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    for label in (COMPOUND, "3栋", "2单元", "101", "发送申请"):
        await harness.press(USERS.newcomer, harness.last(USERS.newcomer), label)
    await harness.drain_outbox()
    leader_card = harness.last(USERS.building_leader)
    await harness.press(USERS.building_leader, leader_card, "拒绝")
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    for label in (COMPOUND, "3栋", "2单元", "102"):
        await harness.press(USERS.newcomer, harness.last(USERS.newcomer), label)
    answer, _ = await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "发送申请")
    assert answer is not None and "明天再试" in (answer.get("text") or "")
    harness.clock.advance(timedelta(days=1, minutes=1))
    answer, _ = await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "发送申请")
    assert "申请已发送" in (harness.last(USERS.newcomer).text or "")


async def test_registration_step_survives_a_crash(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), COMPOUND)
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "3栋")
    units = harness.last(USERS.newcomer)
    await harness.restart(crash=True)
    await harness.press(USERS.newcomer, units, "2单元")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "202")
    assert "3栋2单元202" in (harness.last(USERS.newcomer).text or "")


async def test_text_and_photos_in_the_wrong_place_get_a_clear_answer(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    replies = await harness.send(USERS.newcomer, "3栋2单元501")
    assert "请点上面的按钮" in (replies[-1].text or "")
    replies = await harness.send_photo(USERS.newcomer)
    assert "请点上面的按钮" in (replies[-1].text or "")
    replies = await harness.send(USERS.newcomer, "/cancel")
    assert "已取消" in (replies[-1].text or "")
    replies = await harness.send_photo(USERS.newcomer)
    assert "用不上" in (replies[-1].text or "")  # no home yet: no repair to offer
    replies = await harness.send(USERS.newcomer, "/nosuchcommand")
    assert "没有这个命令" in (replies[-1].text or "")


async def test_stale_registration_button_after_cancel(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    buildings = harness.last(USERS.newcomer)
    await harness.send(USERS.newcomer, "/cancel")
    answer, _ = await harness.press(USERS.newcomer, buildings, COMPOUND)
    assert answer is not None and "过期" in (answer.get("text") or "")


async def test_staff_invite_binds_roster_person_and_shows_staff_commands(harness: Harness) -> None:
    async with harness.services.uow() as uow:
        from bot.db.models import Person as P

        roster_person = P(display_name="新管家", phone="13900000099", created_at=harness.clock.now())
        uow.session.add(roster_person)
        await uow.session.flush()
        from bot.db.models import StaffRole

        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        uow.session.add(
            StaffRole(
                person_id=roster_person.id,
                role="admin",
                compound_id=compound.id,
                created_at=harness.clock.now(),
            )
        )
        await uow.commit()
    code = await invite(harness, phone="13900000099")
    replies = await harness.open_link(USERS.outsider, f"inv_{code}")
    assert "管理员" in (replies[-1].text or "")
    commands = [c["command"] for c in harness.world.commands_for(USERS.outsider)]
    assert "linkgroup" in commands
    replies = await harness.open_link(USERS.newcomer, f"inv_{code}")
    assert "已经用过了" in (replies[-1].text or "")


async def test_help_shows_only_what_the_role_can_do(harness: Harness) -> None:
    resident_help = (await harness.send(USERS.resident, "/help"))[-1].text or ""
    admin_help = (await harness.send(USERS.admin, "/help"))[-1].text or ""
    assert "/linkgroup" not in resident_help
    assert "/linkgroup" in admin_help
    newcomer_help = (await harness.send(USERS.newcomer, "/help"))[-1].text or ""
    assert "/register" in newcomer_help and "/me" not in newcomer_help


async def test_a_menu_button_in_the_middle_of_a_flow_leaves_it_and_works(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    assert "哪个小区" in (harness.last(USERS.newcomer).text or "")
    replies = await harness.send(USERS.newcomer, "❓ 帮助")
    assert "/register" in (replies[-1].text or "")
    # The flow has ended: its old buttons are stale now, and plain text is no longer "press the buttons".
    answer, _ = await harness.press(USERS.newcomer, harness.world.bot_messages(USERS.newcomer)[-2], COMPOUND)
    assert answer is not None and "过期" in (answer.get("text") or "")


async def test_registration_survives_an_emergency_and_a_stuck_step(harness: Harness) -> None:
    """Half-way through registering: danger is answered first (no alert button: no home yet), then the
    registration goes on; text the step cannot use twice in a row gets 继续填写 / 取消, not the same hint."""
    code = await invite(harness, building="2栋")
    replies = await harness.open_link(USERS.newcomer, f"inv_{code}")
    unit_step = replies[-1]
    [advice] = await harness.send(USERS.newcomer, "楼道里好多烟 着火了")
    assert "119" in (advice.text or "") and advice.button_texts == []
    [first] = await harness.send(USERS.newcomer, "二单元")
    [second] = await harness.send(USERS.newcomer, "2单元啊")
    assert second.text != first.text and second.button_texts == ["✏️ 继续填写", "✖️ 取消"]
    await harness.press(USERS.newcomer, second, "继续填写")
    assert "接着" in (harness.world.message(USERS.newcomer, second.message_id).text or "")
    await harness.press(USERS.newcomer, unit_step, "2单元")
    room_step = harness.world.message(USERS.newcomer, unit_step.message_id)
    _, replies = await harness.press(USERS.newcomer, room_step, "302")
    assert any("绑定成功" in (m.text or "") for m in replies)
    assert await residencies(harness, USERS.newcomer) == 1


async def test_the_command_menu_is_sent_again_only_when_it_changed(harness: Harness) -> None:
    def menus_sent() -> int:
        return sum(1 for method, _params in harness.world.calls if method == "setMyCommands")

    replies = await harness.send(4001, "/start")
    _, replies = await harness.press(4001, replies[-1], "English")
    sent, english = menus_sent(), harness.world.commands_for(4001)
    await harness.send(4001, "/start")
    await harness.send(4001, "/start")
    assert menus_sent() == sent  # the same menu: Telegram still shows it
    replies = await harness.send(4001, "/language")
    _, replies = await harness.press(4001, replies[-1], "中文")
    assert menus_sent() == sent + 1
    chinese = harness.world.commands_for(4001)
    assert [c["command"] for c in chinese] == [c["command"] for c in english]
    assert [c["description"] for c in chinese] != [c["description"] for c in english]

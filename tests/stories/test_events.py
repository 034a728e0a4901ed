"""Organisers publish events through a guided conversation; residents sign up from the group or privately,
get reminders, check in with the organiser's code."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models.events import CommunityEvent
from tests.factories import USERS
from tests.harness import Harness
from tests.patrols_helpers import activities, deliver, last_id, link_group, local, settle, texts_since


async def publish(
    harness: Harness,
    *,
    title: str = "免费义诊",
    when: str = "11月10日 9:00-11:00",
    capacity: str = "2",
    audience: str = "小区业主群",
    kind: str = "义诊",
    repeat: str = "只办一次",
) -> list:  # type: ignore[type-arg]
    replies = await harness.send(USERS.coordinator, "/newevent")
    assert "活动叫什么" in (replies[-1].text or "")
    replies = await harness.send(USERS.coordinator, title)
    replies = await harness.send(USERS.coordinator, when)
    assert "在哪里" in (replies[-1].text or ""), replies[-1].text
    replies = await harness.send(USERS.coordinator, "社区活动室")
    replies = await harness.send(USERS.coordinator, capacity)
    _, replies = await harness.press(USERS.coordinator, replies[-1], audience)
    message = harness.last(USERS.coordinator)
    await harness.press(USERS.coordinator, message, kind)
    message = harness.last(USERS.coordinator)
    await harness.press(USERS.coordinator, message, repeat)
    message = harness.last(USERS.coordinator)
    assert title in (message.text or "") and "社区活动室" in (message.text or "")
    _, replies = await harness.press(USERS.coordinator, message, "发布")
    await deliver(harness)
    return replies


async def group_post(harness: Harness) -> object:
    posts = [m for m in harness.world.bot_messages(USERS.group) if "报名" in " ".join(m.button_texts)]
    assert posts, "no event post in the group"
    return posts[-1]


async def test_event_is_created_posted_to_the_group_and_signed_up_with_a_waiting_list(
    harness: Harness,
) -> None:
    await link_group(harness)
    replies = await publish(harness)
    assert "活动已发布" in (harness.world.bot_messages(USERS.coordinator)[-2].text or "")
    assert "签到码" in " ".join(replies[-1].button_texts)
    post = await group_post(harness)
    assert "免费义诊" in (post.text or "") and "11月10日" in (post.text or "")  # type: ignore[attr-defined]
    answer, _ = await harness.press(USERS.resident, post, "报名")  # type: ignore[arg-type]
    assert answer is not None and "报名成功" in answer["text"]
    answer, _ = await harness.press(USERS.resident, post, "报名")  # type: ignore[arg-type]
    assert answer is not None and "已经报过名" in answer["text"]
    await harness.press(USERS.neighbour, post, "报名")  # type: ignore[arg-type]
    answer, _ = await harness.press(USERS.admin, post, "报名")  # type: ignore[arg-type]
    assert answer is not None and "排在第 1 位" in answer["text"]
    # The resident cancels privately; the admin moves up and is told.
    replies = await harness.send(USERS.resident, "/events")
    assert "免费义诊" in (replies[-1].text or "") and "已报名" in (replies[-1].text or "")
    before = last_id(harness, USERS.admin)
    _, replies = await harness.press(USERS.resident, replies[-1], "取消报名")
    assert "已取消报名" in (replies[-1].text or "")
    await deliver(harness)
    assert any("有空位了" in t for t in texts_since(harness, USERS.admin, before))


async def test_reminders_survive_a_restart_and_a_cancelled_event_tells_everyone(harness: Harness) -> None:
    await link_group(harness)
    await publish(harness)
    post = await group_post(harness)
    await harness.press(USERS.resident, post, "报名")  # type: ignore[arg-type]
    await harness.press(USERS.neighbour, post, "报名")  # type: ignore[arg-type]
    before = last_id(harness, USERS.resident)
    await harness.restart(crash=True)
    harness.clock.set(local("2026-11-09 09:00"))
    await settle(harness)
    await settle(harness)
    sent = texts_since(harness, USERS.resident, before)
    assert len(sent) == 1 and "明天" in sent[0] and "社区活动室" in sent[0]
    # The organiser cancels before the hour-before reminder: everyone signed up is told, no reminder follows.
    replies = await harness.send(USERS.coordinator, "/events")
    _, replies = await harness.press(USERS.coordinator, replies[-1], "管理")
    _, replies = await harness.press(USERS.coordinator, replies[-1], "取消活动")
    await harness.press(USERS.coordinator, replies[-1], "确定取消")
    assert "已通知 2 位" in (harness.last(USERS.coordinator).text or "")
    await deliver(harness)
    assert "取消了" in (harness.last(USERS.resident).text or "")
    assert "取消了" in (harness.last(USERS.neighbour).text or "")
    assert "取消了" in (harness.last(USERS.group).text or "")
    harness.clock.set(local("2026-11-10 08:00"))
    await settle(harness)
    assert not [t for t in texts_since(harness, USERS.resident, before) if "快开始" in t]
    answer, _ = await harness.press(USERS.admin, post, "报名")  # type: ignore[arg-type]
    assert answer is not None and "取消" in answer["text"]


async def test_check_in_code_records_attendance_once_for_people_who_signed_up(harness: Harness) -> None:
    await link_group(harness)
    replies = await publish(harness, kind="主题党日")
    _, replies = await harness.press(USERS.coordinator, replies[-1], "签到码")
    text = replies[-1].text or ""
    async with harness.services.uow() as uow:
        event = await uow.session.scalar(select(CommunityEvent))
        assert event is not None
        code = event.checkin_code
    assert code in text and f"start=ev_{code}" in text
    post = await group_post(harness)
    await harness.press(USERS.resident, post, "报名")  # type: ignore[arg-type]
    await harness.press(USERS.neighbour, post, "报名")  # type: ignore[arg-type]
    replies = await harness.send(USERS.resident, f"/checkin {code}")
    assert "签到时间" in (replies[-1].text or "")  # a week early
    harness.clock.set(local("2026-11-10 09:05"))
    replies = await harness.send(USERS.resident, "/checkin WRONG1")
    assert "签到码不对" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, f"/checkin {code}")
    assert "签到成功" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, f"/checkin {code}")
    assert "已经签过到" in (replies[-1].text or "")
    # The code passed on to someone who did not sign up is refused.
    replies = await harness.send(USERS.patrol, f"/checkin {code}")
    assert "只能报名的人用" in (replies[-1].text or "")
    replies = await harness.open_link(USERS.neighbour, f"ev_{code}")
    assert "签到成功" in (replies[-1].text or "")
    records = await activities(harness, USERS.resident)
    assert [r.activity_type for r in records] == ["party_day"]
    assert len(await activities(harness, USERS.neighbour)) == 1
    replies = await harness.send(USERS.resident, "/checkin")
    assert "签到码" in (replies[-1].text or "")


async def test_organiser_messages_everyone_signed_up(harness: Harness) -> None:
    await link_group(harness)
    replies = await publish(harness)
    post = await group_post(harness)
    await harness.press(USERS.resident, post, "报名")  # type: ignore[arg-type]
    manage = harness.world.bot_messages(USERS.coordinator)[-1]
    _, replies = await harness.press(USERS.coordinator, manage, "通知所有报名的人")
    assert "请写下" in (replies[-1].text or "")
    replies = await harness.send(USERS.coordinator, "请带好医保卡")
    assert "已发给 1 位" in (replies[-1].text or "")
    await deliver(harness)
    assert "请带好医保卡" in (harness.last(USERS.resident).text or "")


async def test_volunteer_audience_is_invited_privately_and_repeats_are_posted_later(harness: Harness) -> None:
    await publish(
        harness,
        title="巡逻夜话",
        when="11月7日 19:30-21:00",
        audience="志愿者",
        kind="巡逻夜话",
        repeat="每周同一天",
        capacity="30",
    )
    invite = harness.last(USERS.patrol)
    assert "巡逻夜话" in (invite.text or "") and "报名" in invite.button_texts[0]
    _, replies = await harness.press(USERS.patrol, invite, "报名")
    assert "报名成功" in (replies[-1].text or "")
    async with harness.services.uow() as uow:
        starts = sorted(e.starts_at for e in await uow.session.scalars(select(CommunityEvent)))
    assert [s.astimezone(local("2026-11-07 19:30").tzinfo) for s in starts] == [
        local("2026-11-07 19:30"),
        local("2026-11-14 19:30"),
        local("2026-11-21 19:30"),
    ]
    before = last_id(harness, USERS.patrol)
    harness.clock.set(local("2026-11-07 19:31"))
    await settle(harness)
    assert any("11月14日" in t for t in texts_since(harness, USERS.patrol, before))


async def test_bad_input_in_the_conversation_gets_clear_hints(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "/newevent")
    assert "没有权限" in (replies[-1].text or "") or "不能" in (replies[-1].text or "")
    await harness.send(USERS.coordinator, "/newevent")
    replies = await harness.send(USERS.coordinator, "长" * 80)
    assert "不要超过" in (replies[-1].text or "")
    await harness.send(USERS.coordinator, "防诈骗讲座")
    for text, hint in (
        ("明天下午", "没看懂"),
        ("10月1日 9:00-10:00", "已经过去"),
        ("11月10日 11:00-9:00", "晚于开始"),
        ("13月40日 9:00", "没看懂"),
    ):
        replies = await harness.send(USERS.coordinator, text)
        assert hint in (replies[-1].text or ""), (text, replies[-1].text)
    await harness.send(USERS.coordinator, "11月10日 14:00-15:00")
    await harness.send(USERS.coordinator, "活动室")
    for text in ("0", "abc", "99999"):
        replies = await harness.send(USERS.coordinator, text)
        assert "1 到" in (replies[-1].text or "")
    replies = await harness.send(USERS.coordinator, "50")
    # Typing instead of pressing a button gets a hint; /cancel ends it and nothing is created.
    replies = await harness.send(USERS.coordinator, "所有人")
    assert "按钮" in (replies[-1].text or "")
    replies = await harness.send(USERS.coordinator, "/cancel")
    assert "没有发布" in (replies[-1].text or "")
    async with harness.services.uow() as uow:
        assert await uow.session.scalar(select(CommunityEvent)) is None


async def test_times_typed_are_read_in_the_compound_time_zone(harness: Harness) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from bot.db.models import Compound
    from tests.factories import COMPOUND

    async with harness.services.uow() as uow:
        await uow.session.execute(
            update(Compound).where(Compound.name == COMPOUND).values(timezone="Asia/Urumqi")
        )
        await uow.commit()
    await publish(harness, title="夜校", when="11月10日 9:00-11:00")
    async with harness.services.uow() as uow:
        event = await uow.session.scalar(select(CommunityEvent).where(CommunityEvent.title == "夜校"))
    assert event is not None
    # 09:00 in Urumqi (UTC+6) is 03:00 UTC, not 01:00 as it would be in Shanghai.
    assert event.starts_at == datetime(2026, 11, 10, 3, 0, tzinfo=UTC)

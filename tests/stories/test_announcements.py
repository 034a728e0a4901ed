"""Staff post announcements to groups and residents: pinned, scheduled, and the 三公开 accounts table."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import OutboxMessage
from tests.factories import USERS
from tests.harness import Harness
from tests.patrols_helpers import deliver, last_id, link_group, local, settle, texts_since


async def compose(harness: Harness, *, kind: str, title: str, body: str, audience: str) -> None:
    replies = await harness.send(USERS.admin, "/announce")
    _, replies = await harness.press(USERS.admin, replies[-1], kind)
    replies = await harness.send(USERS.admin, title)
    replies = await harness.send(USERS.admin, body)
    _, replies = await harness.press(USERS.admin, replies[-1], audience)


async def test_notice_to_group_and_one_building_pinned_in_the_group(harness: Harness) -> None:
    await link_group(harness)
    await compose(
        harness,
        kind="普通公告",
        title="停水通知",
        body="周五 9:00-12:00 停水，请提前储水。",
        audience="某一栋楼",
    )
    # 3栋: the resident lives there, the neighbour in 1栋. This choice is residents only, no group.
    await harness.press(USERS.admin, harness.last(USERS.admin), "3栋")
    await harness.press(USERS.admin, harness.last(USERS.admin), "现在发")
    preview = harness.last(USERS.admin).text or ""
    assert "停水通知" in preview and "某一栋楼" in preview
    await harness.press(USERS.admin, harness.last(USERS.admin), "确认发送")
    assert "1 位住户" in (harness.last(USERS.admin).text or "")
    before_n = last_id(harness, USERS.neighbour)
    await deliver(harness)
    assert "停水通知" in (harness.last(USERS.resident).text or "")
    assert texts_since(harness, USERS.neighbour, before_n) == []
    # Now to the group and everyone in the compound, pinned.
    await compose(
        harness,
        kind="普通公告",
        title="消防演练",
        body="周六上午消防演练，听到警报不要慌。",
        audience="业主群和每位住户",
    )
    await harness.press(USERS.admin, harness.last(USERS.admin), "📌 置顶")
    await harness.press(USERS.admin, harness.last(USERS.admin), "现在发")
    await harness.press(USERS.admin, harness.last(USERS.admin), "确认发送")
    await deliver(harness)
    post = harness.last(USERS.group)
    assert "消防演练" in (post.text or "") and not post.pinned
    await settle(harness)  # the pin follows once Telegram has given the post its id
    assert harness.world.message(USERS.group, post.message_id).pinned
    assert "消防演练" in (harness.last(USERS.neighbour).text or "")
    await settle(harness)
    async with harness.services.uow() as uow:
        pins = list(
            await uow.session.scalars(select(OutboxMessage).where(OutboxMessage.method == "pinChatMessage"))
        )
    assert len(pins) == 1 and pins[0].status == "sent"


async def test_scheduled_announcement_goes_out_once_after_a_restart(harness: Harness) -> None:
    await link_group(harness)
    await compose(
        harness,
        kind="普通公告",
        title="倾听日",
        body="12月1日是倾听日，书记在活动室等大家。",
        audience="小区业主群",
    )
    await harness.press(USERS.admin, harness.last(USERS.admin), "不置顶")
    replies = await harness.send(USERS.admin, "11月1日 9:00")
    assert "已经过去" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "11月3日 9:00")
    assert "11月3日" in (replies[-1].text or "")
    await harness.press(USERS.admin, replies[-1], "确认发送")
    assert "会在" in (harness.last(USERS.admin).text or "")
    before = last_id(harness, USERS.group)
    await settle(harness)
    assert texts_since(harness, USERS.group, before) == []
    await harness.restart(crash=True)
    harness.clock.set(local("2026-11-03 09:00"))
    await settle(harness)
    await settle(harness)
    sent = texts_since(harness, USERS.group, before)
    assert len(sent) == 1 and "倾听日" in sent[0]


async def test_public_accounts_render_a_table_and_bad_rows_get_a_hint(harness: Harness) -> None:
    await link_group(harness)
    replies = await harness.send(USERS.admin, "/announce")
    _, replies = await harness.press(USERS.admin, replies[-1], "三公开")
    await harness.send(USERS.admin, "2026年10月公共收益")
    replies = await harness.send(USERS.admin, "停车费 一万 3000")
    assert "没看懂" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "停车费 12000 3000\n广告收入 5000 0\n维修基金 0 8000.5")
    _, replies = await harness.press(USERS.admin, replies[-1], "小区业主群")
    await harness.press(USERS.admin, harness.last(USERS.admin), "不置顶")
    await harness.press(USERS.admin, harness.last(USERS.admin), "现在发")
    await harness.press(USERS.admin, harness.last(USERS.admin), "确认发送")
    await deliver(harness)
    post = harness.last(USERS.group)
    text = post.text or ""
    assert "三公开" in text and "停车费" in text and "合计" in text
    assert "17000.00" in text and "11000.50" in text and "5999.50" in text
    assert any(e["type"] == "pre" for e in post.entities)


async def test_only_staff_may_announce_and_cancel_leaves_nothing(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "/announce")
    assert "权限" in (replies[-1].text or "") or "不能" in (replies[-1].text or "")
    await compose(harness, kind="普通公告", title="测试", body="内容", audience="某一个单元的住户")
    await harness.press(USERS.admin, harness.last(USERS.admin), "3栋")
    replies = await harness.send(USERS.admin, "随便打字")
    assert "按钮" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/cancel")
    assert "没有发" in (replies[-1].text or "")
    async with harness.services.uow() as uow:
        assert (
            await uow.session.scalar(select(OutboxMessage).where(OutboxMessage.purpose == "announcement"))
            is None
        )


async def test_a_refused_pin_is_reported_to_the_author_and_the_admins_and_retried_once_allowed(
    harness: Harness,
) -> None:
    await link_group(harness, bot_admin=False)
    await compose(
        harness,
        kind="普通公告",
        title="电梯检修",
        body="周三 2 号电梯停用检修。",
        audience="业主群和每位住户",
    )
    await harness.press(USERS.admin, harness.last(USERS.admin), "📌 置顶")
    await harness.press(USERS.admin, harness.last(USERS.admin), "现在发")
    await harness.press(USERS.admin, harness.last(USERS.admin), "确认发送")
    await deliver(harness)
    post = harness.last(USERS.group)
    assert "电梯检修" in (post.text or "")
    for _ in range(3):
        await settle(harness)
    assert not harness.world.message(USERS.group, post.message_id).pinned
    told = [m.text or "" for m in harness.world.bot_messages(USERS.admin)]
    assert any("没能置顶" in text and "置顶消息" in text for text in told)
    assert any("请群管理员" in (m.text or "") for m in harness.world.bot_messages(USERS.group))

    await harness.process(harness.world.bot_promoted(USERS.admin, USERS.group))
    await settle(harness)
    assert harness.world.message(USERS.group, post.message_id).pinned
    refusals = [m for m in harness.world.bot_messages(USERS.admin) if "没能置顶" in (m.text or "")]
    assert len(refusals) == 1


async def test_accounts_accept_the_office_s_ways_of_writing_amounts_and_fit_a_phone(harness: Harness) -> None:
    from bot.services.announcements import _width

    await link_group(harness)
    replies = await harness.send(USERS.admin, "/announce")
    _, replies = await harness.press(USERS.admin, replies[-1], "三公开")
    await harness.send(USERS.admin, "2026年11月公共收益")
    rows = "停车费 12,000.50 3000\n广告收入，1.2万，０\n维修基金 - ８０００．５"
    replies = await harness.send(USERS.admin, rows)
    assert "没看懂" not in (replies[-1].text or "")
    _, replies = await harness.press(USERS.admin, replies[-1], "小区业主群")
    await harness.press(USERS.admin, harness.last(USERS.admin), "不置顶")
    await harness.press(USERS.admin, harness.last(USERS.admin), "现在发")
    preview = harness.last(USERS.admin)
    assert "12000.50" in (preview.text or "") and "24000.50" in (preview.text or "")  # 12000.50 + 1.2万
    assert any(e["type"] == "pre" for e in preview.entities)  # the same monospace as the post
    await harness.press(USERS.admin, preview, "确认发送")
    await deliver(harness)
    post = harness.last(USERS.group)
    [pre] = [e for e in post.entities if e["type"] == "pre"]
    table = (post.text or "").encode("utf-16-le")[pre["offset"] * 2 : (pre["offset"] + pre["length"]) * 2]
    lines = table.decode("utf-16-le").splitlines()
    assert "11000.50" in "\n".join(lines) and "8000.50" in "\n".join(lines)
    assert max(_width(line) for line in lines) <= 28

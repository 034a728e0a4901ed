"""Residents' journeys of issue 12: the approval brings the menu, and the other small dead ends."""

from __future__ import annotations

from tests.factories import COMPOUND, USERS
from tests.harness import Harness


async def test_an_approved_join_request_brings_the_menu(harness: Harness) -> None:
    replies = await harness.send(USERS.newcomer, "/register")
    await harness.press(USERS.newcomer, replies[-1], "申请加入")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), COMPOUND)
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "3栋")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "1单元")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "402")
    await harness.press(USERS.newcomer, harness.last(USERS.newcomer), "发送申请")
    await harness.drain_outbox()
    await harness.press(USERS.building_leader, harness.last(USERS.building_leader), "同意")
    await harness.drain_outbox()
    news = harness.last(USERS.newcomer)
    assert "申请已经通过" in (news.text or "") and "/start" not in (news.text or "")
    menu = harness.world.reply_keyboard(USERS.newcomer)
    assert menu is not None
    labels = [b if isinstance(b, str) else b["text"] for row in menu["keyboard"] for b in row]
    assert "🔧 报修" in labels and "🏠 绑定房屋" not in labels


async def test_group_signup_from_someone_new_opens_the_private_chat_to_finish(harness: Harness) -> None:
    from tests.patrols_helpers import link_group
    from tests.stories.test_events import group_post, publish

    stranger = 3101
    harness.world.add_user(stranger, "小周")
    harness.world.add_member(USERS.group, stranger)
    await link_group(harness)
    await publish(harness)
    post = await group_post(harness)
    answer, _ = await harness.press(stranger, post, "报名")  # type: ignore[arg-type]
    assert answer is not None
    assert "报名成功" not in (answer.get("text") or "")
    link = answer.get("url") or ""
    assert link.startswith("https://t.me/RedButlerBot?start=er_")
    replies = await harness.open_link(stranger, link.rsplit("start=", 1)[1])
    assert "报名成功" in (replies[-1].text or "") and "免费义诊" in (replies[-1].text or "")
    # Someone the bot already talks to privately is signed up from the group at once.
    answer, _ = await harness.press(USERS.resident, post, "报名")  # type: ignore[arg-type]
    assert answer is not None and "报名成功" in (answer.get("text") or "")


async def test_the_check_in_code_comes_with_a_qr_picture(harness: Harness) -> None:
    from tests.patrols_helpers import link_group
    from tests.stories.test_events import publish

    await link_group(harness)
    replies = await publish(harness, kind="主题党日")
    _, replies = await harness.press(USERS.coordinator, replies[-1], "签到码")
    photo = harness.world.bot_messages(USERS.coordinator)[-2]
    assert photo.photo, "no QR picture"
    assert "签到码" in (harness.last(USERS.coordinator).text or "")
    assert "签到二维码" in (photo.text or "")


async def test_not_fixed_asks_what_is_still_wrong_and_puts_it_on_the_ticket(harness: Harness) -> None:
    from bot.services.repairs import number_of
    from tests.repairs_helpers import drain, find, report, setup_compound, ticket, tickets

    await setup_compound(harness)
    await report(harness, USERS.resident, text="厨房水管接头漏水")
    await harness.process(harness.world.user_replies_keyboard(USERS.resident, "不用了"))
    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "不发照片")
    await drain(harness)
    done = find(harness.world.bot_messages(USERS.resident), "请给个星")
    await harness.press(USERS.resident, done, "没修好")
    assert "还有哪里不对" in (harness.last(USERS.resident).text or "")
    replies = await harness.send(USERS.resident, "接头还在滴水，柜子里都湿了")
    assert "记在报修单" in (replies[-1].text or "")
    await harness.send_photo(USERS.resident)  # a later photo is not taken as the answer twice
    reopened = await ticket(harness, row.id)
    assert reopened.status == "accepted" and "接头还在滴水" in reopened.description
    await drain(harness)
    assert any(
        "接头还在滴水" in text for text in (m.text or "" for m in harness.world.bot_messages(USERS.butler))
    )
    # The butler's card shows it too.
    assert "接头还在滴水" in (harness.world.message(USERS.butler, card.message_id).text or "")


async def test_a_shift_starting_in_15_minutes_promises_no_reminders(harness: Harness) -> None:
    from tests.patrols_helpers import local, make_route, make_shift

    route = await make_route(harness)
    harness.clock.set(local("2026-11-03 19:15"))
    await make_shift(harness, route, "2026-11-03 19:30")
    replies = await harness.send(USERS.patrol, "/patrol")
    _, replies = await harness.press(USERS.patrol, replies[-1], "报名")
    text = replies[-1].text or ""
    assert "报名成功" in text and "前一天晚上" not in text and "提醒" not in text
    assert "马上就开始了" in text
    # A shift tomorrow evening still gets both promises.
    await make_shift(harness, route, "2026-11-04 19:30")
    replies = await harness.send(USERS.patrol, "/patrol")
    _, replies = await harness.press(USERS.patrol, replies[-1], "报名")
    assert "前一天晚上和开始前我都会提醒您" in (replies[-1].text or "")


async def test_reporting_the_same_thing_again_says_you_reported_it(harness: Harness) -> None:
    from tests.repairs_helpers import report, setup_compound

    await setup_compound(harness)
    await report(harness, USERS.resident, text="厨房水管接头漏水")
    replies = await harness.send(USERS.resident, "/report")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🚰 水电")
    await harness.press(USERS.resident, harness.last(USERS.resident), "🏠")
    text = harness.last(USERS.resident).text or ""
    assert "您已经报过了" in text and "已经有人报过了" not in text
    assert "关注这一单" not in " ".join(harness.last(USERS.resident).button_texts)
    assert replies


async def test_event_preview_names_the_audience_once_and_accounts_have_their_own_example(
    harness: Harness,
) -> None:
    replies = await harness.send(USERS.coordinator, "/newevent")
    for text in ("免费义诊", "11月10日 9:00-11:00", "社区活动室", "2"):
        replies = await harness.send(USERS.coordinator, text)
    await harness.press(USERS.coordinator, replies[-1], "小区业主群")
    await harness.press(USERS.coordinator, harness.last(USERS.coordinator), "义诊")
    await harness.press(USERS.coordinator, harness.last(USERS.coordinator), "只办一次")
    preview = harness.last(USERS.coordinator).text or ""
    assert "📣 小区业主群" in preview and "📣 📣" not in preview
    await harness.send(USERS.coordinator, "/cancel")

    replies = await harness.send(USERS.admin, "/announce")
    _, replies = await harness.press(USERS.admin, replies[-1], "三公开账目")
    ask = harness.last(USERS.admin).text or ""
    assert "停水通知" not in ask and "收支" in ask

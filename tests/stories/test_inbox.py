"""The way in: nothing lost, nothing done twice, one bad update never stops the others."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from bot.db.models import InboxUpdate, OutboxMessage, Person, PtbConversation, PtbStore
from bot.db.models.points import PointsEntry
from bot.db.models.repairs import RepairTicket
from bot.services import inbox as inbox_service
from bot.services import people
from tests.factories import USERS
from tests.harness import Harness
from tests.repairs_helpers import setup_compound

STALE = "这个按钮已经过期了"


async def _rows(harness: Harness, status: str) -> list[InboxUpdate]:
    async with harness.services.uow() as uow:
        return list(await uow.session.scalars(select(InboxUpdate).where(InboxUpdate.status == status)))


def _poll_without_allows_revoting(update_id: int) -> dict[str, Any]:
    """What a newer Bot API sent and the pinned PTB cannot parse: Update.de_json raises on it."""
    return {
        "update_id": update_id,
        "poll": {
            "id": "5",
            "question": "今晚开会吗",
            "options": [{"text": "去", "voter_count": 1}],
            "total_voter_count": 1,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
        },
    }


async def test_an_unparseable_update_is_quarantined_and_others_are_still_answered(harness: Harness) -> None:
    from telegram import Update

    poison = _poll_without_allows_revoting(10**9)
    with pytest.raises(Exception):  # noqa: B017 - the pinned library's own error type varies
        Update.de_json(copy.deepcopy(poison), harness.app.bot)
    await harness.inbox.receive([poison])
    replies = await harness.send(USERS.resident, "/points")
    assert replies, "the resident behind the poison update is still answered"
    failed = await inbox_service.failed_updates(harness.services.uow())
    assert [f.update_id for f in failed] == [poison["update_id"]] and "parse" in failed[0].error
    # One notice to the admin, however often the line is looked at again.
    await harness.inbox.process_pending()
    await harness.drain_outbox()
    notices = [t for t in harness.texts(USERS.admin) if str(poison["update_id"]) in t]
    assert len(notices) == 1 and "redbutler inbox failed" in notices[0]
    await inbox_service.drop(harness.services.uow(), poison["update_id"], harness.clock.now())
    assert await inbox_service.failed_updates(harness.services.uow()) == []


async def test_a_handler_that_keeps_failing_is_tried_three_times_then_moved_aside(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = people.whoami

    async def broken(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        raise RuntimeError("database exploded")

    monkeypatch.setattr(people, "whoami", broken)
    replies = await harness.send(USERS.resident, "/me")
    assert calls["n"] == 3
    # One apology, after the last try, not one per try.
    assert len([r for r in replies if "编号告诉物业" in (r.text or "")]) == 1
    [failed] = await inbox_service.failed_updates(harness.services.uow())
    assert "RuntimeError" in failed.error and failed.attempts == 3
    # Fixed: an admin puts it back in line and it is handled.
    monkeypatch.setattr(people, "whoami", real)
    await inbox_service.retry(harness.services.uow(), failed.update_id, harness.clock.now())
    before = len(harness.world.bot_messages(USERS.resident))
    await harness.inbox.process_pending()
    assert len(harness.world.bot_messages(USERS.resident)) == before + 1
    assert await _rows(harness, "failed") == []


async def test_an_update_delivered_twice_is_handled_once(harness: Harness) -> None:
    update = harness.world.user_sends_text(USERS.admin, "/award 张阿姨 5 扫雪")
    await harness.process(update)
    await harness.process(copy.deepcopy(update))  # Telegram resends / a webhook retry
    async with harness.services.uow() as uow:
        count = await uow.session.scalar(
            select(func.count(PointsEntry.id)).where(PointsEntry.reason == "扫雪")
        )
    assert count == 1
    assert len([t for t in harness.texts(USERS.admin) if "扫雪" in t]) == 1


async def test_a_crash_before_the_update_is_marked_repeats_it_without_doing_it_twice(
    harness: Harness,
) -> None:
    update = harness.world.user_sends_text(USERS.admin, "/award 张阿姨 5 修车棚")
    await harness.process(update)
    # The crash came after the award was committed but before its inbox row was marked handled.
    async with harness.services.uow() as uow:
        row = await uow.session.get(InboxUpdate, update["update_id"])
        assert row is not None and row.status == "handled"
        row.status = "pending"
        await uow.commit()
    await harness.restart(crash=True)
    await harness.inbox.process_pending()
    async with harness.services.uow() as uow:
        count = await uow.session.scalar(
            select(func.count(PointsEntry.id)).where(PointsEntry.reason == "修车棚")
        )
    assert count == 1
    # The admin, who may never have seen the first answer, reads the same award again.
    answers = [t for t in harness.texts(USERS.admin) if "修车棚" in t]
    assert len(answers) == 2 and answers[0] == answers[1]


async def test_submitting_a_report_again_after_a_crash_files_one_ticket(harness: Harness) -> None:
    await setup_compound(harness)
    user = USERS.resident
    await harness.send(user, "/report")
    await harness.press(user, harness.last(user), "🚰 水电")
    await harness.press(user, harness.last(user), "🏠")
    await harness.send(user, "卫生间漏水")
    await harness.press(user, harness.last(user), "跳过")
    await harness.press(user, harness.last(user), "一般")
    confirm = harness.last(user)
    first, second = await _press_again_after_a_crash(harness, user, confirm, "提交报修")
    async with harness.services.uow() as uow:
        tickets = list(await uow.session.scalars(select(RepairTicket)))
    assert len(tickets) == 1
    assert "BX" in first and first == second


async def test_publishing_an_announcement_again_after_a_crash_sends_one(harness: Harness) -> None:
    from bot.db.models.announcements import Announcement
    from tests.stories.test_announcements import compose

    await compose(harness, kind="普通公告", title="停电通知", body="周三停电两小时。", audience="某一栋楼")
    await harness.press(USERS.admin, harness.last(USERS.admin), "3栋")
    await harness.press(USERS.admin, harness.last(USERS.admin), "现在发")
    confirm = harness.last(USERS.admin)
    first, second = await _press_again_after_a_crash(harness, USERS.admin, confirm, "确认发送")
    async with harness.services.uow() as uow:
        rows = list(await uow.session.scalars(select(Announcement)))
        queued = await uow.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.purpose == "announcement")
        )
    assert len(rows) == 1 and queued == 1
    assert "停电通知" in first and first == second


async def _press_again_after_a_crash(
    harness: Harness, user: int, confirm: Any, button: str
) -> tuple[str, str]:
    """Press `button`; the process dies after the service committed and before the conversation step was
    saved; after the restart the person, who saw no answer, presses the same button again. Returns what the
    bot said (or edited the message into) after each press."""
    data = confirm.find_button(button)["callback_data"]
    async with harness.services.uow() as uow:
        saved = [
            (model, [_columns(r) for r in await uow.session.scalars(select(model))])
            for model in (PtbStore, PtbConversation)
        ]

    async def press() -> str:
        before = harness._last_id(user)
        await harness.process(harness.world.user_sends_callback(user, confirm.message_id, data, chat_id=user))
        # What the press answered: the card it edited, or its reply (a follow-up question may come after).
        new = [m for m in harness._since(user, before) if "方便留个电话" not in (m.text or "")]
        return (new[-1] if new else harness.world.message(user, confirm.message_id)).text or ""

    first = await press()
    async with harness.services.uow() as uow:
        for model, rows in saved:
            await uow.session.execute(delete(model))
            uow.session.add_all(model(**row) for row in rows)
        await uow.commit()
    await harness.restart(crash=True)
    return first, await press()


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: copy.deepcopy(getattr(row, c.key)) for c in row.__table__.columns}


@pytest.mark.parametrize(
    "data",
    [
        "pt:r:99999999999999999999999",
        "pt:r:-99999999999999999999",
        f"rp:tk:{2**63}",
        f"ev:go:{2**64}",
        "pt:r:一二三",
        "rp:urge:" + "9" * 200,
        "x" * 300,
        "",
    ],
)
async def test_forged_button_data_is_refused_like_a_stale_button(harness: Harness, data: str) -> None:
    replies = await harness.send(USERS.resident, "/points")
    message = replies[-1]
    update = harness.world.user_sends_callback(
        USERS.resident, message.message_id, "pt:x", chat_id=USERS.resident
    )
    update["callback_query"]["data"] = data
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"]) or {}
    assert STALE in (answer.get("text") or "") or not answer.get("text")
    assert await _rows(harness, "failed") == []
    assert not [t for t in harness.texts(USERS.resident) if "编号告诉物业" in t]


async def test_every_button_prefix_survives_ids_above_2_63(harness: Harness) -> None:
    """Every pattern the bot listens for, fed a number no id can be: answered, never an error."""
    from telegram.ext import CallbackQueryHandler, ConversationHandler

    prefixes: set[str] = set()

    def collect(handler: object) -> None:
        if isinstance(handler, ConversationHandler):
            for h in [
                *handler.entry_points,
                *handler.fallbacks,
                *(x for v in handler.states.values() for x in v),
            ]:
                collect(h)
        elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
            pattern = getattr(handler.pattern, "pattern", str(handler.pattern)).lstrip("^")
            literal = ""
            for char in pattern:
                if char in "\\[(.*+?$|{":
                    break
                literal += char
            if literal:
                prefixes.add(literal)

    for group in harness.app.handlers.values():
        for handler in group:
            collect(handler)
    assert len(prefixes) > 20
    message = (await harness.send(USERS.admin, "/points"))[-1]
    huge = str(2**63 + 5)
    for prefix in sorted(prefixes):
        data = (prefix if prefix.endswith(":") else prefix + ":") + huge + ":" + huge
        update = harness.world.user_sends_callback(USERS.admin, message.message_id, "x", chat_id=USERS.admin)
        update["callback_query"]["data"] = data[:64]
        await harness.process(update)
    assert [
        f.error.splitlines()[0][:80] for f in await inbox_service.failed_updates(harness.services.uow())
    ] == []


async def test_a_press_with_no_message_under_it_is_answered_as_stale(harness: Harness) -> None:
    replies = await harness.send(USERS.resident, "/points")
    update = harness.world.user_sends_callback(
        USERS.resident, replies[-1].message_id, "pt:cat", chat_id=USERS.resident
    )
    del update["callback_query"]["message"]
    update["callback_query"]["inline_message_id"] = "AAAA"
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"]) or {}
    assert STALE in (answer.get("text") or "")
    assert await _rows(harness, "failed") == []


async def test_a_direct_reply_that_gets_429_arrives_after_the_wait(harness: Harness) -> None:
    harness.world.inject_fault(method="sendMessage", chat_id=USERS.resident, kind="429", retry_after=1)
    started = time.monotonic()
    replies = await harness.send(USERS.resident, "/points")
    assert replies and time.monotonic() - started >= 1.0
    assert harness.flood_limiter.retried_after_429 == 1


async def test_broadcasts_skip_someone_who_blocked_the_bot_until_they_write_again(harness: Harness) -> None:
    from bot.delivery.notify import notify_person

    async def queue_notice() -> int:
        async with harness.services.uow() as uow:
            person = await uow.session.scalar(select(Person).where(Person.telegram_id == USERS.resident))
            assert person is not None
            await notify_person(
                uow, harness.services.translator, person, "common.stale_button", now=harness.clock.now()
            )
            await uow.commit()
            return int(
                await uow.session.scalar(
                    select(func.count(OutboxMessage.id)).where(OutboxMessage.chat_id == USERS.resident)
                )
                or 0
            )

    await harness.send(USERS.resident, "/points")
    harness.world.block_bot(USERS.resident)
    queued = await queue_notice()
    stats = await harness.drain_outbox()
    assert stats.blocked == 1
    assert await queue_notice() == queued  # unreachable: nothing more is queued for them
    harness.world.unblock_bot(USERS.resident)
    await harness.send(USERS.resident, "/points")  # they write again
    assert await queue_notice() == queued + 1


async def test_a_slow_person_does_not_hold_up_another_and_each_chat_keeps_its_order(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    app = harness.app
    handle = app.process_update
    answered: list[int] = []

    async def slow_for_the_resident(update: object) -> None:
        user = getattr(update, "effective_user", None)
        if user is not None and user.id == USERS.resident:
            await asyncio.sleep(0.3)  # a slow database or Telegram for this one person
        await handle(update)
        if user is not None:
            answered.append(user.id)

    monkeypatch.setattr(app, "process_update", slow_for_the_resident)
    # The first batch after a start is handled in order; this one also loads the law matcher.
    await harness.send(USERS.neighbour, "邻居家的狗老是叫")
    answered.clear()
    world = harness.world
    await harness.inbox.receive(
        [
            world.user_sends_text(USERS.resident, "/law"),
            world.user_sends_text(USERS.resident, "邻居家的狗老是叫"),
            world.user_sends_text(USERS.neighbour, "/law"),
            world.user_sends_text(USERS.neighbour, "邻居家的狗老是叫"),
        ]
    )
    await harness.inbox.process_pending()
    # The neighbour's two messages are answered while the resident's first still waits.
    assert answered[:2] == [USERS.neighbour, USERS.neighbour]
    for person in (USERS.resident, USERS.neighbour):
        texts = harness.texts(person)
        # In order: the question is answered as the question /law asked for, not as a new message.
        assert texts[-2].startswith("请说说您遇到的事") and texts[-1].startswith("您是不是想问")

"""Butlers, mediators, the property manager and the supervisor: routing, the task card, digests, 红榜."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db.models.repairs import RepairTicket
from bot.services.repairs import number_of, set_policy
from tests.factories import USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import (
    SECOND_BUTLER,
    add_butler,
    all_texts,
    deactivate_role,
    drain,
    find,
    group_card,
    person_id,
    report,
    setup_compound,
    ticket,
    tickets,
    timeline,
)


async def test_dispute_goes_to_the_mediator_not_a_plumber(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await report(harness, USERS.resident, kind="🤝 邻里纠纷", text="楼上天天半夜拖椅子")
    assert "调解员" in (replies[0].text or "") and "郑大姐" in (replies[0].text or "")
    [row] = await tickets(harness)
    assert row.queue == "mediation" and row.assignee_id == await person_id(harness, USERS.mediator)
    await drain(harness)
    assert not any(number_of(row.id) in t for t in all_texts(harness, USERS.butler))
    # A butler forging the accept button of a dispute is refused.
    card = find(harness.world.bot_messages(USERS.mediator), number_of(row.id))
    tasks = (await harness.send(USERS.butler, "/tasks"))[-1]
    assert "没有待办" in (tasks.text or "")
    update = forged_callback(harness.world, USERS.butler, USERS.butler, tasks.message_id, f"rp:acc:{row.id}")
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and "值班名单" in (answer.get("text") or "")
    await harness.press(USERS.mediator, card, "接单")
    assert (await ticket(harness, row.id)).status == "accepted"


async def test_nobody_responsible_goes_to_the_duty_queue_and_the_manager_takes_it(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, kind="🚪 门禁与公共设施", spot="东门", text="东门道闸抬不起来")
    [row] = await tickets(harness)
    assert row.queue == "duty" and row.assignee_id is None
    await drain(harness)
    duty = find(harness.world.bot_messages(USERS.manager), "值班队列")
    replies = await harness.send(USERS.manager, "/tasks")
    assert number_of(row.id) in (replies[-1].text or "")
    await harness.press(USERS.manager, duty, "接单")
    row = await ticket(harness, row.id)
    assert row.status == "accepted" and row.assignee_id == await person_id(harness, USERS.manager)


async def test_routing_prefers_the_butler_with_fewest_open_tasks(harness: Harness) -> None:
    await setup_compound(harness)
    second = await add_butler(harness)
    first = await person_id(harness, USERS.butler)
    await report(harness, USERS.resident, text="热水器不出热水")
    await report(harness, USERS.neighbour, place="1栋1单元101", text="客厅插座没电")
    assignees = [t.assignee_id for t in await tickets(harness)]
    assert sorted(assignees) == sorted([first, second])  # type: ignore[type-var]


async def _reported_to_one_of_two_butlers(harness: Harness) -> tuple[RepairTicket, int, int]:
    """A report with two butlers covering it: the ticket, the butler holding it and the other one."""
    await setup_compound(harness)
    await add_butler(harness)
    await report(harness, USERS.resident, text="水表漏水")
    await drain(harness)
    [row] = await tickets(harness)
    holder = USERS.butler if row.assignee_id == await person_id(harness, USERS.butler) else SECOND_BUTLER
    other = SECOND_BUTLER if holder == USERS.butler else USERS.butler
    return row, holder, other


async def test_reassign_with_reason_and_ask_for_help(harness: Harness) -> None:
    row, holder, other = await _reported_to_one_of_two_butlers(harness)
    card = find(harness.world.bot_messages(holder), number_of(row.id))
    await harness.press(holder, card, "需要协助")
    await drain(harness)
    assert any("需要协助" in t for t in all_texts(harness, USERS.manager))
    assert "需要协助" in (group_card(harness, number_of(row.id)).text or "")
    await harness.press(holder, harness.world.message(holder, card.message_id), "转派")
    other_name = "李师傅" if other == SECOND_BUTLER else "王师傅"
    await harness.press(holder, harness.last(holder), other_name)
    replies = await harness.send_photo(holder)
    assert "请点上面的按钮" in (replies[-1].text or "")
    replies = await harness.send(holder, "我今天请假，麻烦同事跑一趟")
    assert other_name in (replies[-1].text or "")
    await drain(harness)
    new_card = find(harness.world.bot_messages(other), number_of(row.id))
    await harness.press(other, new_card, "接单")
    row = await ticket(harness, row.id)
    assert row.assignee_id == await person_id(harness, other) and row.status == "accepted"
    # The old card's buttons are stale now.
    update = forged_callback(harness.world, holder, holder, card.message_id, f"rp:acc:{row.id}")
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and other_name in (answer.get("text") or "")
    replies = await harness.send(USERS.resident, f"/ticket {number_of(row.id)}")
    assert "请假" not in (replies[-1].text or "") or "转派" in (replies[-1].text or "")
    assert await timeline(harness, row.id) == ["created", "assigned", "help", "reassigned", "accepted"]


async def test_a_butler_who_left_the_roster_cannot_act_and_the_ticket_moves_on(harness: Harness) -> None:
    await setup_compound(harness)
    await report(harness, USERS.resident, text="楼道灯坏了")
    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await deactivate_role(harness, USERS.butler, "butler")
    answer, _ = await harness.press(USERS.butler, card, "接单")
    assert answer is not None and "值班名单" in (answer.get("text") or "")
    harness.clock.advance(timedelta(hours=2))
    await harness.tick()
    await drain(harness)
    row = await ticket(harness, row.id)
    assert row.assignee_id is None and row.queue == "duty" and row.escalation_level == 1
    assert "left_roster" in await timeline(harness, row.id)
    assert any("请您跟进" in t for t in all_texts(harness, USERS.manager))
    replies = await harness.send(USERS.resident, "/tasks")
    assert "没有权限" in (replies[-1].text or "")


async def test_weekly_digest_reaches_supervisors_once(harness: Harness) -> None:
    await setup_compound(harness)
    await harness.tick()  # the current week: no tickets last week, nothing sent
    await report(harness, USERS.resident)
    await drain(harness)
    # Next Monday 09:00 in Shanghai.
    harness.clock.set(datetime(2026, 11, 9, 1, 0, tzinfo=UTC))
    await harness.tick()
    await harness.restart(crash=True)
    await harness.tick()
    await drain(harness)
    digests = [t for t in all_texts(harness, USERS.supervisor) if "上周报修小结" in t]
    assert len(digests) == 1 and "新报修：1 单" in digests[0]


async def test_monthly_honour_board_is_opt_in_and_posted_to_the_group(harness: Harness) -> None:
    cid = await setup_compound(harness)
    await report(harness, USERS.resident)
    await drain(harness)
    [row] = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(row.id))
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "直接完成")
    await drain(harness)
    await harness.press(USERS.resident, find(harness.world.bot_messages(USERS.resident), "处理好了"), "4⭐")
    first_of_december = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    harness.clock.set(first_of_december)
    await harness.tick()
    await drain(harness)
    assert not any("红榜" in t for t in all_texts(harness, USERS.group))  # not opted in
    await set_policy(harness.services.uow(), cid, honour_board=True)
    harness.clock.set(datetime(2027, 1, 1, 2, 30, tzinfo=UTC))
    await harness.tick()
    await drain(harness)
    assert not any("红榜" in t for t in all_texts(harness, USERS.group))  # December had no work
    # Opted in before the month's board: the November board is posted once, with on-time rate and rating.
    await _reset_runs(harness)
    harness.clock.set(first_of_december + timedelta(hours=1))
    await harness.tick()
    await harness.tick()
    await drain(harness)
    boards = [t for t in all_texts(harness, USERS.group) if "红榜" in t]
    assert len(boards) == 1 and "王师傅" in boards[0] and "100%" in boards[0] and "4.0" in boards[0]
    assert "张阿姨" not in boards[0] and "501" not in boards[0]


async def _reset_runs(harness: Harness) -> None:
    from sqlalchemy import delete

    from bot.db.models.repairs import RepairRun

    async with harness.services.uow() as uow:
        await uow.session.execute(delete(RepairRun).where(RepairRun.kind == "honour"))
        await uow.commit()


async def test_a_reason_that_sounds_like_a_repair_is_the_reason_not_a_new_report(harness: Harness) -> None:
    """The reason step asks for free text; the report's "repair" entry point must not take it."""
    row, holder, other = await _reported_to_one_of_two_butlers(harness)
    other_name = "李师傅" if other == SECOND_BUTLER else "王师傅"
    card = find(harness.world.bot_messages(holder), number_of(row.id))
    await harness.press(holder, card, "转派")
    await harness.press(holder, harness.last(holder), other_name)
    replies = await harness.send(holder, "水管配件没到，麻烦同事去修一下水管")
    assert other_name in (replies[-1].text or "")
    assert len(await tickets(harness)) == 1
    assert await timeline(harness, row.id) == ["created", "assigned", "reassigned"]

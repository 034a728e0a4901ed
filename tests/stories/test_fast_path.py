"""Each kind of update costs a fixed, small number of SQL statements (issue 17), counted through the real
Application; the speed itself is measured by `redbutler bench e2e`, not here.

The inbox's own arrival statements (storing a batch, reading the pending batch) are shared by up to 100
updates and are not counted; the update's "handled" mark is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.factories import USERS
from tests.harness import Harness

GREETING = 2
POINTS_CHECK = 4
FIRST_POINTS_CHECK = 8  # issue 17's budget for a points check
LAW_QUESTION = 4
BUTTON_PRESS = 6
LAW = "邻居家的狗老是叫"  # a near miss: "您是不是想问" with buttons (a clear dog-bite question is answered)


def _per_batch(statement: str) -> bool:
    words = " ".join(statement.split())
    return words.startswith("INSERT INTO inbox ") or (words.startswith("SELECT") and " FROM inbox " in words)


async def _cost(harness: Harness, action: Callable[[], Awaitable[Any]]) -> list[str]:
    with harness.statements() as seen:
        await action()
    return [s for s in seen if not _per_batch(s)]


def _show(statements: list[str]) -> str:
    return "\n".join(" ".join(s.split())[:120] for s in statements)


async def test_a_greeting_costs_at_most_2_statements(harness: Harness) -> None:
    await harness.send(USERS.resident, "你好")  # the first message of a process also marks them reachable
    statements = await _cost(harness, lambda: harness.send(USERS.resident, "你好"))
    assert harness.texts(USERS.resident)[-1].startswith("我能帮您做这些")
    assert len(statements) <= GREETING, _show(statements)


async def test_a_points_check_costs_at_most_4_statements(harness: Harness) -> None:
    await harness.send(USERS.admin, "/award 张阿姨 5 扫雪")
    await harness.send(USERS.resident, "/points")
    statements = await _cost(harness, lambda: harness.send(USERS.resident, "/points"))
    assert "您现在有 5 分" in harness.texts(USERS.resident)[-1]
    assert len(statements) <= POINTS_CHECK, _show(statements)


async def test_a_persons_first_points_check_keeps_the_issues_budget(harness: Harness) -> None:
    """The bench's case: every /points there is the person's first, which also stores their language once
    (a write, and its handled mark at once rather than with the batch's): still at most 8 statements."""
    await harness.send(USERS.admin, "/award 张阿姨 5 扫雪")
    await harness.send(USERS.resident, "你好")  # the first message of a process also marks them reachable
    statements = await _cost(harness, lambda: harness.send(USERS.resident, "/points"))
    assert "您现在有 5 分" in harness.texts(USERS.resident)[-1]
    assert len(statements) <= FIRST_POINTS_CHECK, _show(statements)


async def test_a_law_question_costs_a_fixed_few_statements(harness: Harness) -> None:
    await harness.send(USERS.resident, LAW)  # the first question also remembers their language
    statements = await _cost(harness, lambda: harness.send(USERS.resident, LAW))
    assert harness.texts(USERS.resident)[-1].startswith("您是不是想问")
    assert len(statements) <= LAW_QUESTION, _show(statements)


async def test_a_button_press_costs_a_fixed_few_statements(harness: Harness) -> None:
    await harness.send(USERS.resident, LAW)
    suggestions = harness.last(USERS.resident)
    first = suggestions.buttons[0][0]
    statements = await _cost(
        harness, lambda: harness.press_data(USERS.resident, suggestions, first["callback_data"])
    )
    assert len(harness.texts(USERS.resident)) >= 2
    assert len(statements) <= BUTTON_PRESS, _show(statements)


async def test_my_tickets_costs_the_same_for_one_ticket_or_many(harness: Harness) -> None:
    """No statement per listed ticket (each used to look its assignee up on its own)."""
    costs = []
    for tickets in (1, 8):
        await _tickets_for_the_resident(harness, tickets)
        await harness.send(USERS.resident, "/mytickets")  # the first look also remembers their language
        statements = await _cost(harness, lambda: harness.send(USERS.resident, "/mytickets"))
        assert harness.texts(USERS.resident)[-1].count("处理中") == tickets
        costs.append(len(statements))
    assert costs[0] == costs[1], costs


async def _tickets_for_the_resident(harness: Harness, count: int) -> None:
    from sqlalchemy import delete, select

    from bot.db.models import Compound, Person
    from bot.db.models.repairs import RepairTicket

    now = harness.clock.now()
    async with harness.services.uow() as uow:
        await uow.session.execute(delete(RepairTicket))
        people = {
            p.telegram_id: p.id
            for p in await uow.session.scalars(select(Person).where(Person.telegram_id.is_not(None)))
        }
        compound = await uow.session.scalar(select(Compound.id).limit(1))
        staff = [USERS.butler, USERS.building_leader, USERS.manager, USERS.mediator]
        for n in range(count):
            uow.session.add(
                RepairTicket(
                    compound_id=compound,
                    reporter_id=people[USERS.resident],
                    kind="plumbing_electric",
                    description="厨房水管漏水",
                    place_label="3栋2单元501",
                    public_label="3栋",
                    assignee_id=people[staff[n % len(staff)]],
                    status="accepted",
                    last_person_action_at=now,
                    created_at=now,
                )
            )
        await uow.commit()

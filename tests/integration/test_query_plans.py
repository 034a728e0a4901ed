"""The hot per-person queries use an index at 50,000 tickets and 200,000 ledger lines (PostgreSQL's plans;
SQLite has no cost-based choice worth checking). The queries are the ones the services really send,
captured while they run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, select, text

from bot.db.models import Compound, Person
from bot.db.uow import UnitOfWorkFactory
from bot.services import people, points, repairs
from tests.conftest import PG_URL, START
from tests.factories import USERS

pytestmark = pytest.mark.skipif(not PG_URL, reason="query plans are checked on PostgreSQL")

HOT_TABLES = {"repair_tickets", "points_entries", "repair_followers"}


async def _seed_volume(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        people = {
            p.telegram_id: p.id
            for p in await uow.session.scalars(select(Person).where(Person.telegram_id.is_not(None)))
        }
        compound = await uow.session.scalar(select(Compound.id).where(Compound.name == "幸福里小区"))
        resident, neighbour = people[USERS.resident], people[USERS.neighbour]
        # 50,000 tickets, 5 of them the resident's (the oldest), the rest the neighbour's; the resident
        # follows 5 more.
        await uow.session.execute(
            text(
                "INSERT INTO repair_tickets (compound_id, reporter_id, kind, urgency, description, photos,"
                " status, queue, needs_help, escalation_level, reopen_count, version, place_label,"
                " public_label, last_person_action_at, created_at)"
                " SELECT CAST(:compound AS BIGINT), CASE WHEN n <= 5 THEN CAST(:resident AS BIGINT)"
                " ELSE CAST(:neighbour AS BIGINT) END, 'plumbing_electric', 'normal', '漏水', '[]', 'closed',"
                " 'butler', false, 0, 0, 1, '', '', :now, :now"
                " FROM generate_series(1, 50000) AS n"
            ),
            {"compound": compound, "resident": resident, "neighbour": neighbour, "now": START},
        )
        # 25,000 followings: the neighbour follows every other ticket, the resident two of them.
        await uow.session.execute(
            text(
                "INSERT INTO repair_followers (ticket_id, person_id, created_at)"
                " SELECT id, CASE WHEN id % 10000 = 0 THEN CAST(:resident AS BIGINT)"
                " ELSE CAST(:neighbour AS BIGINT) END, :now FROM repair_tickets WHERE id % 2 = 0"
            ),
            {"resident": resident, "neighbour": neighbour, "now": START},
        )
        # 200,000 ledger lines: 20 on the resident's account, the rest on the neighbour's.
        for person in (resident, neighbour):
            await uow.session.execute(
                text(
                    "INSERT INTO points_accounts (person_id, compound_id, balance, created_at)"
                    " VALUES (:person, :compound, 0, :now)"
                ),
                {"person": person, "compound": compound, "now": START},
            )
        await uow.session.execute(
            text(
                "INSERT INTO points_entries (account_id, person_id, compound_id, amount, balance_after, kind,"
                " earning, reason, idempotency_key, created_at)"
                " SELECT a.id, a.person_id, CAST(:compound AS BIGINT), 1, n, 'award', true, '扫雪',"
                " 'plan-' || n, :now FROM generate_series(1, 200000) AS n JOIN points_accounts a"
                " ON a.person_id = CASE WHEN n <= 20 THEN CAST(:resident AS BIGINT)"
                " ELSE CAST(:neighbour AS BIGINT) END"
            ),
            {"compound": compound, "resident": resident, "neighbour": neighbour, "now": START},
        )
        await uow.commit()
    async with uow_factory() as uow:
        connection = await uow.session.connection()
        await connection.exec_driver_sql("ANALYZE")


async def _plans(uow_factory: UnitOfWorkFactory, work: Any) -> list[tuple[str, dict[str, Any]]]:
    """Run `work`, then EXPLAIN every SELECT it sent that reads a hot table."""
    engine = uow_factory.sessionmaker.kw["bind"].sync_engine
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and any(t in statement for t in HOT_TABLES):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        await work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    plans = []
    async with uow_factory() as uow:
        connection = await uow.session.connection()
        for statement, parameters in sent:
            result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
            plan = result.scalar_one()
            plans.append((statement, (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]))
    return plans


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(_nodes(child))
    return found


def _assert_indexed(plans: list[tuple[str, dict[str, Any]]]) -> None:
    assert plans
    for statement, plan in plans:
        for node in _nodes(plan):
            table = node.get("Relation Name")
            if table in HOT_TABLES:
                where = " ".join(statement.split())[:200]
                assert node["Node Type"] != "Seq Scan", f"{table} scanned in full by: {where}"
                # Walking the primary key backwards past other people's rows was the /mytickets problem.
                assert node.get("Index Name") != f"{table}_pkey" or "Index Cond" in node, (
                    f"{table} walked by its primary key: {where}"
                )


async def test_my_tickets_uses_indexes_at_50000_tickets(uow_factory: UnitOfWorkFactory) -> None:
    await _seed_volume(uow_factory)

    async def work() -> None:
        listed = await repairs.my_tickets(uow_factory(), USERS.resident)
        assert len(listed) == 10

    _assert_indexed(await _plans(uow_factory, work))


async def test_the_points_page_uses_indexes_at_200000_ledger_lines(uow_factory: UnitOfWorkFactory) -> None:
    await _seed_volume(uow_factory)

    async def work() -> None:
        person = await people.whoami(uow_factory(), USERS.resident)
        assert person is not None
        summary = await points.points_summary(uow_factory(), person.id, points.points_compound(person), START)
        assert summary.balance == 0 and len(summary.entries) == 5

    _assert_indexed(await _plans(uow_factory, work))

"""Binding a Telegram account to the roster's person loses nothing: every row that points at a person stays.

The rows are made for every table the model metadata says references people, so a table added later is
covered without anyone remembering to add it here.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Column, Table, func, insert, select

from bot.cli import main
from bot.db.base import Base, UtcDateTime
from bot.db.models import Person, StaffRole
from bot.db.models.points import Partner, PartnerMember, PointsAccount, PointsEntry, RewardService, Voucher
from bot.services.identity import person_references
from bot.services.invites import create_invites
from tests.factories import COMPOUND, OTHER_COMPOUND, USERS
from tests.harness import Harness

PHONE = "13900000088"
_serial = itertools.count(1)


def _value_for(column: Column[Any], now: datetime) -> Any:
    n = next(_serial)
    if isinstance(column.type, UtcDateTime):
        return now
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return {}
    if kind is str:
        length = getattr(column.type, "length", None) or 40
        return f"T{n:05d}"[:length]
    if kind is bool:
        return False
    if kind in (int, float):
        return 1 if column.name not in ("id",) else n
    if kind is datetime:
        return now
    if kind in (dict, list):
        return kind()
    return 1


class RowMaker:
    """Insert one valid row into any table, making the rows it depends on first (once each)."""

    def __init__(self, session: Any, person_id: int, parents: dict[str, int], now: datetime) -> None:
        self.session = session
        self.person_id = person_id
        self.parents = parents
        self.now = now

    async def row(self, table: Table) -> int:
        values: dict[str, Any] = {}
        for column in table.columns:
            if column.primary_key:
                continue
            targets = [fk.column.table.name for fk in column.foreign_keys]
            if targets == ["people"]:
                values[column.name] = self.person_id
            elif targets:
                if column.nullable:
                    continue
                if targets[0] not in self.parents:
                    self.parents[targets[0]] = await self.row(Base.metadata.tables[targets[0]])
                values[column.name] = self.parents[targets[0]]
            elif column.unique or (
                not column.nullable and column.default is None and column.server_default is None
            ):
                values[column.name] = _value_for(column, self.now)
        result = await self.session.execute(insert(table).values(values))
        return int(result.inserted_primary_key[0])


async def _points_rows(uow: Any, person_id: int, compound_id: int, now: datetime, tag: str) -> dict[str, int]:
    """A consistent ledger: 30 earned, 10 held for a voucher; balance 20."""
    partner = Partner(compound_id=compound_id, name=f"理发店{tag}", address="", created_at=now)
    uow.session.add(partner)
    await uow.session.flush()
    service = RewardService(
        partner_id=partner.id, compound_id=compound_id, category="理发", name="剪发", cost=10, created_at=now
    )
    account = PointsAccount(person_id=person_id, compound_id=compound_id, balance=20, created_at=now)
    member = PartnerMember(partner_id=partner.id, person_id=person_id, created_at=now)
    uow.session.add_all([service, account, member])
    await uow.session.flush()
    voucher = Voucher(
        code=f"V{tag}2345678",
        request_key=f"req-{tag}",
        compound_id=compound_id,
        person_id=person_id,
        account_id=account.id,
        service_id=service.id,
        partner_id=partner.id,
        cost=10,
        status="active",
        used_by=person_id,  # a made-up value, so this column has a row too
        hold_until=now,
        created_at=now,
    )
    uow.session.add(voucher)
    await uow.session.flush()
    for amount, after, kind, ref in ((30, 30, "award", None), (-10, 20, "hold", str(voucher.id))):
        uow.session.add(
            PointsEntry(
                account_id=account.id,
                person_id=person_id,
                compound_id=compound_id,
                amount=amount,
                balance_after=after,
                kind=kind,
                ref_type="voucher" if ref else "manual",
                ref_id=ref,
                idempotency_key=f"{tag}-{kind}",
                actor_id=person_id,
                created_at=now,
            )
        )
    await uow.session.flush()
    return {
        "points_partners": partner.id,
        "points_services": service.id,
        "points_accounts": account.id,
        "points_vouchers": voucher.id,
    }


async def _seed_roster_person(harness: Harness) -> int:
    now = harness.clock.now()
    async with harness.services.uow() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        person = Person(display_name="钱老板", phone=PHONE, created_at=now)
        uow.session.add(person)
        await uow.session.flush()
        role = StaffRole(person_id=person.id, role="merchant", compound_id=compound.id, created_at=now)
        uow.session.add(role)
        parents = {"compounds": compound.id}
        parents.update(await _points_rows(uow, person.id, compound.id, now, "R"))
        maker = RowMaker(uow.session, person.id, parents, now)
        for table, column in person_references():
            count = select(func.count()).select_from(table).where(column == person.id)
            if not await uow.session.scalar(count):
                await maker.row(table)
        await uow.commit()
        return person.id


async def _owned_rows(harness: Harness, person_id: int) -> dict[str, set[int]]:
    owned: dict[str, set[int]] = {}
    async with harness.services.uow() as uow:
        for table, column in person_references():
            primary = next(iter(table.primary_key.columns))
            ids = (await uow.session.scalars(select(primary).where(column == person_id))).all()
            owned[f"{table.name}.{column.name}"] = set(ids)
    return owned


# The inbox keeps every update the bot receives, refused or not: it is the way in, not a record the bind
# may change.
UPDATE_LOG_TABLES = frozenset({"inbox"})


async def _table_counts(harness: Harness) -> dict[str, int]:
    async with harness.services.uow() as uow:
        return {
            name: int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in Base.metadata.tables.items()
            if name not in UPDATE_LOG_TABLES
        }


def _audit(database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", database_url)
    capsys.readouterr()
    code = main(["points", "audit"])
    out = capsys.readouterr()
    assert code == 0, out.err  # exit 1 lists every problem the ledger has
    return out.out


async def _invite(harness: Harness) -> str:
    views = await create_invites(
        harness.services.uow(),
        bot_username="RedButlerBot",
        compound_name=COMPOUND,
        now=harness.clock.now(),
        phone=PHONE,
    )
    return views[0].code


async def test_binding_keeps_every_row_of_the_roster_person_and_the_account(
    harness: Harness, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    roster_id = await _seed_roster_person(harness)
    owned = await _owned_rows(harness, roster_id)
    missing = [name for name, ids in owned.items() if not ids]
    assert missing == [], f"no row made for {missing}"
    await asyncio.to_thread(_audit, database_url, monkeypatch, capsys)  # clean before

    # The merchant first writes to the bot (a temporary person with a language and points elsewhere)...
    replies = await harness.send(USERS.outsider, "/start")
    await harness.press(USERS.outsider, replies[-1], "中文")
    async with harness.services.uow() as uow:
        account = await uow.community.person_by_telegram(USERS.outsider)
        assert account is not None
        account_id = account.id
        other = await uow.community.compound_by_name(OTHER_COMPOUND)
        assert other is not None
        await _points_rows(uow, account.id, other.id, harness.clock.now(), "A")
        await uow.commit()
    account_rows = await _owned_rows(harness, account_id)
    before = await _table_counts(harness)

    # ...then opens the office's invite.
    replies = await harness.open_link(USERS.outsider, f"inv_{await _invite(harness)}")
    assert "商户" in (replies[-1].text or "")

    after = await _owned_rows(harness, roster_id)
    for name, ids in owned.items():
        assert ids <= after[name], f"{name} lost rows {ids - after[name]}"
        assert account_rows[name] <= after[name], f"{name}: the account's rows did not follow"
    counts = await _table_counts(harness)
    assert counts["people"] == before["people"] - 1  # only the emptied temporary record
    shrunk = {
        name: (before[name], counts[name])
        for name in before
        if name != "people" and counts[name] < before[name]
    }
    assert shrunk == {}
    async with harness.services.uow() as uow:
        person = await uow.community.person_by_telegram(USERS.outsider)
        assert person is not None and person.id == roster_id
        assert person.display_name == "钱老板" and person.phone == PHONE and person.language == "zh_CN"

    await asyncio.to_thread(_audit, database_url, monkeypatch, capsys)  # and clean after
    # The partner membership survived: the bound merchant may verify; only the code is unknown.
    replies = await harness.send(USERS.outsider, "/verify ABCD2345")
    assert "只有合作商户" not in (replies[-1].text or "")
    assert "兑换码" in (replies[-1].text or "")


async def test_a_clash_that_cannot_be_merged_is_refused_and_changes_nothing(harness: Harness) -> None:
    roster_id = await _seed_roster_person(harness)
    replies = await harness.send(USERS.outsider, "/start")
    await harness.press(USERS.outsider, replies[-1], "中文")
    async with harness.services.uow() as uow:
        account = await uow.community.person_by_telegram(USERS.outsider)
        compound = await uow.community.compound_by_name(COMPOUND)
        assert account is not None and compound is not None
        # Points in the same compound as the roster person's: two ledgers that cannot be one account.
        await _points_rows(uow, account.id, compound.id, harness.clock.now(), "B")
        await uow.commit()
    code = await _invite(harness)
    before = await _table_counts(harness)
    owned = await _owned_rows(harness, roster_id)
    replies = await harness.open_link(USERS.outsider, f"inv_{code}")
    assert "联系物业" in (replies[-1].text or "")
    assert await _table_counts(harness) == before
    assert await _owned_rows(harness, roster_id) == owned


async def test_the_database_refuses_to_delete_a_person_who_has_points(harness: Harness) -> None:
    from sqlalchemy import delete
    from sqlalchemy.exc import IntegrityError

    roster_id = await _seed_roster_person(harness)
    async with harness.services.uow() as uow:
        with pytest.raises(IntegrityError):
            await uow.session.execute(delete(Person).where(Person.id == roster_id))
    async with harness.services.uow() as uow:
        entries = await uow.session.scalar(
            select(func.count(PointsEntry.id)).where(PointsEntry.person_id == roster_id)
        )
        assert entries == 2

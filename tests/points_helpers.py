"""Test helpers for volunteer points: a catalogue, points to spend, a resident of the other compound."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.db.models import Residency
from bot.db.models.points import Partner, PartnerMember, PointsEntry, RewardService, Voucher
from bot.db.uow import UnitOfWorkFactory
from bot.services.points import main_compound
from bot.services.points_catalogue import seed_demo_catalogue
from bot.services.points_reports import audit
from tests.factories import COMPOUND, OTHER_COMPOUND

OTHER_RESIDENT = 5001  # 钱先生, 和谐家园 A座1单元101
OTHER_MERCHANT = 5002  # a merchant in 和谐家园


async def compound_id(uow_factory: UnitOfWorkFactory, name: str = COMPOUND) -> int:
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(name)
        assert compound is not None
        return compound.id


async def seed_catalogue(uow_factory: UnitOfWorkFactory, now: datetime, name: str = COMPOUND) -> int:
    cid = await compound_id(uow_factory, name)
    async with uow_factory() as uow:
        await seed_demo_catalogue(uow, cid, now)
        await uow.commit()
    return cid


async def add_service(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    *,
    name: str,
    cost: int,
    stock: int | None = None,
    limit: int | None = None,
    days: int = 30,
    partner: str = "康乐社区诊所",
    compound: str = COMPOUND,
    category: str = "测试",
) -> int:
    cid = await compound_id(uow_factory, compound)
    async with uow_factory() as uow:
        repo = uow.points
        found = await repo.partner_by_name(cid, partner)
        if found is None:
            found = Partner(compound_id=cid, name=partner, address="", created_at=now)
            uow.session.add(found)
            await uow.session.flush()
        service = RewardService(
            partner_id=found.id,
            compound_id=cid,
            category=category,
            name=name,
            cost=cost,
            stock=stock,
            per_person_limit=limit,
            validity_days=days,
            created_at=now,
        )
        uow.session.add(service)
        await uow.session.flush()
        service_id = service.id
        await uow.commit()
        return service_id


async def person_id(uow_factory: UnitOfWorkFactory, telegram_id: int) -> int:
    async with uow_factory() as uow:
        person = await uow.community.person_by_telegram(telegram_id)
        assert person is not None
        return person.id


async def give_points(
    uow_factory: UnitOfWorkFactory, telegram_id: int, amount: int, now: datetime, key: str
) -> None:
    """A ledger entry the way a staff award writes it (tests start from a known balance)."""
    async with uow_factory() as uow:
        repo = uow.points
        person = await uow.community.person_by_telegram(telegram_id)
        assert person is not None
        cid = await main_compound(repo, person.id)
        assert cid is not None
        account_id = await repo.ensure_account(person.id, cid, now)
        await repo.lock_balance(account_id)
        await repo.append(
            account_id=account_id,
            person_id=person.id,
            compound_id=cid,
            amount=amount,
            kind="award",
            earning=True,
            key=f"test:{key}",
            reason="测试奖励",
            now=now,
        )
        await uow.commit()


async def balance(uow_factory: UnitOfWorkFactory, telegram_id: int) -> int:
    async with uow_factory() as uow:
        repo = uow.points
        person = await uow.community.person_by_telegram(telegram_id)
        assert person is not None
        cid = await main_compound(repo, person.id)
        assert cid is not None
        account_id = await repo.account_id(person.id, cid)
        if account_id is None:
            return 0
        account = await repo.account(account_id)
        assert account is not None
        return account.balance


async def ledger_sum(uow_factory: UnitOfWorkFactory, telegram_id: int) -> int:
    pid = await person_id(uow_factory, telegram_id)
    async with uow_factory() as uow:
        return int(
            await uow.session.scalar(
                select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(PointsEntry.person_id == pid)
            )
            or 0
        )


async def count_entries(uow_factory: UnitOfWorkFactory, **where: object) -> int:
    async with uow_factory() as uow:
        query = select(func.count(PointsEntry.id))
        for column, value in where.items():
            query = query.where(getattr(PointsEntry, column) == value)
        return int(await uow.session.scalar(query) or 0)


async def stock(uow_factory: UnitOfWorkFactory, service_id: int) -> int | None:
    async with uow_factory() as uow:
        service = await uow.session.get(RewardService, service_id)
        assert service is not None
        return service.stock


async def vouchers(uow_factory: UnitOfWorkFactory, service_id: int | None = None) -> list[Voucher]:
    async with uow_factory() as uow:
        query = select(Voucher).order_by(Voucher.id)
        if service_id is not None:
            query = query.where(Voucher.service_id == service_id)
        return list((await uow.session.scalars(query)).all())


async def assert_audit_ok(uow_factory: UnitOfWorkFactory) -> None:
    report = await audit(uow_factory())
    assert report.ok, report.problems


async def add_other_compound_people(uow_factory: UnitOfWorkFactory, now: datetime) -> None:
    """A resident and a merchant (bound to a partner) in 和谐家园."""
    from bot.db.models import StaffRole

    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(OTHER_COMPOUND)
        assert compound is not None
        building = await uow.community.building_by_name(compound.id, "A座")
        assert building is not None
        unit = await uow.community.unit_by_name(building.id, "1单元")
        assert unit is not None
        household = await uow.community.household_by_room(unit.id, "101")
        assert household is not None
        resident = await uow.community.add_person(
            telegram_id=OTHER_RESIDENT, name="钱先生", language="zh_CN", now=now
        )
        uow.session.add(Residency(person_id=resident.id, household_id=household.id, created_at=now))
        merchant = await uow.community.add_person(
            telegram_id=OTHER_MERCHANT, name="孙老板", language="zh_CN", now=now
        )
        uow.session.add(
            StaffRole(person_id=merchant.id, role="merchant", compound_id=compound.id, created_at=now)
        )
        partner = Partner(compound_id=compound.id, name="和谐理发", address="", created_at=now)
        uow.session.add(partner)
        await uow.session.flush()
        uow.session.add(PartnerMember(partner_id=partner.id, person_id=merchant.id, created_at=now))
        await uow.commit()

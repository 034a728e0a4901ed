"""Queries for volunteer points. Never commits; the only writer of balances is `append`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Building, Compound, Household, Person, Residency, StaffRole, Unit
from bot.db.models.points import (
    Partner,
    PartnerMember,
    PointsAccount,
    PointsEntry,
    PointsRule,
    RewardService,
    Voucher,
)

OPEN_VOUCHER_STATUSES = ("held", "active")
COUNTED_VOUCHER_STATUSES = ("held", "active", "used")


class Overdraft(Exception):
    """The account would go below zero."""


class PointsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Accounts and the ledger
    async def ensure_account(self, person_id: int, compound_id: int, now: datetime) -> int:
        """Create the account if missing, race-free (two first awards at once create one row)."""
        existing = await self.account_id(person_id, compound_id)
        if existing is not None:
            return existing
        bind = self.session.get_bind()
        values = {"person_id": person_id, "compound_id": compound_id, "balance": 0, "created_at": now}
        if bind.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            await self.session.execute(
                pg_insert(PointsAccount)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["person_id", "compound_id"])
            )
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            await self.session.execute(
                sqlite_insert(PointsAccount)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["person_id", "compound_id"])
            )
        account_id = await self.account_id(person_id, compound_id)
        assert account_id is not None
        return account_id

    async def account_id(self, person_id: int, compound_id: int) -> int | None:
        return await self.session.scalar(
            select(PointsAccount.id).where(
                PointsAccount.person_id == person_id, PointsAccount.compound_id == compound_id
            )
        )

    async def account_of(self, person_id: int, compound_id: int) -> PointsAccount | None:
        return await self.session.scalar(
            select(PointsAccount).where(
                PointsAccount.person_id == person_id, PointsAccount.compound_id == compound_id
            )
        )

    async def account(self, account_id: int) -> PointsAccount | None:
        return await self.session.get(PointsAccount, account_id)

    async def lock_balance(self, account_id: int) -> int:
        """Read the balance under the row lock (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE holds it)."""
        balance = await self.session.scalar(
            select(PointsAccount.balance).where(PointsAccount.id == account_id).with_for_update()
        )
        return int(balance or 0)

    async def entry_by_key(self, key: str) -> PointsEntry | None:
        return await self.session.scalar(select(PointsEntry).where(PointsEntry.idempotency_key == key))

    async def append(
        self,
        *,
        account_id: int,
        person_id: int,
        compound_id: int,
        amount: int,
        kind: str,
        key: str,
        now: datetime,
        reason: str = "",
        earning: bool = False,
        ref_type: str | None = None,
        ref_id: str | None = None,
        actor_id: int | None = None,
        reverses_id: int | None = None,
    ) -> PointsEntry:
        """Append one entry and move the cached balance with it, in the caller's transaction.

        The UPDATE is conditional, so even without the caller's lock the balance can never go below zero.
        """
        stmt = update(PointsAccount).where(PointsAccount.id == account_id)
        if amount < 0:
            stmt = stmt.where(PointsAccount.balance + amount >= 0)
        result = await self.session.execute(
            stmt.values(balance=PointsAccount.balance + amount).returning(PointsAccount.balance)
        )
        new_balance = result.scalar_one_or_none()
        if new_balance is None:
            raise Overdraft()
        entry = PointsEntry(
            account_id=account_id,
            person_id=person_id,
            compound_id=compound_id,
            amount=amount,
            balance_after=int(new_balance),
            kind=kind,
            earning=earning,
            reason=reason[:200],
            ref_type=ref_type,
            ref_id=ref_id,
            idempotency_key=key,
            reverses_id=reverses_id,
            actor_id=actor_id,
            created_at=now,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def entries(self, account_id: int, limit: int | None = None) -> Sequence[PointsEntry]:
        query = (
            select(PointsEntry).where(PointsEntry.account_id == account_id).order_by(PointsEntry.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return (await self.session.scalars(query)).all()

    async def entry(self, entry_id: int) -> PointsEntry | None:
        return await self.session.get(PointsEntry, entry_id)

    async def reversal_of(self, entry_id: int) -> PointsEntry | None:
        return await self.session.scalar(select(PointsEntry).where(PointsEntry.reverses_id == entry_id))

    async def earned_between(self, account_id: int, start: datetime, end: datetime) -> int:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
                PointsEntry.account_id == account_id,
                PointsEntry.earning.is_(True),
                PointsEntry.created_at >= start,
                PointsEntry.created_at < end,
            )
        )
        return int(total or 0)

    async def leaderboard(
        self, compound_id: int, start: datetime, end: datetime, limit: int
    ) -> list[tuple[int, int]]:
        total = func.sum(PointsEntry.amount)
        rows = await self.session.execute(
            select(PointsEntry.person_id, total)
            .where(
                PointsEntry.compound_id == compound_id,
                PointsEntry.earning.is_(True),
                PointsEntry.created_at >= start,
                PointsEntry.created_at < end,
            )
            .group_by(PointsEntry.person_id)
            .having(total > 0)
            .order_by(total.desc(), PointsEntry.person_id)
            .limit(limit)
        )
        return [(int(p), int(s)) for p, s in rows.all()]

    # Rules
    async def rule(self, compound_id: int, activity_type: str) -> PointsRule | None:
        return await self.session.scalar(
            select(PointsRule).where(
                PointsRule.compound_id == compound_id, PointsRule.activity_type == activity_type
            )
        )

    async def rules(self, compound_id: int) -> Sequence[PointsRule]:
        return (
            await self.session.scalars(
                select(PointsRule)
                .where(PointsRule.compound_id == compound_id)
                .order_by(PointsRule.activity_type)
            )
        ).all()

    # Catalogue
    async def partner_by_name(self, compound_id: int, name: str) -> Partner | None:
        return await self.session.scalar(
            select(Partner).where(Partner.compound_id == compound_id, Partner.name == name)
        )

    async def partner(self, partner_id: int) -> Partner | None:
        return await self.session.get(Partner, partner_id)

    async def service(self, service_id: int) -> RewardService | None:
        return await self.session.get(RewardService, service_id)

    async def service_by_name(self, partner_id: int, name: str) -> RewardService | None:
        return await self.session.scalar(
            select(RewardService).where(RewardService.partner_id == partner_id, RewardService.name == name)
        )

    async def categories(self, compound_id: int) -> list[str]:
        rows = await self.session.scalars(
            select(RewardService.category)
            .join(Partner, Partner.id == RewardService.partner_id)
            .where(
                RewardService.compound_id == compound_id,
                RewardService.active.is_(True),
                Partner.active.is_(True),
            )
            .distinct()
            .order_by(RewardService.category)
        )
        return list(rows.all())

    async def services_in(
        self, compound_id: int, category: str | None = None
    ) -> list[tuple[RewardService, Partner]]:
        query = (
            select(RewardService, Partner)
            .join(Partner, Partner.id == RewardService.partner_id)
            .where(
                RewardService.compound_id == compound_id,
                RewardService.active.is_(True),
                Partner.active.is_(True),
            )
            .order_by(RewardService.cost, RewardService.id)
        )
        if category is not None:
            query = query.where(RewardService.category == category)
        return [(s, p) for s, p in (await self.session.execute(query)).all()]

    async def take_stock(self, service_id: int) -> bool:
        """One unit off the stock, atomically; False when none is left."""
        result = await self.session.execute(
            update(RewardService)
            .where(
                RewardService.id == service_id,
                (RewardService.stock.is_(None)) | (RewardService.stock > 0),
            )
            .values(stock=RewardService.stock - 1)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def return_stock(self, service_id: int) -> None:
        await self.session.execute(
            update(RewardService)
            .where(RewardService.id == service_id, RewardService.stock.is_not(None))
            .values(stock=RewardService.stock + 1)
        )

    async def partners_of_member(self, person_id: int) -> Sequence[Partner]:
        return (
            await self.session.scalars(
                select(Partner)
                .join(PartnerMember, PartnerMember.partner_id == Partner.id)
                .where(PartnerMember.person_id == person_id)
                .order_by(Partner.id)
            )
        ).all()

    async def member(self, partner_id: int, person_id: int) -> PartnerMember | None:
        return await self.session.scalar(
            select(PartnerMember).where(
                PartnerMember.partner_id == partner_id, PartnerMember.person_id == person_id
            )
        )

    # Vouchers
    async def voucher(self, voucher_id: int) -> Voucher | None:
        return await self.session.get(Voucher, voucher_id)

    async def voucher_by_code(self, code: str) -> Voucher | None:
        return await self.session.scalar(select(Voucher).where(Voucher.code == code))

    async def voucher_by_request(self, request_key: str) -> Voucher | None:
        return await self.session.scalar(select(Voucher).where(Voucher.request_key == request_key))

    async def count_vouchers(self, person_id: int, service_id: int) -> int:
        total = await self.session.scalar(
            select(func.count(Voucher.id)).where(
                Voucher.person_id == person_id,
                Voucher.service_id == service_id,
                Voucher.status.in_(COUNTED_VOUCHER_STATUSES),
            )
        )
        return int(total or 0)

    async def open_vouchers(self, person_id: int) -> Sequence[Voucher]:
        return (
            await self.session.scalars(
                select(Voucher)
                .where(Voucher.person_id == person_id, Voucher.status.in_(OPEN_VOUCHER_STATUSES))
                .order_by(Voucher.id)
            )
        ).all()

    async def due_voucher_ids(self, now: datetime, limit: int = 200) -> list[int]:
        rows = await self.session.scalars(
            select(Voucher.id)
            .where(
                ((Voucher.status == "held") & (Voucher.hold_until <= now))
                | ((Voucher.status == "active") & (Voucher.expires_at <= now))
            )
            .order_by(Voucher.id)
            .limit(limit)
        )
        return list(rows.all())

    async def next_voucher_due(self) -> datetime | None:
        held = await self.session.scalar(select(func.min(Voucher.hold_until)).where(Voucher.status == "held"))
        active = await self.session.scalar(
            select(func.min(Voucher.expires_at)).where(Voucher.status == "active")
        )
        times = [t for t in (held, active) if t is not None]
        if not times:
            return None
        from bot.db.base import UtcDateTime

        # Aggregates come back without our column type on some drivers.
        fixed = [UtcDateTime().process_result_value(t, None) for t in times]
        return min(t for t in fixed if t is not None)

    async def change_voucher_status(
        self, voucher_id: int, from_statuses: Sequence[str], **values: object
    ) -> bool:
        result = await self.session.execute(
            update(Voucher)
            .where(Voucher.id == voucher_id, Voucher.status.in_(from_statuses))
            .values(**values)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # People
    async def home_compounds(self, person_id: int) -> list[tuple[int, str]]:
        """(compound id, building name) of each home, oldest first."""
        rows = await self.session.execute(
            select(Building.compound_id, Building.name, Compound)
            .select_from(Residency)
            .join(Household, Household.id == Residency.household_id)
            .join(Unit, Unit.id == Household.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .join(Compound, Compound.id == Building.compound_id)
            .where(Residency.person_id == person_id)
            .order_by(Residency.id)
        )
        found = rows.all()
        # The compounds come along, kept for the session: the name and time zone asked next need no statement.
        self.session.info.setdefault("preloaded", []).extend(c for _i, _b, c in found)
        return [(int(c), str(b)) for c, b, _compound in found]

    async def role_compounds(self, person_id: int) -> list[tuple[str, int | None]]:
        rows = await self.session.execute(
            select(StaffRole.role, StaffRole.compound_id)
            .where(StaffRole.person_id == person_id, StaffRole.active.is_(True))
            .order_by(StaffRole.id)
        )
        return [(str(r), c) for r, c in rows.all()]

    async def people_in_household(self, household_id: int) -> Sequence[Person]:
        return (
            await self.session.scalars(
                select(Person)
                .join(Residency, Residency.person_id == Person.id)
                .where(Residency.household_id == household_id)
                .order_by(Person.id)
            )
        ).all()

    async def people_named(self, compound_id: int, name: str) -> Sequence[Person]:
        in_homes = (
            select(Residency.person_id)
            .join(Household, Household.id == Residency.household_id)
            .join(Unit, Unit.id == Household.unit_id)
            .join(Building, Building.id == Unit.building_id)
            .where(Building.compound_id == compound_id)
        )
        in_roles = select(StaffRole.person_id).where(StaffRole.compound_id == compound_id)
        return (
            await self.session.scalars(
                select(Person)
                .where(Person.display_name == name, Person.id.in_(in_homes.union(in_roles)))
                .order_by(Person.id)
            )
        ).all()

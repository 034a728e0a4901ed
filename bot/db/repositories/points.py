"""Queries for volunteer points. Never commits; the only writer of balances is `append`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, select, true, update
from sqlalchemy.exc import IntegrityError
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
    VoucherStatus,
)

OPEN_VOUCHER_STATUSES = (VoucherStatus.HELD, VoucherStatus.ACTIVE)
COUNTED_VOUCHER_STATUSES = (VoucherStatus.HELD, VoucherStatus.ACTIVE, VoucherStatus.USED)


# The statements of a points check (/points), built once: building them on every check cost more CPU than
# SQLite took to answer them.
_ACCOUNT_OF = select(PointsAccount).where(
    PointsAccount.person_id == bindparam("person_id"), PointsAccount.compound_id == bindparam("compound_id")
)
_ENTRIES = (
    select(PointsEntry)
    .where(PointsEntry.account_id == bindparam("account_id"))
    .order_by(PointsEntry.id.desc())
)
_LAST_ENTRIES = _ENTRIES.limit(bindparam("limit"))
# The points page, read on every /points: plain rows of Core tables (no entities for the session to track, no
# ORM compilation on execution), two statements for the person and compound the handler knows from the view.
_compounds, _people = cast(Table, Compound.__table__), cast(Table, Person.__table__)
_accounts, _entries = cast(Table, PointsAccount.__table__), cast(Table, PointsEntry.__table__)
# The head: the compound's name and time zone, the person's opt-in and their account there (none yet: NULLs).
_PAGE_HEAD = (
    select(
        _compounds.c.name,
        _compounds.c.timezone,
        _people.c.public_name_opt_in,
        _accounts.c.id,
        _accounts.c.balance,
    )
    .select_from(_compounds)
    .join(_people, _people.c.id == bindparam("person_id"))
    .outerjoin(
        _accounts,
        and_(_accounts.c.person_id == _people.c.id, _accounts.c.compound_id == _compounds.c.id),
    )
    .where(_compounds.c.id == bindparam("compound_id"))
)
# The newest entries, each row carrying the month's earnings (an uncorrelated subquery, evaluated once). An
# account without entries has earned nothing, so no row loses nothing.
_earned = _entries.alias("earned")
_PAGE_ENTRIES = (
    select(
        _entries.c.id,
        _entries.c.kind,
        _entries.c.amount,
        _entries.c.balance_after,
        _entries.c.reason,
        _entries.c.created_at,
        select(func.coalesce(func.sum(_earned.c.amount), 0))
        .where(
            _earned.c.account_id == bindparam("account_id"),
            _earned.c.earning.is_(true()),
            _earned.c.created_at >= bindparam("start"),
            _earned.c.created_at < bindparam("end"),
        )
        .scalar_subquery()
        .label("earned"),
    )
    .where(_entries.c.account_id == bindparam("account_id"))
    .order_by(_entries.c.id.desc())
    .limit(bindparam("limit"))
)
_EARNED_BETWEEN = select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
    PointsEntry.account_id == bindparam("account_id"),
    PointsEntry.earning.is_(true()),
    PointsEntry.created_at >= bindparam("start"),
    PointsEntry.created_at < bindparam("end"),
)
_HOME_COMPOUNDS = (
    select(Building.compound_id, Building.name, Compound)
    .select_from(Residency)
    .join(Household, Household.id == Residency.household_id)
    .join(Unit, Unit.id == Household.unit_id)
    .join(Building, Building.id == Unit.building_id)
    .join(Compound, Compound.id == Building.compound_id)
    .where(Residency.person_id == bindparam("person_id"))
    .order_by(Residency.id)
)
_ROLE_COMPOUNDS = (
    select(StaffRole.role, StaffRole.compound_id)
    .where(StaffRole.person_id == bindparam("person_id"), StaffRole.active.is_(true()))
    .order_by(StaffRole.id)
)


class Overdraft(Exception):
    """The account would go below zero."""


class DuplicateEntry(Exception):
    """An entry with this idempotency key, or a second reversal of one entry, already exists."""


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
        return await self.session.scalar(_ACCOUNT_OF, {"person_id": person_id, "compound_id": compound_id})

    async def page_head(self, person_id: int, compound_id: int) -> tuple[Any, ...] | None:
        """(compound name, time zone, public name opt-in, account id, balance); the account's two are None
        while the person has none there; None when the person or compound is gone."""
        row = (
            await self.session.execute(_PAGE_HEAD, {"person_id": person_id, "compound_id": compound_id})
        ).first()
        return None if row is None else tuple(row)

    async def page_entries(
        self, account_id: int, limit: int, start: datetime, end: datetime
    ) -> tuple[int, list[tuple[Any, ...]]]:
        """What the account earned in [start, end), and its newest entries as (id, kind, amount, balance
        after, reason, created at)."""
        rows = (
            await self.session.execute(
                _PAGE_ENTRIES, {"account_id": account_id, "limit": limit, "start": start, "end": end}
            )
        ).all()
        earned = int(rows[0][6] or 0) if rows else 0
        return earned, [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

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
        try:
            await self.session.flush()
        except IntegrityError:
            raise DuplicateEntry() from None
        return entry

    async def entries(self, account_id: int, limit: int | None = None) -> Sequence[PointsEntry]:
        if limit is None:
            return (await self.session.scalars(_ENTRIES, {"account_id": account_id})).all()
        return (await self.session.scalars(_LAST_ENTRIES, {"account_id": account_id, "limit": limit})).all()

    async def entry(self, entry_id: int) -> PointsEntry | None:
        return await self.session.get(PointsEntry, entry_id)

    async def reversal_of(self, entry_id: int) -> PointsEntry | None:
        return await self.session.scalar(select(PointsEntry).where(PointsEntry.reverses_id == entry_id))

    async def earned_between(self, account_id: int, start: datetime, end: datetime) -> int:
        total = await self.session.scalar(
            _EARNED_BETWEEN, {"account_id": account_id, "start": start, "end": end}
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

    async def put_partner(self, compound_id: int, name: str, now: datetime) -> Partner:
        """The compound's partner of this name, added if missing (the caller sets its values)."""
        partner = await self.partner_by_name(compound_id, name)
        if partner is None:
            partner = Partner(compound_id=compound_id, name=name, created_at=now)
            self.session.add(partner)
        return partner

    async def put_service(self, partner_id: int, compound_id: int, name: str, now: datetime) -> RewardService:
        """The partner's service of this name, added if missing (the caller sets its values)."""
        service = await self.service_by_name(partner_id, name)
        if service is None:
            service = RewardService(partner_id=partner_id, compound_id=compound_id, name=name, created_at=now)
            self.session.add(service)
        return service

    async def add_member(self, partner_id: int, person_id: int, now: datetime) -> bool:
        """Bind a merchant to a partner; False when already bound."""
        if await self.member(partner_id, person_id) is not None:
            return False
        self.session.add(PartnerMember(partner_id=partner_id, person_id=person_id, created_at=now))
        return True

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

    async def put_rule(self, compound_id: int, activity_type: str, label: str) -> PointsRule:
        """The compound's rule for this activity; a new one (added, values set by the caller) if missing."""
        rule = await self.rule(compound_id, activity_type)
        if rule is None:
            rule = PointsRule(compound_id=compound_id, activity_type=activity_type, label=label)
            self.session.add(rule)
        return rule

    async def flush(self) -> None:
        await self.session.flush()

    # Vouchers
    async def add_voucher(self, voucher: Voucher) -> Voucher:
        """Insert a new voucher and give it its id."""
        self.session.add(voucher)
        await self.session.flush()
        return voucher

    async def reload_voucher(self, voucher: Voucher) -> Voucher:
        """Read a voucher's row again after a conditional UPDATE changed (or did not change) it."""
        await self.session.refresh(voucher)
        return voucher

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
                ((Voucher.status == VoucherStatus.HELD) & (Voucher.hold_until <= now))
                | ((Voucher.status == VoucherStatus.ACTIVE) & (Voucher.expires_at <= now))
            )
            .order_by(Voucher.id)
            .limit(limit)
        )
        return list(rows.all())

    async def next_voucher_due(self) -> datetime | None:
        held = await self.session.scalar(
            select(func.min(Voucher.hold_until)).where(Voucher.status == VoucherStatus.HELD)
        )
        active = await self.session.scalar(
            select(func.min(Voucher.expires_at)).where(Voucher.status == VoucherStatus.ACTIVE)
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
        rows = await self.session.execute(_HOME_COMPOUNDS, {"person_id": person_id})
        found = rows.all()
        # The compounds come along, kept for the session: the name and time zone asked next need no statement.
        self.session.info.setdefault("preloaded", []).extend(c for _i, _b, c in found)
        return [(int(c), str(b)) for c, b, _compound in found]

    async def role_compounds(self, person_id: int) -> list[tuple[str, int | None]]:
        rows = await self.session.execute(_ROLE_COMPOUNDS, {"person_id": person_id})
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

    # Audit and reports (whole-ledger reads, for the office's CLI)
    async def snapshot(self) -> None:
        """PostgreSQL: read every following query from one snapshot, so a bot running meanwhile cannot make
        the audit see half a transaction. SQLite's single writer gives that already."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    async def ledger_sums(self) -> dict[int, int]:
        """Each account's ledger total."""
        rows = await self.session.execute(
            select(PointsEntry.account_id, func.sum(PointsEntry.amount)).group_by(PointsEntry.account_id)
        )
        return {int(a): int(s or 0) for a, s in rows.all()}

    async def all_accounts(self) -> Sequence[PointsAccount]:
        return (await self.session.scalars(select(PointsAccount).order_by(PointsAccount.id))).all()

    async def all_entries(self, compound_id: int | None = None) -> Sequence[PointsEntry]:
        query = select(PointsEntry).order_by(PointsEntry.id)
        if compound_id is not None:
            query = query.where(PointsEntry.compound_id == compound_id)
        return (await self.session.scalars(query)).all()

    async def all_vouchers(self, compound_id: int | None = None) -> Sequence[Voucher]:
        query = select(Voucher).order_by(Voucher.id)
        if compound_id is not None:
            query = query.where(Voucher.compound_id == compound_id)
        return (await self.session.scalars(query)).all()

    async def services_below_zero_stock(self) -> Sequence[RewardService]:
        return (await self.session.scalars(select(RewardService).where(RewardService.stock < 0))).all()

    async def used_vouchers(self) -> list[tuple[Voucher, Partner, RewardService, Compound]]:
        """Every used voucher with its partner, service and compound, by compound, partner and time."""
        result = await self.session.execute(
            select(Voucher, Partner, RewardService, Compound)
            .join(Partner, Partner.id == Voucher.partner_id)
            .join(RewardService, RewardService.id == Voucher.service_id)
            .join(Compound, Compound.id == Voucher.compound_id)
            .where(Voucher.status == VoucherStatus.USED)
            .order_by(Compound.id, Partner.name, Voucher.used_at, Voucher.id)
        )
        return [(v, p, s, c) for v, p, s, c in result.all()]

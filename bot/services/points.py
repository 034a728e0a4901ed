"""Volunteer points (志愿积分): earning by rules, checking, redeeming at partner shops, verifying, reversing.

Every balance change is one ledger entry appended in the same transaction as the cached balance moves
(PointsRepository.append); a conditional UPDATE keeps every balance at or above zero, and each entry carries a
unique idempotency key, so nothing is ever counted twice. Redeeming holds the points at once (a "held"
voucher, stock taken); the resident confirms within HOLD_MINUTES or the scheduler releases the hold.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.db.models import Person
from bot.db.models.points import PointsEntry, PointsRule, RewardService, Voucher
from bot.db.repositories.points import Overdraft, PointsRepository
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.roles import Role
from bot.scheduling import DueSource, add_due_source
from bot.services.activity import ActivityView, add_activity_listener
from bot.services.errors import UserFacingError

if TYPE_CHECKING:
    from bot.context import Services

HOLD_MINUTES = 15  # how long a redemption waits for the resident's confirmation
MANUAL_LIMIT = 50  # the most one manual award or deduction may move
REASON_LIMIT = 200
RULE_LIMIT = 20  # the most points one activity (or one hour of it) may earn
STAFF_ROLES = (Role.ADMIN, Role.BUILDING_LEADER, Role.SUPERVISOR)
REVERSE_ROLES = (Role.ADMIN, Role.SUPERVISOR)
RULE_ROLES = (Role.ADMIN,)
DEFAULT_TZ = "Asia/Shanghai"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
ROOM_RE = re.compile(r"^(?P<building>[^\s]+?栋)(?P<unit>[^\s]+?单元)(?P<room>\w+)$")
PHONE_RE = re.compile(r"^1\d{10}$")
ACTIVITY_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
REVERSIBLE_KINDS = ("earn", "award", "deduct")


# Views ----------


@dataclass(frozen=True)
class EntryView:
    id: int
    kind: str
    amount: int
    balance_after: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class PointsSummary:
    person_id: int
    compound_id: int
    compound_name: str
    timezone: str
    balance: int
    earned_this_month: int
    public_name: bool
    entries: list[EntryView] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceView:
    id: int
    category: str
    name: str
    partner: str
    address: str
    cost: int
    stock: int | None
    per_person_limit: int | None
    validity_days: int


@dataclass(frozen=True)
class VoucherView:
    id: int
    code: str
    status: str
    service: str
    partner: str
    cost: int
    hold_until: datetime
    expires_at: datetime | None
    used_at: datetime | None
    balance: int
    timezone: str = DEFAULT_TZ
    owner_name: str = ""


@dataclass(frozen=True)
class AwardView:
    entry_id: int
    person_name: str
    amount: int
    balance: int
    reason: str


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    name: str | None  # None: not opted in, shown by building
    building: str | None
    points: int
    is_me: bool


@dataclass(frozen=True)
class LeaderboardView:
    compound_name: str
    month: str
    rows: list[LeaderRow]
    public_name: bool


@dataclass(frozen=True)
class RuleView:
    activity_type: str
    label: str
    points: int
    per_hour: bool
    active: bool


# Helpers ----------


def new_voucher_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_voucher_code(text: str) -> str:
    code = text.strip().upper().replace(" ", "").replace("-", "")
    if code.startswith("V_"):
        code = code[2:]
    return code


def points_for(rule_points: int, per_hour: bool, hours: float | None) -> int:
    """Whole points, rounded half up (1.5 h at 2 per hour = 3; 0.25 h at 2 per hour = 1)."""
    if not per_hour:
        return rule_points
    if hours is None or hours <= 0:
        return 0
    value = Decimal(str(hours)) * rule_points
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def month_window(now: datetime, tz: str) -> tuple[datetime, datetime, str]:
    """The compound's current calendar month as [start, end) in UTC, and its label (2026-11)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    start_local = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end_local = (start_local + timedelta(days=32)).replace(day=1)
    utc = ZoneInfo("UTC")
    return start_local.astimezone(utc), end_local.astimezone(utc), f"{start_local:%Y-%m}"


def check_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise UserFacingError("points.reason_empty")
    if len(text) > REASON_LIMIT:
        raise UserFacingError("points.reason_too_long", limit=REASON_LIMIT)
    return text


def check_manual_amount(amount: int) -> None:
    """A hand-made award or deduction: a whole number of points from 1 to MANUAL_LIMIT."""
    if amount < 1 or amount > MANUAL_LIMIT:
        raise UserFacingError("points.amount_bad", limit=MANUAL_LIMIT)


async def _person(uow: UnitOfWork, telegram_id: int) -> Person:
    person = await uow.community.person_by_telegram(telegram_id)
    if person is None:
        raise UserFacingError("points.not_registered")
    return person


async def main_compound(repo: PointsRepository, person_id: int) -> int | None:
    """The compound a person's points live in: their (first) home's, else their (first) role's."""
    homes = await repo.home_compounds(person_id)
    if homes:
        return homes[0][0]
    for _role, compound_id in await repo.role_compounds(person_id):
        if compound_id is not None:
            return compound_id
    return None


async def _person_compound(uow: UnitOfWork, repo: PointsRepository, telegram_id: int) -> tuple[Person, int]:
    person = await _person(uow, telegram_id)
    compound_id = await main_compound(repo, person.id)
    if compound_id is None:
        raise UserFacingError("points.not_registered")
    return person, compound_id


async def _has_role(
    repo: PointsRepository, person_id: int, roles: tuple[Role, ...], compound_id: int
) -> bool:
    wanted = {r.value for r in roles}
    return any(
        role in wanted and (cid is None or cid == compound_id)
        for role, cid in await repo.role_compounds(person_id)
    )


async def _award_scope(uow: UnitOfWork, person_id: int, compound_id: int) -> set[int] | None:
    """Buildings whose people this staff member may award; None: the whole compound.

    Admins and the party office cover the compound; a building leader covers their own buildings."""
    buildings: set[int] = set()
    for role in await uow.community.roles_of(person_id):
        if role.compound_id not in (None, compound_id):
            continue
        if role.role in (Role.ADMIN.value, Role.SUPERVISOR.value):
            return None
        if role.role == Role.BUILDING_LEADER.value:
            areas = [a.building_id for a in role.areas]
            if not areas or None in areas:
                return None
            buildings.update(b for b in areas if b is not None)
    return buildings


async def _homes_in(uow: UnitOfWork, person_id: int) -> set[int]:
    return {r.household.unit.building_id for r in await uow.community.residencies_of(person_id)}


async def _timezone(uow: UnitOfWork, compound_id: int) -> tuple[str, str]:
    compound = await uow.community.compound(compound_id)
    if compound is None:
        return "", DEFAULT_TZ
    return compound.name, compound.timezone or DEFAULT_TZ


def _entry_view(entry: PointsEntry) -> EntryView:
    return EntryView(entry.id, entry.kind, entry.amount, entry.balance_after, entry.reason, entry.created_at)


def _service_view(service: RewardService, partner_name: str, address: str = "") -> ServiceView:
    return ServiceView(
        service.id,
        service.category,
        service.name,
        partner_name,
        address,
        service.cost,
        service.stock,
        service.per_person_limit,
        service.validity_days,
    )


async def _voucher_view(repo: PointsRepository, uow: UnitOfWork, voucher: Voucher) -> VoucherView:
    service = await repo.service(voucher.service_id)
    partner = await repo.partner(voucher.partner_id)
    account = await repo.account(voucher.account_id)
    owner = await uow.community.person(voucher.person_id)
    _, tz = await _timezone(uow, voucher.compound_id)
    return VoucherView(
        id=voucher.id,
        code=voucher.code,
        status=voucher.status,
        service=service.name if service else "",
        partner=partner.name if partner else "",
        cost=voucher.cost,
        hold_until=voucher.hold_until,
        expires_at=voucher.expires_at,
        used_at=voucher.used_at,
        balance=account.balance if account else 0,
        timezone=tz,
        owner_name=owner.display_name if owner else "",
    )


def _local(when: datetime | None, tz: str) -> str:
    return "" if when is None else f"{when.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


# Earning ----------


async def award_for_activity(uow: UnitOfWork, activity: ActivityView, now: datetime) -> None:
    """Activity listener: award by the compound's rule, in the recorder's transaction, once per source."""
    from bot.i18n import default_translator

    repo = PointsRepository(uow.session)
    compound_id = activity.compound_id or await main_compound(repo, activity.person_id)
    if compound_id is None:
        return
    rule = await repo.rule(compound_id, activity.activity_type)
    if rule is None or not rule.active:
        return
    amount = points_for(rule.points, rule.per_hour, activity.hours)
    if amount <= 0:
        return
    key = f"activity:{activity.source_key}"
    account_id = await repo.ensure_account(activity.person_id, compound_id, now)
    await repo.lock_balance(account_id)
    if await repo.entry_by_key(key) is not None:
        return
    entry = await repo.append(
        account_id=account_id,
        person_id=activity.person_id,
        compound_id=compound_id,
        amount=amount,
        kind="earn",
        earning=True,
        key=key,
        reason=rule.label or rule.activity_type,
        ref_type="activity",
        ref_id=str(activity.id),
        now=now,
    )
    person = await uow.community.person(activity.person_id)
    if person is not None:
        await notify_person(
            uow,
            default_translator(),
            person,
            "points.earned_notice",
            now=now,
            dedupe_key=f"points-earned:{entry.id}",
            points=amount,
            reason=entry.reason,
            balance=entry.balance_after,
        )


add_activity_listener(award_for_activity)


# Checking ----------


async def points_summary(uow: UnitOfWork, telegram_id: int, now: datetime, *, last: int = 5) -> PointsSummary:
    async with uow:
        repo = PointsRepository(uow.session)
        person, compound_id = await _person_compound(uow, repo, telegram_id)
        name, tz = await _timezone(uow, compound_id)
        account = await repo.account_of(person.id, compound_id)
        balance, earned, entries = 0, 0, []
        if account is not None:
            balance = account.balance
            start, end, _ = month_window(now, tz)
            earned = await repo.earned_between(account.id, start, end)
            entries = [_entry_view(e) for e in await repo.entries(account.id, last)]
        return PointsSummary(
            person.id, compound_id, name, tz, balance, earned, bool(person.public_name_opt_in), entries
        )


async def statement(uow: UnitOfWork, telegram_id: int, now: datetime) -> PointsSummary:
    """Every entry, newest first (for the .xlsx statement)."""
    async with uow:
        repo = PointsRepository(uow.session)
        person, compound_id = await _person_compound(uow, repo, telegram_id)
        name, tz = await _timezone(uow, compound_id)
        account_id = await repo.account_id(person.id, compound_id)
        if account_id is None:
            return PointsSummary(person.id, compound_id, name, tz, 0, 0, bool(person.public_name_opt_in), [])
        account = await repo.account(account_id)
        start, end, _ = month_window(now, tz)
        return PointsSummary(
            person.id,
            compound_id,
            name,
            tz,
            account.balance if account else 0,
            await repo.earned_between(account_id, start, end),
            bool(person.public_name_opt_in),
            [_entry_view(e) for e in await repo.entries(account_id)],
        )


async def leaderboard(
    uow: UnitOfWork, telegram_id: int, now: datetime, *, limit: int = 10
) -> LeaderboardView:
    async with uow:
        repo = PointsRepository(uow.session)
        me, compound_id = await _person_compound(uow, repo, telegram_id)
        name, tz = await _timezone(uow, compound_id)
        start, end, month = month_window(now, tz)
        rows: list[LeaderRow] = []
        for rank, (person_id, total) in enumerate(
            await repo.leaderboard(compound_id, start, end, limit), start=1
        ):
            person = await uow.community.person(person_id)
            building = next((b for c, b in await repo.home_compounds(person_id) if c == compound_id), None)
            shown = person.display_name if person is not None and person.public_name_opt_in else None
            rows.append(LeaderRow(rank, shown or None, building, total, person_id == me.id))
        return LeaderboardView(name, month, rows, bool(me.public_name_opt_in))


# What people type after /publicname and /pointrules (input words, in both languages).
SWITCH_WORDS = {"on": True, "开": True, "off": False, "关": False}
PER_HOUR_WORDS = frozenset({"hour", "h", "每小时", "按小时"})


def parse_switch(text: str) -> bool | None:
    return SWITCH_WORDS.get(text.strip().lower())


def is_per_hour_word(text: str) -> bool:
    return text.strip().lower() in PER_HOUR_WORDS


async def set_public_name(uow: UnitOfWork, telegram_id: int, opt_in: bool) -> bool:
    async with uow:
        person = await _person(uow, telegram_id)
        person.public_name_opt_in = opt_in
        await uow.commit()
        return opt_in


# Catalogue and redeeming ----------


async def categories(uow: UnitOfWork, telegram_id: int) -> list[str]:
    async with uow:
        repo = PointsRepository(uow.session)
        _, compound_id = await _person_compound(uow, repo, telegram_id)
        return await repo.categories(compound_id)


async def services_in(uow: UnitOfWork, telegram_id: int, category: str | None) -> list[ServiceView]:
    async with uow:
        repo = PointsRepository(uow.session)
        _, compound_id = await _person_compound(uow, repo, telegram_id)
        return [_service_view(s, p.name, p.address) for s, p in await repo.services_in(compound_id, category)]


async def service_detail(uow: UnitOfWork, telegram_id: int, service_id: int) -> ServiceView:
    async with uow:
        repo = PointsRepository(uow.session)
        _, compound_id = await _person_compound(uow, repo, telegram_id)
        service = await repo.service(service_id)
        partner = await repo.partner(service.partner_id) if service else None
        if service is None or partner is None or service.compound_id != compound_id:
            raise UserFacingError("points.service_gone")
        if not service.active or not partner.active:
            raise UserFacingError("points.service_gone")
        return _service_view(service, partner.name, partner.address)


async def hold_redemption(
    uow: UnitOfWork, telegram_id: int, service_id: int, request_key: str, now: datetime
) -> VoucherView:
    """Hold the points and one unit of stock at once. The same request_key again returns the same hold."""
    async with uow:
        repo = PointsRepository(uow.session)
        person, compound_id = await _person_compound(uow, repo, telegram_id)
        key = f"{person.id}:{request_key}"[:120]
        service = await repo.service(service_id)
        partner = await repo.partner(service.partner_id) if service else None
        if (
            service is None
            or partner is None
            or service.compound_id != compound_id
            or not service.active
            or not partner.active
        ):
            raise UserFacingError("points.service_gone")
        account_id = await repo.ensure_account(person.id, compound_id, now)
        # Everything below runs holding this person's balance row, so one person's requests queue up.
        balance = await repo.lock_balance(account_id)
        earlier = await repo.voucher_by_request(key)
        if earlier is not None:
            return await _voucher_view(repo, uow, earlier)
        if balance < service.cost:
            raise UserFacingError("points.not_enough", balance=balance, cost=service.cost)
        if service.per_person_limit is not None and (
            await repo.count_vouchers(person.id, service.id) >= service.per_person_limit
        ):
            raise UserFacingError("points.over_limit", limit=service.per_person_limit)
        if not await repo.take_stock(service.id):
            raise UserFacingError("points.out_of_stock")
        code = new_voucher_code()
        while await repo.voucher_by_code(code) is not None:
            code = new_voucher_code()
        voucher = Voucher(
            code=code,
            request_key=key,
            compound_id=compound_id,
            person_id=person.id,
            account_id=account_id,
            service_id=service.id,
            partner_id=partner.id,
            cost=service.cost,
            status="held",
            hold_until=now + timedelta(minutes=HOLD_MINUTES),
            created_at=now,
        )
        uow.session.add(voucher)
        await uow.session.flush()
        try:
            await repo.append(
                account_id=account_id,
                person_id=person.id,
                compound_id=compound_id,
                amount=-service.cost,
                kind="hold",
                key=f"voucher:{voucher.id}:hold",
                reason=f"{partner.name} {service.name}",
                ref_type="voucher",
                ref_id=str(voucher.id),
                actor_id=person.id,
                now=now,
            )
        except Overdraft:
            raise UserFacingError("points.not_enough", balance=balance, cost=service.cost) from None
        view = await _voucher_view(repo, uow, voucher)
        await uow.commit()
        return view


async def confirm_redemption(
    uow: UnitOfWork, telegram_id: int, voucher_id: int, now: datetime
) -> VoucherView:
    """The resident confirms a hold: the voucher becomes valid. Confirming twice gives the same answer."""
    async with uow:
        repo = PointsRepository(uow.session)
        person = await _person(uow, telegram_id)
        voucher = await repo.voucher(voucher_id)
        if voucher is None or voucher.person_id != person.id:
            raise UserFacingError("points.voucher_not_found")
        service = await repo.service(voucher.service_id)
        validity = service.validity_days if service else 30
        changed = voucher.status == "held" and voucher.hold_until > now
        if changed:
            changed = await repo.change_voucher_status(
                voucher.id, ("held",), status="active", expires_at=now + timedelta(days=validity)
            )
            await uow.session.refresh(voucher)
        if voucher.status == "active":
            view = await _voucher_view(repo, uow, voucher)
            await uow.commit()
            return view
        raise _status_error(voucher, await _timezone(uow, voucher.compound_id))


def _status_error(voucher: Voucher, place: tuple[str, str]) -> UserFacingError:
    _, tz = place
    if voucher.status == "used":
        return UserFacingError("points.voucher_used", when=_local(voucher.used_at, tz))
    if voucher.status == "cancelled":
        return UserFacingError("points.voucher_cancelled")
    if voucher.status == "expired":
        return UserFacingError("points.voucher_expired")
    if voucher.status == "released" or (voucher.status == "held"):
        return UserFacingError("points.hold_lapsed")
    return UserFacingError("points.voucher_not_found")


async def _return_points(
    uow: UnitOfWork, repo: PointsRepository, voucher: Voucher, now: datetime
) -> PointsEntry:
    """Give a voucher's points and stock back (the caller changed its status first, so this runs once)."""
    await repo.lock_balance(voucher.account_id)
    await repo.return_stock(voucher.service_id)
    service = await repo.service(voucher.service_id)
    partner = await repo.partner(voucher.partner_id)
    return await repo.append(
        account_id=voucher.account_id,
        person_id=voucher.person_id,
        compound_id=voucher.compound_id,
        amount=voucher.cost,
        kind="release",
        key=f"voucher:{voucher.id}:release",
        reason=f"{partner.name if partner else ''} {service.name if service else ''}".strip(),
        ref_type="voucher",
        ref_id=str(voucher.id),
        now=now,
    )


async def cancel_voucher(uow: UnitOfWork, telegram_id: int, voucher_id: int, now: datetime) -> VoucherView:
    """Before use, the owner may cancel: the points and the stock come back once."""
    async with uow:
        repo = PointsRepository(uow.session)
        person = await _person(uow, telegram_id)
        voucher = await repo.voucher(voucher_id)
        if voucher is None or voucher.person_id != person.id:
            raise UserFacingError("points.voucher_not_found")
        if not await repo.change_voucher_status(
            voucher.id, ("held", "active"), status="cancelled", closed_at=now
        ):
            await uow.session.refresh(voucher)
            raise _status_error(voucher, await _timezone(uow, voucher.compound_id))
        await uow.session.refresh(voucher)
        await _return_points(uow, repo, voucher, now)
        view = await _voucher_view(repo, uow, voucher)
        await uow.commit()
        return view


async def my_vouchers(uow: UnitOfWork, telegram_id: int) -> list[VoucherView]:
    async with uow:
        repo = PointsRepository(uow.session)
        person = await _person(uow, telegram_id)
        return [
            await _voucher_view(repo, uow, v)
            for v in await repo.open_vouchers(person.id)
            if v.status == "active"
        ]


async def my_voucher(uow: UnitOfWork, telegram_id: int, voucher_id: int) -> VoucherView:
    async with uow:
        repo = PointsRepository(uow.session)
        person = await _person(uow, telegram_id)
        voucher = await repo.voucher(voucher_id)
        if voucher is None or voucher.person_id != person.id:
            raise UserFacingError("points.voucher_not_found")
        return await _voucher_view(repo, uow, voucher)


async def my_voucher_by_code(uow: UnitOfWork, telegram_id: int, code_text: str) -> VoucherView | None:
    """The owner opening their own voucher's link: show it (None when it is not theirs)."""
    async with uow:
        repo = PointsRepository(uow.session)
        person = await uow.community.person_by_telegram(telegram_id)
        code = normalise_voucher_code(code_text)
        voucher = await repo.voucher_by_code(code) if person is not None and CODE_RE.match(code) else None
        if voucher is None or person is None or voucher.person_id != person.id:
            return None
        return await _voucher_view(repo, uow, voucher)


async def verify_voucher(
    uow: UnitOfWork, t: Translator, merchant_telegram_id: int, code_text: str, now: datetime
) -> VoucherView:
    """A partner's merchant marks a voucher used, once. Every refusal changes nothing."""
    async with uow:
        repo = PointsRepository(uow.session)
        merchant = await _person(uow, merchant_telegram_id)
        partners = await repo.partners_of_member(merchant.id)
        roles = {role for role, _ in await repo.role_compounds(merchant.id)}
        if not partners or Role.MERCHANT.value not in roles:
            raise UserFacingError("points.not_merchant")
        code = normalise_voucher_code(code_text)
        voucher = await repo.voucher_by_code(code) if CODE_RE.match(code) else None
        if voucher is None:
            raise UserFacingError("points.voucher_not_found")
        if voucher.compound_id not in {p.compound_id for p in partners}:
            raise UserFacingError("points.voucher_other_compound")
        if voucher.partner_id not in {p.id for p in partners}:
            partner = await repo.partner(voucher.partner_id)
            raise UserFacingError("points.voucher_other_partner", partner=partner.name if partner else "")
        place = await _timezone(uow, voucher.compound_id)
        if voucher.status == "active" and voucher.expires_at is not None and voucher.expires_at <= now:
            raise UserFacingError("points.voucher_expired")
        if voucher.status != "active" or not await repo.change_voucher_status(
            voucher.id, ("active",), status="used", used_at=now, used_by=merchant.id, closed_at=now
        ):
            await uow.session.refresh(voucher)
            raise _status_error(voucher, place)
        await uow.session.refresh(voucher)
        view = await _voucher_view(repo, uow, voucher)
        owner = await uow.community.person(voucher.person_id)
        if owner is not None:
            await notify_person(
                uow,
                t,
                owner,
                "points.voucher_used_notice",
                now=now,
                dedupe_key=f"points-used:{voucher.id}",
                service=view.service,
                partner=view.partner,
                code=voucher.code,
            )
        await uow.commit()
        return view


# Expiry (scheduler) ----------


async def close_due_voucher(uow: UnitOfWork, t: Translator, voucher_id: int, now: datetime) -> bool:
    """Release a lapsed hold or expire an unused voucher: points and stock come back, the owner is told."""
    async with uow:
        repo = PointsRepository(uow.session)
        voucher = await repo.voucher(voucher_id)
        if voucher is None:
            return False
        if voucher.status == "held" and voucher.hold_until <= now:
            new_status, notice = "released", "points.hold_released_notice"
        elif voucher.status == "active" and voucher.expires_at is not None and voucher.expires_at <= now:
            new_status, notice = "expired", "points.voucher_expired_notice"
        else:
            return False
        if not await repo.change_voucher_status(
            voucher.id, (voucher.status,), status=new_status, closed_at=now
        ):
            return False
        await uow.session.refresh(voucher)
        entry = await _return_points(uow, repo, voucher, now)
        view = await _voucher_view(repo, uow, voucher)
        owner = await uow.community.person(voucher.person_id)
        if owner is not None:
            await notify_person(
                uow,
                t,
                owner,
                notice,
                now=now,
                dedupe_key=f"points-{new_status}:{voucher.id}",
                service=view.service,
                partner=view.partner,
                points=voucher.cost,
                balance=entry.balance_after,
            )
        await uow.commit()
        return True


async def process_due_vouchers(services: Services, now: datetime) -> int:
    async with services.uow() as uow:
        ids = await PointsRepository(uow.session).due_voucher_ids(now)
    handled = 0
    for voucher_id in ids:
        if await close_due_voucher(services.uow(), services.translator, voucher_id, now):
            handled += 1
    return handled


async def next_voucher_due(services: Services, now: datetime) -> datetime | None:
    async with services.uow() as uow:
        return await PointsRepository(uow.session).next_voucher_due()


add_due_source(DueSource("points_vouchers", process_due_vouchers, next_voucher_due))


# Staff: manual awards, reversals, rules ----------


async def _find_target(uow: UnitOfWork, repo: PointsRepository, compound_id: int, target: str) -> Person:
    text = target.strip()
    if PHONE_RE.match(text):
        person = await uow.community.person_by_phone(text)
        if person is None or await main_compound(repo, person.id) != compound_id:
            raise UserFacingError("points.target_not_found", who=text)
        return person
    match = ROOM_RE.match(text)
    if match:
        building = await uow.community.building_by_name(compound_id, match["building"])
        unit = await uow.community.unit_by_name(building.id, match["unit"]) if building else None
        household = await uow.community.household_by_room(unit.id, match["room"]) if unit else None
        people = list(await repo.people_in_household(household.id)) if household else []
    else:
        people = list(await repo.people_named(compound_id, text))
    if not people:
        raise UserFacingError("points.target_not_found", who=text)
    if len(people) > 1:
        raise UserFacingError("points.target_ambiguous", who=text)
    return people[0]


async def award_points(
    uow: UnitOfWork,
    t: Translator,
    actor_telegram_id: int,
    target: str,
    amount: int,
    reason: str,
    request_key: str,
    now: datetime,
    *,
    deduct: bool = False,
) -> AwardView:
    """Staff award (or deduct) 1..MANUAL_LIMIT points by hand, with a reason. The same request: once."""
    async with uow:
        repo = PointsRepository(uow.session)
        actor, compound_id = await _person_compound(uow, repo, actor_telegram_id)
        if not await _has_role(repo, actor.id, STAFF_ROLES, compound_id):
            raise UserFacingError("points.not_staff")
        check_manual_amount(amount)
        text = check_reason(reason)
        person = await _find_target(uow, repo, compound_id, target)
        scope = await _award_scope(uow, actor.id, compound_id)
        if scope is not None and not scope & await _homes_in(uow, person.id):
            raise UserFacingError("points.not_your_building", name=person.display_name)
        key = f"manual:{actor.id}:{request_key}"[:160]
        account_id = await repo.ensure_account(person.id, compound_id, now)
        balance = await repo.lock_balance(account_id)
        earlier = await repo.entry_by_key(key)
        if earlier is not None:
            return AwardView(
                earlier.id, person.display_name, earlier.amount, earlier.balance_after, earlier.reason
            )
        try:
            entry = await repo.append(
                account_id=account_id,
                person_id=person.id,
                compound_id=compound_id,
                amount=-amount if deduct else amount,
                kind="deduct" if deduct else "award",
                earning=True,
                key=key,
                reason=text,
                ref_type="manual",
                ref_id=request_key[:120],
                actor_id=actor.id,
                now=now,
            )
        except Overdraft:
            raise UserFacingError(
                "points.would_overdraft", name=person.display_name, balance=balance
            ) from None
        await notify_person(
            uow,
            t,
            person,
            "points.deducted_notice" if deduct else "points.awarded_notice",
            now=now,
            dedupe_key=f"points-manual:{entry.id}",
            points=amount,
            reason=text,
            balance=entry.balance_after,
        )
        await uow.commit()
        return AwardView(entry.id, person.display_name, entry.amount, entry.balance_after, text)


async def reverse_entry(
    uow: UnitOfWork, t: Translator, actor_telegram_id: int, entry_id: int, reason: str, now: datetime
) -> AwardView:
    """Correct a mistake by a reversing entry (never by editing): once per entry, never into overdraft."""
    async with uow:
        repo = PointsRepository(uow.session)
        actor, compound_id = await _person_compound(uow, repo, actor_telegram_id)
        if not await _has_role(repo, actor.id, REVERSE_ROLES, compound_id):
            raise UserFacingError("points.not_staff")
        text = check_reason(reason)
        entry = await repo.entry(entry_id)
        if entry is None or entry.compound_id != compound_id:
            raise UserFacingError("points.entry_not_found", id=entry_id)
        if entry.kind not in REVERSIBLE_KINDS:
            raise UserFacingError("points.entry_not_reversible", id=entry_id)
        balance = await repo.lock_balance(entry.account_id)
        if await repo.reversal_of(entry.id) is not None:
            raise UserFacingError("points.entry_already_reversed", id=entry_id)
        person = await uow.community.person(entry.person_id)
        name = person.display_name if person else ""
        try:
            reversal = await repo.append(
                account_id=entry.account_id,
                person_id=entry.person_id,
                compound_id=entry.compound_id,
                amount=-entry.amount,
                kind="reversal",
                earning=entry.earning,
                key=f"reversal:{entry.id}",
                reason=text,
                ref_type="entry",
                ref_id=str(entry.id),
                actor_id=actor.id,
                reverses_id=entry.id,
                now=now,
            )
        except Overdraft:
            raise UserFacingError("points.would_overdraft", name=name, balance=balance) from None
        except IntegrityError:
            raise UserFacingError("points.entry_already_reversed", id=entry_id) from None
        if person is not None:
            await notify_person(
                uow,
                t,
                person,
                "points.reversed_notice",
                now=now,
                dedupe_key=f"points-reversal:{reversal.id}",
                points=reversal.amount,
                reason=text,
                balance=reversal.balance_after,
            )
        await uow.commit()
        return AwardView(reversal.id, name, reversal.amount, reversal.balance_after, text)


async def list_rules(uow: UnitOfWork, telegram_id: int) -> list[RuleView]:
    async with uow:
        repo = PointsRepository(uow.session)
        _, compound_id = await _person_compound(uow, repo, telegram_id)
        return [
            RuleView(r.activity_type, r.label, r.points, r.per_hour, r.active)
            for r in await repo.rules(compound_id)
        ]


async def put_rule(
    uow: UnitOfWork,
    compound_id: int,
    activity_type: str,
    points: int,
    now: datetime,
    *,
    per_hour: bool = False,
    label: str = "",
    actor_id: int | None = None,
) -> RuleView:
    """Create or change one rule in the caller's transaction (the caller commits). 0 points: rule off."""
    if not ACTIVITY_TYPE_RE.match(activity_type) or points < 0 or points > RULE_LIMIT:
        raise UserFacingError("points.rule_bad", limit=RULE_LIMIT)
    repo = PointsRepository(uow.session)
    rule = await repo.rule(compound_id, activity_type)
    if rule is None:
        rule = PointsRule(compound_id=compound_id, activity_type=activity_type, label=label or activity_type)
        uow.session.add(rule)
    rule.points = points
    rule.per_hour = per_hour
    rule.active = points > 0
    if label:
        rule.label = label[:100]
    rule.updated_by = actor_id
    rule.updated_at = now
    await uow.session.flush()
    return RuleView(rule.activity_type, rule.label, rule.points, rule.per_hour, rule.active)


async def set_rule(
    uow: UnitOfWork,
    actor_telegram_id: int,
    activity_type: str,
    points: int,
    per_hour: bool,
    label: str,
    now: datetime,
) -> RuleView:
    async with uow:
        repo = PointsRepository(uow.session)
        actor, compound_id = await _person_compound(uow, repo, actor_telegram_id)
        if not await _has_role(repo, actor.id, RULE_ROLES, compound_id):
            raise UserFacingError("points.not_staff")
        view = await put_rule(
            uow, compound_id, activity_type, points, now, per_hour=per_hour, label=label, actor_id=actor.id
        )
        await uow.commit()
        return view

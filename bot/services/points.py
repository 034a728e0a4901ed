"""Volunteer points (志愿积分): the rules of earning, checking a balance and the leaderboard, the rules table.

Every balance change is one ledger entry appended in the same transaction as the cached balance moves
(PointsRepository.append); a conditional UPDATE keeps every balance at or above zero, and each entry carries a
unique idempotency key, so nothing is ever counted twice. Redeeming lives in points_vouchers, staff awards and
reversals in points_awards; both build on the views and helpers here.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bot.db.models import Person
from bot.db.models.points import EntryKind, PointsEntry
from bot.db.repositories.points import PointsRepository
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import default_translator
from bot.roles import Role
from bot.services.activity import ActivityView
from bot.services.common import FALLBACK_TIMEZONE
from bot.services.errors import UserFacingError
from bot.services.people import ensure_in, require_person
from bot.services.views import PersonView

HOLD_MINUTES = 15  # how long a redemption waits for the resident's confirmation
MANUAL_LIMIT = 50  # the most one manual award or deduction may move
REASON_LIMIT = 200
RULE_LIMIT = 20  # the most points one activity (or one hour of it) may earn
STAFF_ROLES = (Role.ADMIN, Role.BUILDING_LEADER, Role.SUPERVISOR)
REVERSE_ROLES = (Role.ADMIN, Role.SUPERVISOR)
RULE_ROLES = (Role.ADMIN,)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
ROOM_RE = re.compile(r"^(?P<building>[^\s]+?栋)(?P<unit>[^\s]+?单元)(?P<room>\w+)$")
PHONE_RE = re.compile(r"^1\d{10}$")
ACTIVITY_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
REVERSIBLE_KINDS = (EntryKind.EARN, EntryKind.AWARD, EntryKind.DEDUCT)


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
    timezone: str = FALLBACK_TIMEZONE
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


async def points_person(uow: UnitOfWork, telegram_id: int) -> Person:
    return await require_person(uow, telegram_id, missing="points.not_registered")


async def main_compound(repo: PointsRepository, person_id: int) -> int | None:
    """The compound a person's points live in: their (first) home's, else their (first) role's."""
    homes = await repo.home_compounds(person_id)
    if homes:
        return homes[0][0]
    for _role, compound_id in await repo.role_compounds(person_id):
        if compound_id is not None:
            return compound_id
    return None


async def person_and_compound(
    uow: UnitOfWork, repo: PointsRepository, telegram_id: int
) -> tuple[Person, int]:
    person = await points_person(uow, telegram_id)
    compound_id = await main_compound(repo, person.id)
    if compound_id is None:
        raise UserFacingError("points.not_registered")
    return person, compound_id


async def has_points_role(
    repo: PointsRepository, person_id: int, roles: tuple[Role, ...], compound_id: int
) -> bool:
    wanted = {r.value for r in roles}
    return any(
        role in wanted and (cid is None or cid == compound_id)
        for role, cid in await repo.role_compounds(person_id)
    )


async def compound_place(uow: UnitOfWork, compound_id: int) -> tuple[str, str]:
    compound = await uow.community.compound(compound_id)
    if compound is None:
        return "", FALLBACK_TIMEZONE
    return compound.name, compound.timezone or FALLBACK_TIMEZONE


def _entry_view(entry: PointsEntry) -> EntryView:
    return EntryView(entry.id, entry.kind, entry.amount, entry.balance_after, entry.reason, entry.created_at)


# Earning ----------


async def award_for_activity(uow: UnitOfWork, activity: ActivityView, now: datetime) -> None:
    """Activity listener: award by the compound's rule, in the recorder's transaction, once per source."""
    repo = uow.points
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
        kind=EntryKind.EARN,
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


# Checking ----------


def points_compound(person: PersonView) -> int | None:
    """main_compound from the view the handler already holds (homes and active roles in the same order)."""
    if person.homes:
        return person.homes[0].compound_id
    return next((r.compound_id for r in person.roles if r.compound_id is not None), None)


async def points_summary(
    uow: UnitOfWork, person_id: int, compound_id: int | None, now: datetime, *, last: int = 5
) -> PointsSummary:
    """The points page of a person whose view the caller read: compound_id is points_compound(view)."""
    if compound_id is None:
        raise UserFacingError("points.not_registered")
    async with uow:
        summary = await _page(uow, person_id, compound_id, now, last)
    if summary is None:
        raise UserFacingError("points.not_registered")
    return summary


async def points_page(
    uow: UnitOfWork, telegram_id: int, display_name: str, now: datetime, *, last: int = 5
) -> tuple[PersonView, PointsSummary | None]:
    """The person (made sure of, as people.ensure_person) and their points page (None: not registered) in one
    transaction: a /points that has not looked the person up yet opens one instead of two. The view comes back
    either way: the refusal is said in the person's language."""
    async with uow:
        person, wrote = await ensure_in(uow, telegram_id, display_name, now)
        compound_id = points_compound(person)
        summary = None if compound_id is None else await _page(uow, person.id, compound_id, now, last)
        if wrote:
            await uow.commit()
    return person, summary


async def _page(
    uow: UnitOfWork, person_id: int, compound_id: int, now: datetime, last: int
) -> PointsSummary | None:
    repo = uow.points
    head = await repo.page_head(person_id, compound_id)
    if head is None:
        return None
    name, tz, public_name, account_id, balance = head
    tz = tz or FALLBACK_TIMEZONE
    earned, entries = 0, []
    if account_id is not None:
        start, end, _ = month_window(now, tz)
        earned, rows = await repo.page_entries(account_id, last, start, end)
        entries = [EntryView(*row) for row in rows]
    return PointsSummary(
        person_id, compound_id, name, tz, int(balance or 0), earned, bool(public_name), entries
    )


async def statement(uow: UnitOfWork, telegram_id: int, now: datetime) -> PointsSummary:
    """Every entry, newest first (for the .xlsx statement)."""
    async with uow:
        repo = uow.points
        person, compound_id = await person_and_compound(uow, repo, telegram_id)
        name, tz = await compound_place(uow, compound_id)
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
        repo = uow.points
        me, compound_id = await person_and_compound(uow, repo, telegram_id)
        name, tz = await compound_place(uow, compound_id)
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
        person = await points_person(uow, telegram_id)
        person.public_name_opt_in = opt_in
        await uow.commit()
        return opt_in


async def list_rules(uow: UnitOfWork, telegram_id: int) -> list[RuleView]:
    async with uow:
        repo = uow.points
        _, compound_id = await person_and_compound(uow, repo, telegram_id)
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
    repo = uow.points
    rule = await repo.put_rule(compound_id, activity_type, label or activity_type)
    rule.points = points
    rule.per_hour = per_hour
    rule.active = points > 0
    if label:
        rule.label = label[:100]
    rule.updated_by = actor_id
    rule.updated_at = now
    await repo.flush()
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
        repo = uow.points
        actor, compound_id = await person_and_compound(uow, repo, actor_telegram_id)
        if not await has_points_role(repo, actor.id, RULE_ROLES, compound_id):
            raise UserFacingError("points.not_staff")
        view = await put_rule(
            uow, compound_id, activity_type, points, now, per_hour=per_hour, label=label, actor_id=actor.id
        )
        await uow.commit()
        return view

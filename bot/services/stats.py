"""Supervisor insight: the monthly measures (三率 and the rest), who may see which compounds, and the periods.

Definitions (the README repeats them): tickets are counted in the month they were reported (a ticket that
crossed months belongs to the month it came in; its resolution still counts there). Months and weeks are the
compound's local ones (its own time zone, else the community's setting).

- 响应率: accepted within the accept limit ÷ reported (less those still waiting inside their limit)
- 办结率: resolved or closed ÷ reported
- 按期办结率: resolved within the resolve limit ÷ resolved
- 满意率: rated 4–5 stars ÷ rated
- 回访率: resolved where the resident rated, commented, said it is still wrong or reopened ÷ resolved
- 重开率: reopened at least once ÷ reported
- median minutes from report to acceptance and to resolution

A rate whose denominator is 0 is None ("暂无数据"), never a division by zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.db.repositories.stats import (
    EventCounts,
    HonourRow,
    PatrolCounts,
    TicketCounts,
    TicketLine,
    VolunteerCounts,
)
from bot.db.uow import UnitOfWork
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.repairs_common import CHANNELS

__all__ = [
    "EventCounts",
    "HonourRow",
    "PatrolCounts",
    "TicketLine",
    "VolunteerCounts",
]

OVERSIGHT_ROLES = frozenset({Role.SUPERVISOR, Role.PROPERTY_MANAGER, Role.ADMIN})
MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


@dataclass(frozen=True)
class Rates:
    intake: int = 0
    response_base: int = 0
    accepted_in_time: int = 0
    resolved: int = 0
    resolved_in_time: int = 0
    rated: int = 0
    satisfied: int = 0
    visited: int = 0
    reopened: int = 0

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response(self) -> float | None:
        return self._share(self.accepted_in_time, self.response_base)

    @property
    def resolution(self) -> float | None:
        return self._share(self.resolved, self.intake)

    @property
    def on_time(self) -> float | None:
        return self._share(self.resolved_in_time, self.resolved)

    @property
    def satisfaction(self) -> float | None:
        return self._share(self.satisfied, self.rated)

    @property
    def visit(self) -> float | None:
        return self._share(self.visited, self.resolved)

    @property
    def reopen(self) -> float | None:
        return self._share(self.reopened, self.intake)

    def three(self) -> tuple[float | None, float | None, float | None]:
        """三率: 响应率, 办结率, 满意率."""
        return self.response, self.resolution, self.satisfaction

    @classmethod
    def of(cls, row: TicketCounts | None) -> Rates:
        if row is None:
            return cls()
        return cls(
            row.intake,
            row.response_base,
            row.accepted_in_time,
            row.resolved,
            row.resolved_in_time,
            row.rated,
            row.satisfied,
            row.visited,
            row.reopened,
        )


@dataclass(frozen=True)
class GroupFigures:
    key: str
    label: str  # a name, a kind code or a channel code (the renderer translates codes)
    rates: Rates
    previous: Rates
    accept_median: float | None = None
    resolve_median: float | None = None


@dataclass(frozen=True)
class Bucket:
    label: str  # "11-02": the bucket's first local day
    intake: int
    resolved: int
    by_kind: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Scope:
    compound_ids: tuple[int, ...]
    label: str  # the compound's name, or "全部 N 个小区" rendered by the caller from names
    compound_names: tuple[str, ...]
    building_id: int | None
    building: str | None
    period: str  # "2026-11", or "2026-W47" for a week-based digest
    start: datetime
    end: datetime
    previous_start: datetime
    tz: str


@dataclass(frozen=True)
class Figures:
    scope: Scope
    now: datetime
    total: Rates
    previous: Rates
    accept_median: float | None
    resolve_median: float | None
    by_compound: tuple[GroupFigures, ...]
    by_building: tuple[GroupFigures, ...]
    by_kind: tuple[GroupFigures, ...]
    by_butler: tuple[GroupFigures, ...]
    by_channel: tuple[tuple[str, int], ...]
    buckets: tuple[Bucket, ...]
    heat: tuple[
        tuple[str, str, int], ...
    ]  # building ("" = public spots) or compound when several, kind, count
    repeats: tuple[tuple[str, str, str, int], ...]  # compound, place, kind, count
    overdue: tuple[TicketLine, ...]
    overdue_count: int
    reopened: tuple[TicketLine, ...]
    worst: tuple[TicketLine, ...]
    honour: tuple[HonourRow, ...]
    patrols: PatrolCounts
    volunteers: VolunteerCounts
    events: EventCounts
    comparison: tuple[GroupFigures, ...] = field(default=())  # every compound the reader may compare

    @property
    def empty(self) -> bool:
        return self.total.intake == 0


@dataclass(frozen=True)
class Oversight:
    person_id: int
    language: str | None
    compounds: tuple[tuple[int, str], ...]  # (id, name), what this person may see


def arrow(now: float | None, before: float | None) -> str:
    """Month on month: ↑ higher, ↓ lower, → about the same; "" when either month has no data."""
    if now is None or before is None:
        return ""
    if now - before > 0.005:
        return "↑"
    if before - now > 0.005:
        return "↓"
    return "→"


LAST_WORDS = ("上月", "上个月", "last")
THIS_WORDS = ("本月", "这个月", "this")
MONTH_WORD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


def read_words(words: Sequence[str]) -> tuple[str | None, int, list[str]]:
    """What follows /stats: (a month "2026-11" or None, months back from this one, the other words)."""
    month, back, rest = None, 0, []
    for word in words:
        match = MONTH_WORD.match(word.strip())
        if word in LAST_WORDS:
            back = 1
        elif word in THIS_WORDS:
            back = 0
        elif match is not None:
            month = f"{match.group(1)}-{int(match.group(2)):02d}"
        else:
            rest.append(word)
    return month, back, rest


def zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime, datetime]:
    """(start of the previous month, start, end) of a local month "YYYY-MM", as aware instants."""
    match = MONTH_RE.match(month.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise UserFacingError("stats.bad_month", month=month)
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=tz)
    previous = datetime(year - (number == 1), (number - 2) % 12 + 1, 1, tzinfo=tz)
    return previous, start, end


def month_of(now: datetime, tz: ZoneInfo, back: int = 0) -> str:
    local = now.astimezone(tz)
    index = local.year * 12 + local.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def week_bounds(start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
    """The period cut at each local Monday: the first and last buckets may be shorter than a week."""
    bounds = [start]
    local = start.astimezone(tz)
    monday = datetime(local.year, local.month, local.day, tzinfo=tz) + timedelta(days=7 - local.weekday())
    while monday < end:
        bounds.append(monday)
        monday = datetime(monday.year, monday.month, monday.day, tzinfo=tz) + timedelta(days=7)
    bounds.append(end)
    return bounds


# ---------------------------------------------------------------- who may see what


async def oversight(uow: UnitOfWork, telegram_id: int) -> Oversight:
    """The compounds a supervisor, property manager or admin oversees (a role without a compound: all)."""
    async with uow:
        person = await uow.community.person_by_telegram(telegram_id)
        if person is None:
            raise UserFacingError("common.not_registered")
        roles = [r for r in await uow.community.roles_of(person.id) if r.role in OVERSIGHT_ROLES]
        if not roles:
            raise UserFacingError("common.not_allowed")
        every = await uow.community.compounds()
        if any(r.compound_id is None for r in roles):
            chosen = every
        else:
            ids = {r.compound_id for r in roles}
            chosen = [c for c in every if c.id in ids]
        return Oversight(person.id, person.language, tuple((c.id, c.name) for c in chosen))


async def choose(
    uow: UnitOfWork, seen: Oversight, words: Sequence[str]
) -> tuple[list[tuple[int, str]], str | None]:
    """From what a supervisor typed after /stats: the compounds (theirs only) and a building, if named."""
    chosen: list[tuple[int, str]] | None = None
    building = None
    async with uow:
        names = {c.name for c in await uow.community.compounds()}
    for word in (w.strip() for w in words if w.strip()):
        if word in names or word in ("all", "全部"):
            chosen = pick(seen, word)
        elif building is None:
            building = word
    return (chosen if chosen is not None else list(seen.compounds)), building


def pick(seen: Oversight, compound: str | None) -> list[tuple[int, str]]:
    """The compound asked for, by name (or all the person oversees); refused if not theirs."""
    if not compound or compound in ("all", "全部"):
        return list(seen.compounds)
    wanted = [c for c in seen.compounds if c[1] == compound.strip()]
    if not wanted:
        raise UserFacingError("stats.not_overseen", compound=compound.strip())
    return wanted


# ---------------------------------------------------------------- figures


async def month_figures(
    uow: UnitOfWork,
    compounds: Sequence[tuple[int, str]],
    month: str | None,
    now: datetime,
    default_tz: str,
    *,
    back: int = 0,
    building: str | None = None,
    compare: Sequence[tuple[int, str]] = (),
    full: bool = True,
) -> Figures:
    """Everything about one local month for these compounds. `full` False (the picture and its five lines)
    skips what only the report prints: per-kind and per-building tables, group medians, reopened tickets."""
    async with uow:
        return await month_figures_in(
            uow, compounds, month, now, default_tz, back=back, building=building, compare=compare, full=full
        )


async def month_figures_in(
    uow: UnitOfWork,
    compounds: Sequence[tuple[int, str]],
    month: str | None,
    now: datetime,
    default_tz: str,
    *,
    back: int = 0,
    building: str | None = None,
    compare: Sequence[tuple[int, str]] = (),
    full: bool = True,
) -> Figures:
    """month_figures inside the caller's open unit of work."""
    if not compounds:
        raise UserFacingError("stats.no_compounds")
    first = await uow.community.compound(compounds[0][0])
    tz_name = (first.timezone if first is not None and len(compounds) == 1 else None) or default_tz
    tz = zone(tz_name, default_tz)
    month = month or month_of(now, tz, back)
    previous, start, end = month_bounds(month, tz)
    if start > now:
        raise UserFacingError("stats.future_month", month=month)
    building_id = None
    if building:
        found = [b for b in await uow.community.buildings(compounds[0][0]) if b.name == building.strip()]
        if len(compounds) != 1 or not found:
            raise UserFacingError("stats.building_unknown", building=building)
        building_id = found[0].id
    scope = Scope(
        tuple(c[0] for c in compounds),
        compounds[0][1] if len(compounds) == 1 else "",
        tuple(c[1] for c in compounds),
        building_id,
        building.strip() if building else None,
        month_of(start, tz),
        start,
        end,
        previous,
        str(tz.key),
    )
    return await _figures(uow, scope, now, compare=compare, full=full)


async def week_figures(
    uow: UnitOfWork, compound: tuple[int, str], end: datetime, now: datetime, tz_name: str
) -> Figures:
    """The four weeks before `end` (a local Monday), week by week: the weekly digest's picture.

    Runs inside the caller's open unit of work (the digest claims its run in the same transaction)."""
    tz = zone(tz_name, tz_name)
    start = end - timedelta(days=28)
    scope = Scope(
        (compound[0],),
        compound[1],
        (compound[1],),
        None,
        None,
        (end - timedelta(days=1)).astimezone(tz).strftime("%G-W%V"),
        start,
        end,
        start - timedelta(days=28),
        str(tz.key),
    )
    return await _figures(uow, scope, now, full=False, weekly_detail=True)


async def _figures(
    uow: UnitOfWork,
    scope: Scope,
    now: datetime,
    *,
    compare: Sequence[tuple[int, str]] = (),
    full: bool = True,
    weekly_detail: bool = False,
) -> Figures:
    repo = uow.stats
    ids, b = scope.compound_ids, scope.building_id
    start, end, before = scope.start, scope.end, scope.previous_start
    # A month still running is counted up to now, and compared with the same stretch of the month before
    # would be unfair to neither; the whole previous month is the honest baseline people expect.
    total = await repo.ticket_counts(ids, start, end, now, building_id=b)
    previous = await repo.ticket_counts(ids, before, start, now, building_id=b)
    medians = {m.key: m for m in await repo.medians(ids, start, end, building_id=b)}

    async def grouped(by: str) -> tuple[GroupFigures, ...]:
        rows = await repo.ticket_counts(ids, start, end, now, by, building_id=b)
        prev = {r.key: r for r in await repo.ticket_counts(ids, before, start, now, by, building_id=b)}
        # The picture and its five lines need no per-group medians: only the report prints them.
        meds = {m.key: m for m in await repo.medians(ids, start, end, by, building_id=b)} if full else {}
        out = []
        for row in rows:
            med = meds.get(row.key)
            out.append(
                GroupFigures(
                    row.key,
                    row.label,
                    Rates.of(row),
                    Rates.of(prev.get(row.key)),
                    med.accept_minutes if med else None,
                    med.resolve_minutes if med else None,
                )
            )
        out.sort(key=lambda g: (-g.rates.intake, g.label))
        return tuple(out)

    by_butler = await grouped("butler")
    by_kind = await grouped("kind") if full else ()
    channels = {
        r.key: r.intake for r in await repo.ticket_counts(ids, start, end, now, "channel", building_id=b)
    }
    tz = zone(scope.tz, scope.tz)
    bounds = (
        [start + timedelta(days=7 * i) for i in range(5)] if weekly_detail else week_bounds(start, end, tz)
    )
    intake_rows = await repo.flow(ids, bounds, by_kind=True, building_id=b)
    resolved_rows = await repo.flow(ids, bounds, resolved=True, building_id=b)
    buckets = []
    for index, bound in enumerate(bounds[:-1]):
        kinds = tuple(sorted(((k, n) for i, k, n in intake_rows if i == index), key=lambda kn: -kn[1]))
        buckets.append(
            Bucket(
                bound.astimezone(tz).strftime("%m-%d"),
                sum(n for _k, n in kinds),
                sum(n for i, _k, n in resolved_rows if i == index),
                kinds,
            )
        )
    med = medians.get("")
    comparison: tuple[GroupFigures, ...] = ()
    if compare:
        compare_ids = [c[0] for c in compare]
        names = dict(compare)
        rows = await repo.ticket_counts(compare_ids, start, end, now, "compound")
        prev = {r.key: r for r in await repo.ticket_counts(compare_ids, before, start, now, "compound")}
        got = {r.key: r for r in rows}
        comparison = tuple(
            GroupFigures(str(cid), names[cid], Rates.of(got.get(str(cid))), Rates.of(prev.get(str(cid))))
            for cid, _name in compare
        )
    return Figures(
        scope=scope,
        now=now,
        total=Rates.of(total[0] if total else None),
        previous=Rates.of(previous[0] if previous else None),
        accept_median=med.accept_minutes if med else None,
        resolve_median=med.resolve_minutes if med else None,
        by_compound=await grouped("compound") if len(ids) > 1 else (),
        by_building=await grouped("building") if full else (),
        by_kind=by_kind,
        by_butler=by_butler,
        by_channel=tuple((c, channels.get(c, 0)) for c in CHANNELS),
        buckets=tuple(buckets),
        heat=tuple(await repo.building_kind(ids, start, end, building_id=b, per_compound=len(ids) > 1)),
        repeats=tuple(await repo.repeat_places(ids, start, end, building_id=b)),
        overdue=tuple(await repo.overdue(ids, now, 20 if full else 3, building_id=b)),
        overdue_count=await repo.overdue_count(ids, now, building_id=b),
        reopened=tuple(await repo.reopened(ids, start, end, building_id=b)) if full else (),
        worst=tuple(await repo.worst_rated(ids, start, end, building_id=b)),
        honour=tuple(
            sorted(
                await repo.honour(ids, start, end, building_id=b),
                key=lambda h: (-(h.on_time / h.resolved), -(h.average or 0), -h.resolved, h.name),
            )
        ),
        patrols=await repo.patrols(ids, start, end),
        volunteers=await repo.volunteers(ids, start, end),
        events=await repo.events(ids, start, end),
        comparison=comparison,
    )


# ---------------------------------------------------------------- 公示 opt-in


async def set_public_figures(uow: UnitOfWork, compound_name: str, on: bool) -> int:
    async with uow:
        compound = await uow.community.compound_by_name(compound_name)
        if compound is None:
            raise UserFacingError("stats.compound_unknown", compound=compound_name)
        await uow.stats.set_public_figures(compound.id, on)
        await uow.commit()
        return compound.id


async def all_compounds(uow: UnitOfWork) -> list[tuple[int, str]]:
    async with uow:
        return [(c.id, c.name) for c in await uow.community.compounds()]

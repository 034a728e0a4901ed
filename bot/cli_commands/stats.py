"""redbutler report monthly|public-figures, and redbutler bench stats."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.cli import Console, now
from bot.cli_commands.bench import bench_subparsers
from bot.config import Settings


def register(subparsers: Any) -> None:
    report = subparsers.add_parser("report", help="supervisors' reports (月报)")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    monthly = report_sub.add_parser(
        "monthly", help="printable A4 PDF of a month's figures (and --xlsx tables)"
    )
    monthly.add_argument("--compound", required=True, help="a compound's name, or 全部/all for the community")
    monthly.add_argument("--month", help="YYYY-MM in the compound's time zone (default: last month)")
    monthly.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    monthly.add_argument("--xlsx", type=Path, help="also write the same tables for Excel")
    monthly.set_defaults(handler=cmd_report_monthly)
    public = report_sub.add_parser(
        "public-figures", help="the monthly 公示 in the residents' group: on or off"
    )
    public.add_argument("--compound", required=True)
    public.add_argument("state", choices=("on", "off"))
    public.set_defaults(handler=cmd_public_figures)

    bench = bench_subparsers(subparsers)
    parser = bench.add_parser("stats", help="/stats and the monthly PDF on a large community")
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--compounds", type=int, default=5)
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs of each (default 5; the median is shown)"
    )
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=cmd_bench_stats)


def _run(settings: Settings, work: Any) -> Any:
    from bot.cli_commands.repairs import _run as run

    return run(settings, work)


def cmd_report_monthly(args: argparse.Namespace, settings: Settings) -> int:
    from bot.i18n import default_translator
    from bot.reports import fonts, monthly_pdf, monthly_xlsx
    from bot.services import stats

    console = Console(settings)
    translator = default_translator()
    fonts.prefer(settings.cjk_font)

    def text(key: str, **values: object) -> str:
        return translator(settings.default_language, key, **values)

    async def work(factory: Any) -> Any:
        every = await stats.all_compounds(factory())
        chosen = every if args.compound in ("all", "全部") else [c for c in every if c[1] == args.compound]
        if not chosen:
            raise stats.UserFacingError("stats.compound_unknown", compound=args.compound)
        return await stats.month_figures(
            factory(), chosen, args.month, now(), settings.timezone, back=1, compare=every
        )

    started = time.perf_counter()
    figures = _run(settings, work)
    if figures is None:
        return 1
    data = monthly_pdf.render(figures, text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    pages = data.count(b"/Type /Page\n") or data.count(b"/Type /Page")
    console.say(
        "cli.stats_written", path=args.out, pages=pages, seconds=f"{time.perf_counter() - started:.1f}"
    )
    if args.xlsx is not None:
        args.xlsx.parent.mkdir(parents=True, exist_ok=True)
        args.xlsx.write_bytes(monthly_xlsx.render(figures, text))
        console.say("cli.stats_xlsx_written", path=args.xlsx)
    return 0


def cmd_public_figures(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import stats

    async def work(factory: Any) -> Any:
        return await stats.set_public_figures(factory(), args.compound, args.state == "on")

    if _run(settings, work) is None:
        return 1
    Console(settings).say("cli.stats_public", compound=args.compound, state=args.state)
    return 0


# ---------------------------------------------------------------- bench stats

BENCH_NOW = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)
KINDS = (
    "plumbing_electric",
    "elevator",
    "facilities",
    "sanitation",
    "greening",
    "safety",
    "noise",
    "dispute",
)
CHANNELS = ("chat", "chat", "chat", "qr", "group", "staff", "patrol")


async def _seed(url: str, args: argparse.Namespace, tz: str) -> dict[str, Any]:
    from sqlalchemy import insert, select

    from bot.db.engine import make_engine
    from bot.db.models import Building, Compound, Household, Person, StaffRole, Unit
    from bot.db.models.events import CommunityEvent, EventRsvp
    from bot.db.models.patrols import PatrolRoute, PatrolShift, ShiftSignup
    from bot.db.models.repairs import RepairTicket

    rng = random.Random(14)
    engine = make_engine(url)
    start = BENCH_NOW - timedelta(days=30.5 * args.months)
    per_compound = args.households // args.compounds
    buildings_per = 20
    units_per = 4
    rooms_per = max(1, per_compound // (buildings_per * units_per))
    async with engine.begin() as conn:
        compound_ids: list[int] = []
        for c in range(args.compounds):
            name = "幸福里小区" if c == 0 else f"压测小区{c}"
            result = await conn.execute(
                insert(Compound).values(name=name, timezone=tz, created_at=start).returning(Compound.id)
            )
            compound_ids.append(int(result.scalar_one()))
        buildings: dict[int, list[tuple[int, str]]] = {}
        households = 0
        for cid in compound_ids:
            for b in range(buildings_per):
                bname = f"{b + 1}栋"
                bid = (
                    await conn.execute(
                        insert(Building).values(compound_id=cid, name=bname).returning(Building.id)
                    )
                ).scalar_one()
                buildings.setdefault(cid, []).append((int(bid), bname))
                for u in range(units_per):
                    uid = (
                        await conn.execute(
                            insert(Unit).values(building_id=bid, name=f"{u + 1}单元").returning(Unit.id)
                        )
                    ).scalar_one()
                    rows = [{"unit_id": uid, "room": f"{r // 4 + 1}0{r % 4 + 1}"} for r in range(rooms_per)]
                    await conn.execute(insert(Household), rows)
                    households += len(rows)
        await conn.execute(
            insert(Person),
            [{"display_name": f"居民{i}", "reachable": True, "public_name_opt_in": False, "created_at": start}
             for i in range(households)],
        )  # fmt: skip
        reporters = list((await conn.execute(select(Person.id))).scalars())
        butlers: dict[int, list[int]] = {}
        for cid in compound_ids:
            for n in range(6):
                pid = (
                    await conn.execute(
                        insert(Person)
                        .values(
                            display_name=f"管家{cid}-{n}",
                            reachable=True,
                            public_name_opt_in=False,
                            created_at=start,
                        )
                        .returning(Person.id)
                    )
                ).scalar_one()
                await conn.execute(
                    insert(StaffRole).values(
                        person_id=pid,
                        role="butler",
                        compound_id=cid,
                        active=n != 5,
                        source="roster",
                        created_at=start,
                    )
                )
                butlers.setdefault(cid, []).append(int(pid))
        span = (BENCH_NOW - start).total_seconds()
        batch: list[dict[str, Any]] = []
        for i in range(args.tickets):
            cid = compound_ids[i % len(compound_ids)]
            bid, bname = rng.choice(buildings[cid])
            created = start + timedelta(seconds=rng.random() * span)
            age = (BENCH_NOW - created).total_seconds()
            roll = rng.random()
            status = (
                "closed"
                if roll < 0.85
                else "resolved"
                if roll < 0.9
                else "accepted"
                if roll < 0.95
                else "open"
            )
            if age < 86400 * 3 and rng.random() < 0.5:
                status = "open"
            accepted = created + timedelta(minutes=rng.randint(3, 180)) if status != "open" else None
            resolved = (
                accepted + timedelta(minutes=rng.randint(30, 4000))
                if accepted is not None and status in ("resolved", "closed")
                else None
            )
            if resolved is not None and resolved > BENCH_NOW:
                resolved = BENCH_NOW
            rated = status == "closed" and rng.random() < 0.7
            batch.append(
                {
                    "compound_id": cid,
                    "reporter_id": rng.choice(reporters),
                    "building_id": bid,
                    "place_label": bname,
                    "public_label": bname,
                    "kind": rng.choice(KINDS),
                    "urgency": "normal",
                    "channel": rng.choice(CHANNELS),
                    "description": "",
                    "photos": [],
                    "status": status,
                    "queue": "butler",
                    "assignee_id": rng.choice(butlers[cid]),
                    "needs_help": False,
                    "escalation_level": 0,
                    "stage_due_at": created + timedelta(hours=rng.choice((1, 4, 24)))
                    if status != "closed"
                    else None,
                    "accepted_at": accepted,
                    "accepted_on_time": (rng.random() < 0.9) if accepted else None,
                    "resolved_at": resolved,
                    "resolved_on_time": (rng.random() < 0.85) if resolved else None,
                    "closed_at": resolved if status == "closed" else None,
                    "rating": rng.choice((5, 5, 5, 4, 4, 3, 2, 1)) if rated else None,
                    "reopen_count": 1 if rng.random() < 0.05 else 0,
                    "version": 1,
                    "last_person_action_at": resolved or accepted or created,
                    "created_at": created,
                }
            )
            if len(batch) == 2000:
                await conn.execute(insert(RepairTicket), batch)
                batch = []
        if batch:
            await conn.execute(insert(RepairTicket), batch)
        # Patrols and events: a shift every other day and an event a week in each compound.
        for cid in compound_ids:
            route = (
                await conn.execute(
                    insert(PatrolRoute)
                    .values(compound_id=cid, name="东区", radius_m=300, created_at=start)
                    .returning(PatrolRoute.id)
                )
            ).scalar_one()
            day = start
            while day < BENCH_NOW:
                sid = (
                    await conn.execute(
                        insert(PatrolShift)
                        .values(
                            compound_id=cid,
                            route_id=route,
                            starts_at=day,
                            ends_at=day + timedelta(hours=2),
                            capacity=3,
                            status="closed",
                            created_at=day,
                        )
                        .returning(PatrolShift.id)
                    )
                ).scalar_one()
                people = rng.sample(reporters, 3)
                await conn.execute(insert(ShiftSignup), [
                    {"shift_id": sid, "person_id": p, "status": "booked", "created_at": day,
                     "outcome": "no_show" if rng.random() < 0.1 else "completed",
                     "report": "消防通道堆物" if rng.random() < 0.05 else None} for p in people])  # fmt: skip
                if day.weekday() == 5:
                    eid = (
                        await conn.execute(
                            insert(CommunityEvent)
                            .values(
                                compound_id=cid,
                                title="党员活动日",
                                place="活动室",
                                starts_at=day,
                                ends_at=day + timedelta(hours=2),
                                capacity=30,
                                audience="everyone",
                                event_type="party_day",
                                repeat="none",
                                status="open",
                                checkin_code=f"B{cid}{sid}",
                                post_at=day,
                                posted=True,
                                created_at=day,
                            )
                            .returning(CommunityEvent.id)
                        )
                    ).scalar_one()
                    going = rng.sample(reporters, 20)
                    await conn.execute(insert(EventRsvp), [
                        {"event_id": eid, "person_id": p, "status": "going", "created_at": day,
                         "checked_in_at": day if rng.random() < 0.8 else None} for p in going])  # fmt: skip
                day += timedelta(days=2)
    await engine.dispose()
    return {"households": households, "tickets": args.tickets, "compounds": len(compound_ids)}


async def _seeded(url: str) -> dict[str, Any] | None:
    """A database named with --database-url that already holds the bench community is measured as it is."""
    from sqlalchemy import func, select

    from bot.db.engine import make_engine
    from bot.db.models import Compound, Household
    from bot.db.models.repairs import RepairTicket

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            compounds = await conn.scalar(select(func.count(Compound.id)))
            if not compounds:
                return None
            return {
                "compounds": compounds,
                "households": await conn.scalar(select(func.count(Household.id))),
                "tickets": await conn.scalar(select(func.count(RepairTicket.id))),
            }
    finally:
        await engine.dispose()


async def _measure(url: str, runs: int, tz: str) -> dict[str, Any]:
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWorkFactory
    from bot.i18n import default_translator
    from bot.reports import charts, monthly_pdf
    from bot.services import stats

    translator = default_translator()

    def text(key: str, **values: object) -> str:
        return translator("zh_CN", key, **values)

    engine = make_engine(url)
    factory = UnitOfWorkFactory(make_sessionmaker(engine))
    every = await stats.all_compounds(factory())
    one = [c for c in every if c[1] == "幸福里小区"]

    async def answer() -> int:
        figures = await stats.month_figures(factory(), one, None, BENCH_NOW, tz, back=1, full=False)
        return len(charts.dashboard(figures, text, heading="幸福里小区"))

    async def report() -> int:
        figures = await stats.month_figures(factory(), one, None, BENCH_NOW, tz, back=1, compare=every)
        return len(monthly_pdf.render(figures, text))

    timings: dict[str, Any] = {}
    for name, job in (("stats", answer), ("pdf", report)):
        started = time.perf_counter()
        await job()
        first = time.perf_counter() - started
        walls, cpus = [], []
        for _ in range(runs):
            started, cpu = time.perf_counter(), time.process_time()
            await job()
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        timings[name] = {
            "first": first,
            "median": statistics.median(walls),
            "max": max(walls),
            "cpu": statistics.median(cpus),
        }
    # The figures alone (the database's share of /stats), all compounds at once.
    started = time.perf_counter()
    await stats.month_figures(factory(), every, None, BENCH_NOW, tz, back=1, full=False)
    timings["figures_all_compounds"] = time.perf_counter() - started
    await engine.dispose()
    timings["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return timings


def cmd_bench_stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade

    if args.measure_only:
        print(json.dumps(asyncio.run(_measure(args.database_url, args.runs, settings.timezone))))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench-stats.sqlite3'}"
        upgrade(url)
        started = time.perf_counter()
        reused = asyncio.run(_seeded(url))
        seeded = reused or asyncio.run(_seed(url, args, settings.timezone))
        print(
            f"{'reused' if reused else 'seeded'} {seeded['compounds']} compounds, "
            f"{seeded['households']} households, "
            f"{seeded['tickets']} tickets over {args.months} months in {time.perf_counter() - started:.1f} s"
        )
        # Measured in a fresh process: its peak memory is the bot's share, not the seeding's.
        child = subprocess.run(
            [sys.executable, "-m", "bot", "bench", "stats", "--measure-only", "--runs", str(args.runs),
             "--database-url", url],
            capture_output=True, text=True, env={**os.environ}, check=False,
        )  # fmt: skip
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        result = json.loads(child.stdout.strip().splitlines()[-1])
    s, p = result["stats"], result["pdf"]
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall times stretch with it; CPU times less so)")
    lines = (
        ("/stats, one compound, last month, with its picture", s, "includes importing matplotlib", "1"),
        ("monthly PDF with the community comparison", p, "", "5"),
    )
    for label, row, note, target in lines:
        print(f"{label}: median {row['median']:.2f} s wall, {row['cpu']:.2f} s CPU, max {row['max']:.2f} s")
        print(f"    first call {row['first']:.2f} s {note}; target ≤ {target} s")
    seconds = result["figures_all_compounds"]
    print(f"figures of all {seeded['compounds']} compounds at once (no picture): {seconds:.2f} s")
    print(f"peak memory of the measuring process: {result['peak_rss_mb']:.0f} MB  target ≤ 200 MB")
    ok = s["median"] <= 1.0 and p["median"] <= 5.0 and result["peak_rss_mb"] <= 200
    return 0 if ok else 1

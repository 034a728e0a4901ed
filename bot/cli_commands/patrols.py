"""redbutler export shifts | patrol route | patrol template | patrol generate."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.cli import Console, now
from bot.config import Settings


def nested(subparsers: Any, name: str, help_text: str, dest: str) -> Any:
    """Sub-parsers of a top-level command several capabilities share (`export`, `import`), made once."""
    parser: argparse.ArgumentParser | None = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=dest, required=True)


def register(subparsers: Any) -> None:
    export = nested(subparsers, "export", "export reports", "export_command")
    shifts = export.add_parser("shifts", help="patrol shifts, sign-ups, check-ins and outcomes as .xlsx")
    shifts.add_argument(
        "--out", type=Path, default=Path("shifts.xlsx"), help="where to write (default shifts.xlsx)"
    )
    shifts.add_argument("--days-back", type=int, default=31, help="from this many days ago (default 31)")
    shifts.add_argument("--days-ahead", type=int, default=31, help="to this many days ahead (default 31)")
    shifts.set_defaults(handler=cmd_export_shifts)

    patrol = subparsers.add_parser("patrol", help="patrol routes and repeating shifts")
    sub = patrol.add_subparsers(dest="patrol_command", required=True)
    route = sub.add_parser(
        "route", help="add a route with checkpoints; prints each checkpoint's QR deep link"
    )
    route.add_argument("--compound", required=True)
    route.add_argument("--name", required=True)
    route.add_argument("--radius", type=int, default=300, help="check-in radius in metres (default 300)")
    route.add_argument(
        "--checkpoint",
        action="append",
        required=True,
        metavar="NAME,LAT,LON",
        help="repeat for each checkpoint",
    )
    route.set_defaults(handler=cmd_route)
    routes = sub.add_parser("routes", help="list routes with their ids and checkpoints")
    routes.add_argument("--compound", help="only this compound")
    routes.set_defaults(handler=cmd_routes)
    template = sub.add_parser("template", help="a repeating shift, e.g. daily 19:30 for 120 minutes")
    template.add_argument("--route-id", type=int, required=True)
    template.add_argument("--days", default="1-7", help="weekdays 1=Mon..7=Sun: '1-7', '6,7' (default 1-7)")
    template.add_argument("--start", required=True, help="HH:MM local time")
    template.add_argument("--minutes", type=int, required=True)
    template.add_argument("--capacity", type=int, required=True)
    template.add_argument("--leader-phone", help="the shift leader's phone as in the roster")
    template.set_defaults(handler=cmd_template)
    rules = sub.add_parser("rules", help="show or change a compound's patrol rules")
    rules.add_argument("--compound", required=True)
    rules.add_argument("--weekly-max", type=int, help="shifts a volunteer may take per week")
    rules.add_argument("--evening", help="evening-before reminder time, HH:MM")
    rules.add_argument("--hour-before", type=int, help="minutes before the start for the second reminder")
    rules.add_argument("--quiet", help="quiet hours, HH:MM-HH:MM (e.g. 22:00-07:00)")
    rules.add_argument("--cutoff-hours", type=int, help="a cancel later than this tells the coordinator")
    rules.add_argument("--understaffed-hours", type=int, help="alert this long before a short shift")
    rules.set_defaults(handler=cmd_rules)
    generate = sub.add_parser("generate", help="create the shifts of every template for the coming weeks")
    generate.add_argument("--weeks", type=int, default=4)
    generate.set_defaults(handler=cmd_generate)


def _run(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWorkFactory

    async def main() -> Any:
        engine = make_engine(settings.database_url)
        try:
            return await work(UnitOfWorkFactory(make_sessionmaker(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def parse_days(text: str) -> list[int]:
    days: set[int] = set()
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        for day in range(int(first), int(last or first) + 1):
            if not 1 <= day <= 7:
                raise ValueError(part)
            days.add(day - 1)
    return sorted(days)


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import patrols
    from bot.services.errors import UserFacingError
    from bot.services.invites import deep_link

    console = Console(settings)
    points = []
    for raw in args.checkpoint:
        try:
            name, lat, lon = (x.strip() for x in raw.split(","))
            points.append((name, float(lat), float(lon)))
        except ValueError:
            return console.fail("cli.bad_checkpoint", value=raw)

    async def work(factory: Any) -> Any:
        async with factory() as uow:
            compound = await uow.community.compound_by_name(args.compound)
        if compound is None:
            raise UserFacingError("cli.unknown_compound", name=args.compound)
        return await patrols.create_route(
            factory(),
            compound_id=compound.id,
            name=args.name,
            checkpoints=points,
            now=now(),
            radius_m=args.radius,
        )

    try:
        view = _run(settings, work)
    except UserFacingError as error:
        return console.refuse(error)
    console.say("cli.route_made", id=view.id, name=view.name)
    for name, code in view.checkpoints:
        print(f"  {name}: {deep_link(settings.bot_username, 'cp_' + code)}")
    return 0


def cmd_routes(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import patrols
    from bot.services.invites import deep_link

    console = Console(settings)
    routes = _run(settings, lambda f: patrols.list_routes(f(), args.compound))
    if not routes:
        return console.fail("cli.no_routes")
    for route in routes:
        console.say(
            "cli.route_line", id=route.id, compound=route.compound, name=route.name, radius=route.radius_m
        )
        for name, lat, lon, code in route.checkpoints:
            link = deep_link(settings.bot_username, "cp_" + code)
            print(f"  {name}\t{lat:.6f},{lon:.6f}\t{link}")
    return 0


def cmd_template(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import patrols
    from bot.services.errors import UserFacingError

    console = Console(settings)
    try:
        days = parse_days(args.days)
        patrols.parse_hhmm(args.start)
    except ValueError:
        return console.fail("cli.bad_days_or_start")

    async def work(factory: Any) -> Any:
        leader_id = None
        if args.leader_phone:
            async with factory() as uow:
                leader = await uow.community.person_by_phone(args.leader_phone)
                leader_id = leader.id if leader else None
        template_id = await patrols.create_template(
            factory(),
            route_id=args.route_id,
            weekdays=days,
            start_time=args.start,
            duration_minutes=args.minutes,
            capacity=args.capacity,
            now=now(),
            leader_id=leader_id,
        )
        made = await patrols.generate_shifts(factory(), now())
        return template_id, made

    try:
        template_id, made = _run(settings, work)
    except UserFacingError as error:
        return console.refuse(error)
    console.say("cli.template_made", id=template_id, made=made)
    return 0


def cmd_rules(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import patrols
    from bot.services.errors import UserFacingError

    changes: dict[str, object] = {}
    for option, name in (
        ("weekly_max", "weekly_max"),
        ("evening", "evening_reminder"),
        ("hour_before", "hour_before_minutes"),
        ("cutoff_hours", "cutoff_hours"),
        ("understaffed_hours", "understaffed_hours"),
    ):
        if getattr(args, option) is not None:
            changes[name] = getattr(args, option)
    if args.quiet:
        start, _, end = args.quiet.partition("-")
        changes["quiet_start"], changes["quiet_end"] = start.strip(), end.strip()

    async def work(factory: Any) -> Any:
        async with factory() as uow:
            compound = await uow.community.compound_by_name(args.compound)
        if compound is None:
            raise UserFacingError("cli.unknown_compound", name=args.compound)
        return await patrols.update_rules(factory(), compound.id, **changes)

    console = Console(settings)
    try:
        view = _run(settings, work)
    except UserFacingError as error:
        return console.refuse(error)
    except ValueError:
        return console.fail("cli.bad_rules")
    for name, value in vars(view).items():
        print(f"{console.text('cli.rule_' + name)}: {value}")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import patrols

    made = _run(settings, lambda f: patrols.generate_shifts(f(), now(), timedelta(weeks=args.weeks)))
    Console(settings).say("cli.shifts_made", made=made)
    return 0


def cmd_export_shifts(args: argparse.Namespace, settings: Settings) -> int:
    from openpyxl import Workbook

    from bot.services import patrols
    from bot.services.invites import deep_link

    start = now() - timedelta(days=args.days_back)
    end = now() + timedelta(days=args.days_ahead)

    async def work(factory: Any) -> Any:
        return await patrols.export_rows(factory(), start, end), await patrols.checkpoint_codes(factory())

    rows, codes = _run(settings, work)
    console = Console(settings)

    def word(kind: str, value: str | None) -> str:
        return console.text(f"cli.{kind}_{value}") if value else ""

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = console.text("cli.sheet_shifts")
    sheet.append([console.text(f"cli.col_shift_{name}") for name in SHIFT_COLUMNS])
    for row in rows:
        tz = ZoneInfo(row.tz)
        sheet.append(
            [
                row.shift_id, row.route, _local(row.starts_at, tz), _local(row.ends_at, tz), row.capacity,
                row.person, word("signup", row.status), _local(row.checked_in_at, tz),
                word("checkin", row.method), word("outcome", row.outcome), row.report,
            ]
        )  # fmt: skip
    points = book.create_sheet(console.text("cli.sheet_checkpoints"))
    points.append([console.text(f"cli.col_cp_{name}") for name in ("route", "name", "link")])
    for route, name, code in codes:
        points.append([route, name, deep_link(settings.bot_username, "cp_" + code)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    book.save(args.out)
    console.say("cli.written", path=args.out.name, count=len(rows))
    return 0


SHIFT_COLUMNS = (
    "id", "route", "start", "end", "capacity", "person",
    "status", "checked_in", "method", "outcome", "report",
)  # fmt: skip


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Excel has no time zones: write the compound's wall-clock time."""
    return moment.astimezone(tz).replace(tzinfo=None) if moment is not None else None

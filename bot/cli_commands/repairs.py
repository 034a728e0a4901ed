"""redbutler places import|list, redbutler posters, redbutler repairs policy."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import Console, existing_file, now
from bot.config import Settings


def register(subparsers: Any) -> None:
    places = subparsers.add_parser(
        "places", help="public spots for repair reports (东门, 地下车库B1, 3栋电梯)"
    )
    places_sub = places.add_subparsers(dest="places_command", required=True)
    imp = places_sub.add_parser(
        "import", help="load spots from a text file: one name a line (or the first CSV column)"
    )
    imp.add_argument("file", type=existing_file)
    imp.add_argument("--compound", required=True, help="compound name as in the roster")
    imp.set_defaults(handler=cmd_places_import)
    lst = places_sub.add_parser("list", help="print every place with its code and deep link")
    lst.add_argument("--compound", required=True)
    lst.set_defaults(handler=cmd_places_list)

    posters = subparsers.add_parser("posters", help="printable A4 PDF of QR posters, one page per place")
    posters.add_argument("--compound", required=True)
    posters.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    posters.add_argument(
        "--kinds",
        default="building,unit,spot",
        help="which places: any of building,unit,spot (comma separated)",
    )
    posters.set_defaults(handler=cmd_posters)

    rep = subparsers.add_parser("repairs", help="repairs settings")
    rep_sub = rep.add_subparsers(dest="repairs_command", required=True)
    policy = rep_sub.add_parser("policy", help="show or change a compound's repair settings")
    policy.add_argument("--compound", required=True)
    policy.add_argument("--daily-limit", type=int)
    policy.add_argument("--urge-hours", type=int)
    policy.add_argument("--auto-close-days", type=int)
    policy.add_argument("--honour-board", choices=("on", "off"))
    policy.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="KIND:URGENCY=ACCEPT,RESOLVE",
        help="minutes to accept and to resolve, e.g. elevator:urgent=15,240 or *:emergency=10,120",
    )
    policy.set_defaults(handler=cmd_policy)


async def _with_uow(settings: Settings, work: Any) -> Any:
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWorkFactory

    engine = make_engine(settings.database_url)
    try:
        return await work(UnitOfWorkFactory(make_sessionmaker(engine)))
    finally:
        await engine.dispose()


def _run(settings: Settings, work: Any) -> Any:
    """Runs the work; a refusal is printed in the default language and becomes exit code 1."""
    from bot.db.migrate import upgrade
    from bot.services.errors import UserFacingError

    upgrade(settings.database_url)
    try:
        return asyncio.run(_with_uow(settings, work))
    except UserFacingError as error:
        Console(settings).refuse(error)
        return None


def read_place_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        name = line.split(",")[0].strip()
        if name and not name.startswith("#") and name not in ("name", "名称", "地点"):
            names.append(name)
    return names


def cmd_places_import(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.repairs import compound_id_by_name, ensure_places

    names = read_place_names(args.file)

    async def work(factory: Any) -> Any:
        compound_id = await compound_id_by_name(factory(), args.compound)
        return await ensure_places(factory(), compound_id, names, now())

    places = _run(settings, work)
    if places is None:
        return 1
    for place in places:
        print(f"{place.code}\t{place.name}")
    return 0


def cmd_places_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.invites import deep_link
    from bot.services.repairs import compound_id_by_name, ensure_building_places

    async def work(factory: Any) -> Any:
        compound_id = await compound_id_by_name(factory(), args.compound)
        return await ensure_building_places(factory(), compound_id, now())

    places = _run(settings, work)
    if places is None:
        return 1
    for place in places:
        link = deep_link(settings.bot_username, "rp_" + place.code)
        kind = Console(settings).text(f"cli.place_{place.kind}")
        print("\t".join((place.code, kind, place.name, link)))
    return 0


def cmd_posters(args: argparse.Namespace, settings: Settings) -> int:
    from bot.i18n import default_translator
    from bot.services.invites import deep_link
    from bot.services.repairs import compound_id_by_name, poster_places
    from bot.services.repairs_posters import Poster, PosterText, render_posters

    kinds = {k.strip() for k in args.kinds.split(",") if k.strip()}

    async def work(factory: Any) -> Any:
        compound_id = await compound_id_by_name(factory(), args.compound)
        return await poster_places(factory(), compound_id, now())

    result = _run(settings, work)
    if result is None:
        return 1
    places, phone = result
    t = default_translator()
    lang = settings.default_language
    posters = [
        Poster(p.name, deep_link(settings.bot_username, "rp_" + p.code), args.compound, phone)
        for p in places
        if p.kind in kinds
    ]
    if not posters:
        print(t(lang, "repairs.posters_none"), file=sys.stderr)
        return 1
    text = PosterText(
        t(lang, "repairs.poster_title"),
        t(lang, "repairs.poster_steps"),
        t(lang, "repairs.poster_phone"),
        t(lang, "repairs.poster_no_phone"),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(render_posters(posters, text))
    Console(settings).say("cli.posters_written", count=len(posters), path=args.out.name)
    return 0


def _parse_limit(text: str) -> tuple[str, tuple[int, int]]:
    key, _, minutes = text.partition("=")
    accept_text, _, resolve_text = minutes.partition(",")
    try:
        return key.strip(), (int(accept_text), int(resolve_text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad --limit {text!r}: use KIND:URGENCY=ACCEPT,RESOLVE") from exc


def cmd_policy(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.repairs import compound_id_by_name, set_policy

    try:
        limits = dict(_parse_limit(item) for item in args.limit)
    except argparse.ArgumentTypeError:
        return Console(settings).fail("cli.bad_limit", value=", ".join(args.limit))

    async def work(factory: Any) -> Any:
        compound_id = await compound_id_by_name(factory(), args.compound)
        return await set_policy(
            factory(),
            compound_id,
            daily_limit=args.daily_limit,
            urge_hours=args.urge_hours,
            auto_close_days=args.auto_close_days,
            honour_board=None if args.honour_board is None else args.honour_board == "on",
            limits=limits or None,
        )

    view = _run(settings, work)
    if view is None:
        return 1
    console = Console(settings)
    console.say(
        "cli.policy",
        daily_limit=view.daily_limit,
        urge_hours=view.urge_hours,
        auto_close_days=view.auto_close_days,
        honour_board=console.text("cli.on" if view.honour_board else "cli.off"),
    )
    for key, (accept, resolve) in sorted(view.limits.items()):
        console.say("cli.policy_limit", kind=key, accept=accept, resolve=resolve)
    return 0

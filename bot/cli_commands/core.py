"""redbutler run | db upgrade/downgrade | import roster | invite."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import Console, existing_file, now
from bot.config import Settings
from bot.logging_setup import configure_logging


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run", help="run the bot (long polling, webhook when configured; no token: local emulator)"
    )
    run.set_defaults(handler=cmd_run)

    db = subparsers.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="upgrade the database to the newest schema")
    up.add_argument("revision", nargs="?", default="heads")
    up.set_defaults(handler=cmd_db_upgrade)
    down = db_sub.add_parser("downgrade", help="downgrade the database (default: to base)")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(handler=cmd_db_downgrade)

    imp = subparsers.add_parser("import", help="import data files")
    imp_sub = imp.add_subparsers(dest="import_command", required=True)
    roster = imp_sub.add_parser("roster", help="import the roster spreadsheet (.xlsx or .csv)")
    roster.add_argument("file", type=existing_file)
    roster.set_defaults(handler=cmd_import_roster)

    invite = subparsers.add_parser("invite", help="print invite codes and deep links")
    invite.add_argument("--compound", required=True, help="compound name as in the roster")
    invite.add_argument("--building")
    invite.add_argument("--unit")
    invite.add_argument("--room")
    invite.add_argument(
        "--role", help="a role as the roster writes it: 巡逻志愿者, 红管家... (or patrol, butler)"
    )
    invite.add_argument("--phone", help="a roster person's phone (binds their staff record)")
    invite.add_argument("--max-uses", type=int)
    invite.add_argument("--days", type=int, default=30, help="days the code stays valid (0: forever)")
    invite.add_argument(
        "--qr-dir",
        type=Path,
        help="also write a QR PNG per invite, named after what it binds, and 邀请卡.pdf to print and cut",
    )
    invite.set_defaults(handler=cmd_invite)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade

    upgrade(settings.database_url, args.revision)
    Console(settings).say("cli.db_upgraded", revision=args.revision)
    return 0


def cmd_db_downgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import downgrade

    downgrade(settings.database_url, args.revision)
    Console(settings).say("cli.db_downgraded", revision=args.revision)
    return 0


async def _with_uow(settings: Settings, work: Any) -> Any:
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWork

    engine = make_engine(settings.database_url)
    try:
        return await work(UnitOfWork(make_sessionmaker(engine)))
    finally:
        await engine.dispose()


def cmd_import_roster(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade
    from bot.services.roster import import_roster, read_tables

    console = Console(settings)
    t, language = console.translator, console.language
    try:
        tables = read_tables(args.file)
    except ValueError as exc:
        return console.fail(str(exc))
    upgrade(settings.database_url)
    report = asyncio.run(_with_uow(settings, lambda uow: import_roster(uow, tables, now())))
    if not report.ok:
        console.fail("roster.rejected", count=len(report.problems))
        for line in report.render(t, language):
            print(line, file=sys.stderr)
        return 1
    if not report.changed:
        console.say("roster.unchanged")
        return 0
    created = report.render_counts(t, language, report.created)
    updated = report.render_counts(t, language, report.updated)
    console.say("roster.imported", created=created, updated=updated)
    return 0


def cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade
    from bot.services.errors import UserFacingError
    from bot.services.invites import create_invites

    upgrade(settings.database_url)

    async def work(uow: Any) -> Any:
        return await create_invites(
            uow,
            bot_username=settings.bot_username,
            compound_name=args.compound,
            now=now(),
            building=args.building,
            unit=args.unit,
            room=args.room,
            role=args.role,
            phone=args.phone,
            max_uses=args.max_uses,
            valid_days=args.days or None,
        )

    console = Console(settings)
    try:
        invites = asyncio.run(_with_uow(settings, work))
    except UserFacingError as error:
        return console.refuse(error)
    for invite in invites:
        label = console.role(invite.role) if invite.kind == "role" and invite.role else invite.label
        print(f"{invite.code}\t{label}\t{invite.link}")
    if args.qr_dir is not None:
        _write_invite_cards(console, args.qr_dir, args.compound, invites)
    return 0


def invite_place(console: Any, invite: Any) -> str:
    """What an invite binds, as a file name and a card title: 3栋-2单元-501, 巡逻志愿者, 老马."""
    if invite.kind == "role" and invite.role:
        return str(console.role(invite.role))
    return "-".join(invite.parts) or invite.label


def _write_invite_cards(console: Any, directory: Path, compound: str, invites: list[Any]) -> None:
    from bot.services.repairs_posters import InviteCard, qr_png, render_invite_cards

    directory.mkdir(parents=True, exist_ok=True)
    cards = []
    for invite in invites:
        place = invite_place(console, invite)
        safe = "".join("_" if c in '/\\:*?"<>|' else c for c in place)
        (directory / f"{safe}_{invite.code}.png").write_bytes(qr_png(invite.link, invite.code))
        cards.append(InviteCard(place.replace("-", " "), invite.code, invite.link))
    sheet = directory / console.text("cli.invite_cards_file")
    sheet.write_bytes(render_invite_cards(cards, compound, console.text("cli.invite_card_hint")))
    console.say("cli.invite_cards_written", count=len(cards), path=str(directory), sheet=sheet.name)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_level)
    from bot.db.migrate import upgrade_if_behind

    upgrade_if_behind(settings.database_url)
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        from bot.cli_commands.local import run_local

        return run_local(settings, seed=False)
    from bot.app import build_application
    from bot.runner import serve, wait_for_signal

    return int(asyncio.run(serve(settings, lambda: build_application(settings), wait_for_signal)))

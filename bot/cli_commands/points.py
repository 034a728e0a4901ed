"""redbutler points audit | points import-catalogue FILE | export points | export redemptions."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli import Console, existing_file, now, parse_month
from bot.config import Settings


def register(subparsers: Any) -> None:
    pts = subparsers.add_parser("points", help="volunteer points: audit the ledger, load the catalogue")
    pts_sub = pts.add_subparsers(dest="points_command", required=True)
    audit = pts_sub.add_parser("audit", help="prove every balance equals its ledger (exit 1 otherwise)")
    audit.set_defaults(handler=cmd_audit)
    cat = pts_sub.add_parser(
        "import-catalogue", help="load earning rules, partners and services (.yaml or .xlsx)"
    )
    cat.add_argument("file", type=existing_file)
    cat.add_argument("--compound", required=True, help="compound name as in the roster")
    cat.set_defaults(handler=cmd_import_catalogue)

    # `export` may be registered by another capability too: share one parser.
    export = _subparser(subparsers, "export", "export reports")
    export_sub = _subactions(export, "export_command")
    points = export_sub.add_parser(
        "points", help="issued, redeemed and outstanding points per compound and month"
    )
    points.add_argument("--compound", help="only this compound")
    points.add_argument("--out", type=Path, help="write .xlsx or .csv here (default: CSV on stdout)")
    points.set_defaults(handler=cmd_export_points)
    red = export_sub.add_parser(
        "redemptions", help="merchants' settlement list: used vouchers by partner and month"
    )
    red.add_argument("--month", help="2026-11 or 11月 (this year)")
    red.add_argument("--partner", help="only this partner")
    red.add_argument("--out", type=Path, help="write .xlsx or .csv here (default: CSV on stdout)")
    red.set_defaults(handler=cmd_export_redemptions)


def _subparser(subparsers: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    existing = subparsers.choices.get(name)
    if existing is not None:
        return existing  # type: ignore[no-any-return]
    return subparsers.add_parser(name, help=help_text)  # type: ignore[no-any-return]


def _subactions(parser: argparse.ArgumentParser, dest: str) -> Any:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=dest, required=True)


async def _run(settings: Settings, work: Any) -> Any:
    from bot.db.engine import make_engine, make_sessionmaker
    from bot.db.uow import UnitOfWork

    engine = make_engine(settings.database_url)
    try:
        return await work(UnitOfWork(make_sessionmaker(engine)))
    finally:
        await engine.dispose()


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_reports import audit

    console = Console(settings)
    report = asyncio.run(_run(settings, audit))
    console.say(
        "cli.audit_counts", accounts=report.accounts, entries=report.entries, vouchers=report.vouchers
    )
    if report.ok:
        console.say("cli.audit_ok")
        return 0
    for problem in report.problems:
        console.fail("cli.audit_problem", problem=problem.render(console.translator, console.language))
    return 1


def cmd_import_catalogue(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_catalogue import import_catalogue

    console = Console(settings)
    report = asyncio.run(_run(settings, lambda uow: import_catalogue(uow, args.compound, args.file, now())))
    if not report.ok:
        console.fail("cli.catalogue_rejected", count=len(report.problems))
        for problem in report.problems:
            print(f"  {problem.render(console.translator, console.language)}", file=sys.stderr)
        return 1
    console.say(
        "cli.catalogue_imported",
        rules=report.rules,
        partners=report.partners,
        services=report.services,
        merchants=report.merchants,
    )
    return 0


def cmd_export_points(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_reports import points_by_month

    console = Console(settings)
    figures = asyncio.run(_run(settings, lambda uow: points_by_month(uow, args.compound)))
    header = [
        console.text(f"cli.col_{name}")
        for name in ("compound", "month", "issued", "redeemed", "held", "outstanding")
    ]
    rows: list[list[object]] = [
        [f.compound, f.month, f.issued, f.redeemed, f.held, f.outstanding] for f in figures
    ]
    console.write_table(header, rows, args.out, console.text("cli.sheet_points"))
    return 0


def cmd_export_redemptions(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_reports import redemptions

    console = Console(settings)
    month = None
    if args.month:
        month = parse_month(args.month, now())
        if month is None:
            return console.fail("cli.bad_month", value=args.month)
    found = asyncio.run(_run(settings, lambda uow: redemptions(uow, month=month, partner_name=args.partner)))
    header = [
        console.text(f"cli.col_{name}")
        for name in ("compound", "partner", "month", "used_at", "code", "service", "points", "verified_by")
    ]
    rows: list[list[object]] = [
        [r.compound, r.partner, r.month, r.used_at, r.code, r.service, r.points, r.verified_by] for r in found
    ]
    console.write_table(header, rows, args.out, console.text("cli.sheet_redemptions"))
    return 0

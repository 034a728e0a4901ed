"""redbutler points audit | points import-catalogue FILE | export points | export redemptions."""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path
from typing import Any

from bot.cli import existing_file, now
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
    red.add_argument("--month", help="YYYY-MM")
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

    report = asyncio.run(_run(settings, audit))
    print(f"accounts: {report.accounts}, entries: {report.entries}, vouchers: {report.vouchers}")
    if report.ok:
        print("OK: every balance equals the sum of its ledger")
        return 0
    for problem in report.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1


def cmd_import_catalogue(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_catalogue import import_catalogue

    report = asyncio.run(_run(settings, lambda uow: import_catalogue(uow, args.compound, args.file, now())))
    if not report.ok:
        print("nothing imported:", file=sys.stderr)
        for problem in report.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(
        f"rules: {report.rules}, partners: {report.partners}, services: {report.services}, "
        f"merchants bound: {report.merchants}"
    )
    return 0


def _write(header: list[str], rows: list[list[object]], out: Path | None, title: str) -> None:
    if out is not None and out.suffix.lower() == ".xlsx":
        from bot.services.points_reports import table_xlsx

        out.write_bytes(table_xlsx(header, rows, title))
        print(f"written: {out} ({len(rows)} rows)")
        return
    handle = out.open("w", newline="", encoding="utf-8-sig") if out is not None else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    finally:
        if out is not None:
            handle.close()
            print(f"written: {out} ({len(rows)} rows)")


def cmd_export_points(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_reports import points_by_month

    figures = asyncio.run(_run(settings, lambda uow: points_by_month(uow, args.compound)))
    header = ["compound", "month", "issued", "redeemed", "held", "outstanding"]
    rows: list[list[object]] = [
        [f.compound, f.month, f.issued, f.redeemed, f.held, f.outstanding] for f in figures
    ]
    _write(header, rows, args.out, "points")
    return 0


def cmd_export_redemptions(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services.points_reports import redemptions

    found = asyncio.run(
        _run(settings, lambda uow: redemptions(uow, month=args.month, partner_name=args.partner))
    )
    header = ["compound", "partner", "month", "used_at", "code", "service", "points", "verified_by"]
    rows: list[list[object]] = [
        [r.compound, r.partner, r.month, r.used_at, r.code, r.service, r.points, r.verified_by] for r in found
    ]
    _write(header, rows, args.out, "redemptions")
    return 0

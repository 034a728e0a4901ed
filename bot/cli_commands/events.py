"""redbutler import events FILE.xlsx (all rows or none)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli import Console, existing_file, now
from bot.cli_commands.patrols import _run, nested
from bot.config import Settings


def register(subparsers: Any) -> None:
    imports = nested(subparsers, "import", "import data files", "import_command")
    events = imports.add_parser(
        "events",
        help="import events from .xlsx: 小区 标题 开始 结束 地点 人数 对象 类型 重复 (first row: headers)",
    )
    events.add_argument("file", type=existing_file)
    events.set_defaults(handler=cmd_import_events)


def read_rows(path: Any) -> list[dict[str, object]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return []
    headers = [str(h).strip() if h is not None else "" for h in rows[0]]
    out = []
    for values in rows[1:]:
        if values is None or all(v in (None, "") for v in values):
            continue
        out.append({headers[i]: v for i, v in enumerate(values) if i < len(headers) and headers[i]})
    return out


def cmd_import_events(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade
    from bot.services.events import import_events

    console = Console(settings)
    try:
        rows = read_rows(args.file)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return console.fail("roster.not_a_spreadsheet")
    if not rows:
        return console.fail("cli.events_empty")
    upgrade(settings.database_url)
    report = _run(settings, lambda f: import_events(f(), console.translator, rows, now()))
    if not report.ok:
        console.fail("cli.events_rejected", count=len(report.problems))
        for number, problem in report.problems:
            print(console.text("cli.events_problem", row=number, problem=problem), file=sys.stderr)
        return 1
    console.say("cli.events_imported", count=report.created)
    return 0

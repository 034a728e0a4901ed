"""redbutler vote create|ballots|result|audit|export, and redbutler import owners FILE.xlsx.

A stable contract scripts rely on: `vote create` prints the vote id alone on its line; `vote result --json`
prints one JSON object; a refusal exits 1 with the reason in the operator's language on stderr.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli import Console, existing_file, now
from bot.cli_commands.events import read_rows
from bot.cli_commands.patrols import _run, nested
from bot.config import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def register(subparsers: Any) -> None:
    vote = subparsers.add_parser("vote", help="owners' assembly votes (业主大会表决)")
    sub = vote.add_subparsers(dest="vote_command", required=True)
    create = sub.add_parser("create", help="create a vote; prints its id")
    create.add_argument("--compound", required=True)
    create.add_argument("--title", required=True)
    create.add_argument("--matter", required=True, choices=("ordinary", "special"))
    create.add_argument("--opens", required=True, help='local time, "2026-12-20 09:00"')
    create.add_argument("--closes", required=True, help='local time, "2027-01-05 18:00"')
    create.add_argument(
        "--notice-days", type=int, default=15, help="days of notice before opening (default 15)"
    )
    create.add_argument(
        "--document",
        action="append",
        type=existing_file,
        default=[],
        help="a document of the vote (repeat for each); its name and SHA-256 are kept as evidence",
    )
    create.set_defaults(handler=cmd_create)
    ballots = sub.add_parser(
        "ballots", help="import paper ballots: 楼栋,单元,房号,选项[,委托人] (all or none)"
    )
    ballots.add_argument("vote_id", type=int)
    ballots.add_argument("file", type=existing_file)
    ballots.add_argument("--entered-by", help="who typed the paper ballots in")
    ballots.add_argument("--scrutineer", help="the second person who checked them (监票)")
    ballots.set_defaults(handler=cmd_ballots)
    result = sub.add_parser("result", help="the count so far, or the result once closed")
    result.add_argument("vote_id", type=int)
    result.add_argument("--json", action="store_true", help="one JSON object (for scripts)")
    result.set_defaults(handler=cmd_result)
    audit = sub.add_parser("audit", help="recount from the ballots and check every ballot row")
    audit.add_argument("vote_id", type=int)
    audit.set_defaults(handler=cmd_audit)
    export = sub.add_parser("export", help="the full evidence as .xlsx")
    export.add_argument("vote_id", type=int)
    export.add_argument("--out", type=Path, help="where to write (default vote-ID.xlsx)")
    export.set_defaults(handler=cmd_export)

    imports = nested(subparsers, "import", "import data files", "import_command")
    owners = imports.add_parser(
        "owners", help="who owns each home, .xlsx: 小区 楼栋 单元 房号 姓名 手机 身份"
    )
    owners.add_argument("file", type=existing_file)
    owners.set_defaults(handler=cmd_import_owners)


def _list_problems(console: Console, key: str, problems: list[Any]) -> int:
    """The refusal line, then each problem in the operator's language; the exit code 1."""
    console.fail(key, count=len(problems))
    for problem in problems:
        print(console.text(problem.key, **problem.values), file=sys.stderr)
    return 1


def _fingerprint(path: Path) -> dict[str, str]:
    """What proves later which document the owners were shown: its name and SHA-256."""
    import hashlib

    return {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _refusals_printed(command: Command) -> Command:
    """A service's refusal (UserFacingError) is printed in the operator's language; the exit code is 1."""

    @functools.wraps(command)
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from bot.services.errors import UserFacingError

        try:
            return command(args, settings)
        except UserFacingError as error:
            return Console(settings).refuse(error)

    return run


def _prepare(settings: Settings) -> None:
    from bot.db.migrate import upgrade

    upgrade(settings.database_url)


@_refusals_printed
def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import votes

    _prepare(settings)
    vote_id = _run(
        settings,
        lambda f: votes.create_vote(
            f(),
            compound=args.compound,
            title=args.title,
            matter=args.matter,
            opens=args.opens,
            closes=args.closes,
            notice_days=args.notice_days,
            documents=[_fingerprint(path) for path in args.document],
            now=now(),
        ),
    )
    print(vote_id)
    return 0


def _read_ballot_sheet(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if path.suffix.lower() == ".xlsx":
        rows = read_rows(path)
        header = list(rows[0].keys()) if rows else []
        return header, [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # Excel on a Chinese Windows saves CSV as GBK
        text = raw.decode("gb18030")
    lines = [line for line in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in line)]
    if not lines:
        return [], []
    header = [h.strip() for h in lines[0]]
    return header, [dict(zip(header, line, strict=False)) for line in lines[1:]]


@_refusals_printed
def cmd_ballots(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import votes_paper

    console = Console(settings)
    try:
        header, rows = _read_ballot_sheet(args.file)
    except (UnicodeDecodeError, csv.Error, OSError):
        return console.fail("votes.cli_unreadable")
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return console.fail("roster.not_a_spreadsheet")
    if not votes_paper.check_ballot_header(header):
        return console.fail("votes.cli_bad_header", header="楼栋,单元,房号,选项[,委托人]")
    if not rows:
        return console.fail("votes.cli_no_rows")
    _prepare(settings)
    report = _run(
        settings,
        lambda f: votes_paper.import_paper(
            f(), args.vote_id, rows, now(), entered_by=args.entered_by, confirmed_by=args.scrutineer
        ),
    )
    if not report.ok:
        return _list_problems(console, "votes.cli_ballots_rejected", report.problems)
    console.say("votes.cli_ballots_recorded", count=report.recorded, replaced=report.replaced)
    return 0


@_refusals_printed
def cmd_result(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import votes

    console = Console(settings)
    _prepare(settings)
    outcome = _run(settings, lambda f: votes.result(f(), args.vote_id, now()))
    figures = votes.result_json(outcome)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    for line in votes.result_lines(console.translator, console.language, outcome):
        print(line)
    return 0


@_refusals_printed
def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import votes, votes_evidence

    console = Console(settings)
    _prepare(settings)
    report = _run(settings, lambda f: votes_evidence.audit(f(), args.vote_id))
    console.say("votes.cli_audit_counted", ballots=report.ballots, homes=report.homes_voted)
    tally = report.tally
    console.say(
        "votes.cli_audit_figures",
        area=votes.square_metres(tally.participated.area),
        owners=tally.participated.owners,
        yes_area=votes.square_metres(tally.options["yes"].area),
        yes_owners=tally.options["yes"].owners,
    )
    if report.ok:
        console.say("votes.cli_audit_clean")
        return 0
    return _list_problems(console, "votes.cli_audit_problems", report.problems)


@_refusals_printed
def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import votes_evidence

    console = Console(settings)
    _prepare(settings)
    data = _run(
        settings,
        lambda f: votes_evidence.export_evidence(
            f(), args.vote_id, now(), console.translator, console.language
        ),
    )
    out: Path = args.out or Path(f"vote-{args.vote_id}.xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    console.say("votes.cli_exported", path=str(out))
    return 0


def cmd_import_owners(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import votes_paper

    console = Console(settings)
    try:
        rows = read_rows(args.file)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return console.fail("roster.not_a_spreadsheet")
    if not rows:
        return console.fail("votes.cli_no_rows")
    _prepare(settings)
    report = _run(settings, lambda f: votes_paper.import_owners(f(), rows, now()))
    if not report.ok:
        return _list_problems(console, "votes.cli_owners_rejected", report.problems)
    console.say("votes.cli_owners_imported", count=report.created)
    return 0

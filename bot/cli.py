"""`redbutler` command line. Each capability adds its subcommands through CLI_MODULES."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings

# Modules with `register(subparsers)`; each adds its own subcommands.
CLI_MODULES: list[str] = [
    "bot.cli_commands.core",
    "bot.cli_commands.local",
    "bot.cli_commands.repairs",
    "bot.cli_commands.law",
    "bot.cli_commands.routing",
    "bot.cli_commands.patrols",
    "bot.cli_commands.events",
    "bot.cli_commands.points",
    "bot.cli_commands.votes",
    "bot.cli_commands.bench_reminders",
    "bot.cli_commands.bench_crash",
    "bot.cli_commands.bench_e2e",
    "bot.cli_commands.inbox",
    "bot.cli_commands.stats",
]


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Every command; or, given the arguments, only as far as the modules that define the command asked for
    when it is a plain one (no subcommands that other modules may add to, as they do to ``bench``)."""
    parser = argparse.ArgumentParser(prog="redbutler", description="红管家 RedButler")
    subparsers = parser.add_subparsers(dest="command", required=True)
    wanted = argv[0] if argv else None
    for name in CLI_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
        chosen = subparsers.choices.get(wanted) if wanted else None
        if chosen is not None and not chosen._subparsers:
            # `redbutler run` lives for weeks: the other commands' modules (benches, exports) would stay
            # imported all that time, about 1 MB.
            break
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a bad argument already explained on stderr
        return int(stop.code or 0)
    del parser  # nor the parser and its help texts
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    settings = Settings()
    return int(handler(args, settings) or 0)


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)


def now() -> datetime:
    return datetime.now(UTC)


def text_inputs(words: list[str]) -> Iterator[str]:
    """The message given on the command line, or one per non-blank line of stdin when none is given."""
    if words:
        yield " ".join(words)
        return
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(Console(Settings()).text("cli.no_such_file", path=text))
    return path


_MONTH_PATTERNS = (
    re.compile(r"^(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*月?$"),
    re.compile(r"^(?P<month>\d{1,2})\s*月?$"),
)


def parse_month(text: str, today: datetime) -> str | None:
    """ "2026-11", "2026/11", "2026年11月", "11月" or "11" → "2026-11"; a month alone is the latest such month
    (November asked in March is last November). None when it is not a month."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        month = int(match["month"])
        if not 1 <= month <= 12:
            return None
        year = int(match["year"]) if "year" in match.groupdict() and match["year"] else today.year
        if "year" not in match.groupdict() and month > today.month:
            year -= 1
        return f"{year:04d}-{month:02d}"
    return None


class Console:
    """What a command prints, in the operator's language (REDBUTLER_DEFAULT_LANGUAGE, Chinese by default):
    every line comes from the `cli` catalogue, never a raw message key."""

    def __init__(self, settings: Settings) -> None:
        from bot.i18n import default_translator

        self.translator = default_translator()
        self.language = settings.default_language

    def text(self, key: str, **values: object) -> str:
        return self.translator(self.language, key, **values)

    def say(self, key: str, **values: object) -> None:
        print(self.text(key, **values))

    def fail(self, key: str, **values: object) -> int:
        print(self.text(key, **values), file=sys.stderr)
        return 1

    def refuse(self, error: Any) -> int:
        """A service's UserFacingError, rendered like the bot renders it to a person."""
        return self.fail(error.key, **error.values)

    def role(self, role: str) -> str:
        return self.text(f"role.{role}")

    def write_table(self, header: list[str], rows: list[list[object]], out: Path | None, title: str) -> None:
        """An .xlsx (sheet `title`) or a UTF-8 CSV Excel opens; stdout when no file is given."""
        import csv

        if out is not None and out.suffix.lower() == ".xlsx":
            from bot.services.points_reports import table_xlsx

            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(table_xlsx(header, rows, title))
        else:
            handle = out.open("w", newline="", encoding="utf-8-sig") if out is not None else sys.stdout
            try:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
            finally:
                if out is not None:
                    handle.close()
        if out is not None:
            self.say("cli.written", path=out.name, count=len(rows))


if __name__ == "__main__":
    sys.exit(main())

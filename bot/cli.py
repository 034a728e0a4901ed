"""`redbutler` command line. Each capability adds its subcommands through CLI_MODULES."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence
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
    "bot.cli_commands.patrols",
    "bot.cli_commands.events",
    "bot.cli_commands.points",
    "bot.cli_commands.bench_reminders",
    "bot.cli_commands.bench_crash",
    "bot.cli_commands.inbox",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redbutler", description="红管家 RedButler")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in CLI_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] = args.handler
    settings = Settings()
    return int(handler(args, settings) or 0)


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)


def now() -> datetime:
    return datetime.now(UTC)


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


if __name__ == "__main__":
    sys.exit(main())

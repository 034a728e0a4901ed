"""redbutler inbox failed | retry ID | drop ID: the updates the bot moved aside."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.cli import now
from bot.cli_commands.core import _with_uow
from bot.config import Settings


def register(subparsers: Any) -> None:
    inbox = subparsers.add_parser("inbox", help="updates the bot could not handle (quarantined)")
    sub = inbox.add_subparsers(dest="inbox_command", required=True)
    failed = sub.add_parser("failed", help="list quarantined updates with their error")
    failed.set_defaults(handler=cmd_failed)
    retry = sub.add_parser("retry", help="put a quarantined update back in line (the running bot takes it)")
    retry.add_argument("update_id", type=int)
    retry.set_defaults(handler=cmd_retry)
    drop = sub.add_parser("drop", help="give up on a quarantined update")
    drop.add_argument("update_id", type=int)
    drop.set_defaults(handler=cmd_drop)


def cmd_failed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import inbox

    rows = asyncio.run(_with_uow(settings, inbox.failed_updates))
    if not rows:
        print("no quarantined updates")
        return 0
    print("update_id\treceived (UTC)\tkind\tchat\ttries\terror")
    for row in rows:
        print(
            f"{row.update_id}\t{row.received_at:%Y-%m-%d %H:%M}\t{row.kind}\t{row.chat_id or '-'}\t"
            f"{row.attempts}\t{row.error}"
        )
    return 0


def _change(settings: Settings, action: Any, update_id: int, done: str) -> int:
    from bot.i18n import default_translator
    from bot.services.errors import UserFacingError

    try:
        asyncio.run(_with_uow(settings, lambda uow: action(uow, update_id, now())))
    except UserFacingError as error:
        print(default_translator()(settings.default_language, error.key, **error.values), file=sys.stderr)
        return 1
    print(done.format(update_id=update_id))
    return 0


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import inbox

    return _change(settings, inbox.retry, args.update_id, "update {update_id} is back in line")


def cmd_drop(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import inbox

    return _change(settings, inbox.drop, args.update_id, "update {update_id} dropped")

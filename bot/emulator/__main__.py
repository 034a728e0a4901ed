"""Run the local Telegram alone: ``python -m bot.emulator [--port 8081] [--preset "501:王阿姨:业主"]``.

Point a bot at it with ``REDBUTLER_TELEGRAM_BASE_URL=http://127.0.0.1:8081/bot`` and open the printed URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.emulator.core import TelegramWorld
from bot.emulator.server import start_emulator


def _preset(text: str) -> dict[str, object]:
    user_id, _, rest = text.partition(":")
    name, _, description = rest.partition(":")
    if not user_id.isdigit() or not name:
        raise argparse.ArgumentTypeError("preset looks like 501:王阿姨:3栋2单元501 业主")
    return {"user_id": int(user_id), "name": name, "description": description}


async def _serve(args: argparse.Namespace) -> None:
    world = TelegramWorld(bot_username=args.bot_username, flood_limits=args.flood_limits)
    server = await start_emulator(world, args.host, args.port, presets=args.preset, token=args.token)
    print(f"本地 Telegram 已启动：{server.chat_url}")
    print(f"Bot API：{server.base_url}<token>/<method>")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.emulator", description="local Telegram Bot API emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--token", default=None, help="accept only this bot token (default: any well-formed one)"
    )
    parser.add_argument("--bot-username", default="RedButlerBot")
    parser.add_argument(
        "--flood-limits", action="store_true", help="answer 429 like Telegram's flood control"
    )
    parser.add_argument(
        "--preset", type=_preset, action="append", default=[], help="user_id:name:description"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()

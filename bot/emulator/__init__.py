"""A local Telegram: the Bot API emulator core, an in-process PTB transport, an HTTP server and a web chat."""

from bot.emulator.core import BotApiError, ConnectionDropped, Message, TelegramWorld, make_png
from bot.emulator.transport import EmulatorRequest

__all__ = ["BotApiError", "ConnectionDropped", "EmulatorRequest", "Message", "TelegramWorld", "make_png"]

"""An in-memory Telegram: users, chats, messages, files and the Bot API methods the bot uses.

Nothing here touches the network. Split by responsibility:

- ``bot.emulator.state``: ``WorldState``, the people, chats, messages and files, and the public read API tests
  use (``chat_history``, ``bot_messages``, ``message``, ``callback_answer``, ``commands_for``, ...);
- ``bot.emulator.updates``: what people do (``user_sends_text``, ``user_presses``, ...) and the update queue;
- ``bot.emulator.botapi``: ``TelegramWorld.call(method, params)``, the Bot API methods the bot calls.

This module keeps the names the rest of the code imports.
"""

from bot.emulator.botapi import TelegramWorld
from bot.emulator.state import (
    JSON,
    TINY_PNG,
    BotApiError,
    CommandScopeKey,
    ConnectionDropped,
    FileTuple,
    Message,
    StoredFile,
    detect_entities,
    make_png,
)

__all__ = [
    "JSON",
    "TINY_PNG",
    "BotApiError",
    "CommandScopeKey",
    "ConnectionDropped",
    "FileTuple",
    "Message",
    "StoredFile",
    "TelegramWorld",
    "detect_entities",
    "make_png",
]

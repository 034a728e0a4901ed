"""A local Telegram: the Bot API emulator core, an in-process PTB transport, an HTTP server and a web chat.

- ``core.TelegramWorld``: users, chats, messages and files in memory (``state.py``, with the read API tests
  use); the ``user_*`` methods play what people do and queue updates (``updates.py``);
  ``await world.call(method, params)`` answers the Bot API methods the bot uses with Telegram's JSON or
  raises ``BotApiError`` with Telegram's error text (``botapi.py``); ``inject_fault`` and ``flood_limits``
  make it fail the way Telegram does.
- ``transport.EmulatorRequest``: a ``telegram.request.BaseRequest`` so a PTB ``Bot``/``Application`` talks
  to a world in-process.
- ``server.start_emulator``: the same over HTTP (``/bot<token>/<method>``, ``/file/bot<token>/<path>``,
  long polling and webhooks) plus the web chat at ``/ui/``. ``python -m bot.emulator`` runs it alone.
"""

from bot.emulator.core import BotApiError, ConnectionDropped, Message, TelegramWorld, make_png
from bot.emulator.transport import EmulatorRequest

__all__ = ["BotApiError", "ConnectionDropped", "EmulatorRequest", "Message", "TelegramWorld", "make_png"]

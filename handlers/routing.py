"""Free text in a private chat goes to the capability it is about ("厨房水管漏水了" → a repair report).

Capabilities use `IntentFilter("repair")` in their conversation's entry points; the router itself lives in
knowledge/ (via bot.services.routing). A message is routed once and the answer reused by every filter.
"""

from __future__ import annotations

from collections import OrderedDict

from telegram import Message
from telegram.ext import filters

from bot.services.routing import route_text

_CACHE_SIZE = 256
# Keyed by the text too: an edited message, or a fresh emulator reusing message ids, is routed anew.
_cache: OrderedDict[tuple[int, int, str], str] = OrderedDict()


def intent_of(message: Message) -> str:
    key = (message.chat_id, message.message_id, message.text or "")
    intent = _cache.get(key)
    if intent is None:
        intent = route_text(message.text).intent
        _cache[key] = intent
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return intent


class IntentFilter(filters.MessageFilter):
    def __init__(self, *intents: str) -> None:
        super().__init__(name=f"IntentFilter({', '.join(intents)})")
        self.intents = frozenset(intents)

    def filter(self, message: Message) -> bool:
        if not message.text or message.text.startswith("/"):
            return False
        return intent_of(message) in self.intents

"""Small talk addressed to the bot ("@红管家 谢谢", "@bot hi", "@bot 好的"): a thank-you, a greeting or an
"OK" and nothing else.

Whole messages only: "你好，我家水管漏了" is a repair with a greeting in front, and goes to the router.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MENTION = re.compile(r"@\w+")
# Punctuation, spaces and the friendly marks people add ("谢谢啦~", "thanks!!", "好的😊").
_FILLER = re.compile(r"[\s,.!?~～、，。！？…:：;；\-_*'\"()（）🙂😊😀😄😁🌹💐❤️♥]+")
# By kind, in the order a mixed message is named by ("你好，谢谢" is a thank-you; "好的收到" an OK).
_ZH_WORDS: dict[str, tuple[str, ...]] = {
    "thanks": (
        *("谢谢", "多谢", "感谢", "谢了", "谢啦", "辛苦", "辛苦了", "辛苦啦"),
        *("太感谢了", "非常感谢", "麻烦了", "👍", "🙏", "👏", "💪"),
    ),
    "hello": (
        *("你好", "您好", "大家好", "在吗", "在不在", "早", "早上好", "早安"),
        *("上午好", "中午好", "下午好", "晚上好", "嗨", "哈喽"),
    ),
    "ok": ("好的", "好", "收到", "嗯", "嗯嗯", "知道了", "明白了", "明白", "行", "👌"),
}
# Who is thanked or greeted, and the particles after it ("谢谢您啦", "早上好呀").
_TAIL = "(?:你|您|啦|了|哈|呀|啊|的|红管家|师傅|老师|大家)*"
_EN: dict[str, re.Pattern[str]] = {
    "thanks": re.compile(
        r"^(?:thanks?|thank you|thank u|thx|ty|many thanks|cheers)(?: (?:a lot|so much|very much))?$"
    ),
    "hello": re.compile(r"^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?$"),
    "ok": re.compile(r"^(?:ok|okay|got it|noted|sure|great)$"),
}


def _any(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


_ALL_ZH = tuple(word for words in _ZH_WORDS.values() for word in words)
_ZH = re.compile(f"^(?:{_any(_ALL_ZH)}{_TAIL})+$")


@dataclass(frozen=True)
class SmallTalk:
    kind: str  # "thanks" | "hello" | "ok"
    english: bool


def small_talk(text: str | None) -> SmallTalk | None:
    """A thank-you, a greeting or an OK, with nothing else in the message (the bot's @name is ignored)."""
    if not text:
        return None
    bare = _MENTION.sub(" ", text)
    english = " ".join(_FILLER.sub(" ", bare).lower().split())
    compact = english.replace(" ", "")
    if not compact:
        return None
    if _ZH.match(compact):
        kind = next(k for k, words in _ZH_WORDS.items() if any(w in compact for w in words))
        return SmallTalk(kind, english=False)
    for kind, pattern in _EN.items():
        if pattern.match(english):
            return SmallTalk(kind, english=True)
    return None

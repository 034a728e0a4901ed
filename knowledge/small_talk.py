"""Small talk addressed to the bot ("@红管家 谢谢", "@bot hi"): a thank-you or a greeting and nothing else.

Whole messages only: "你好，我家水管漏了" is a repair with a greeting in front, and goes to the router.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MENTION = re.compile(r"@\w+")
# Punctuation, spaces and the friendly marks people add ("谢谢啦~", "thanks!!", "好的👌").
_FILLER = re.compile(r"[\s,.!?~～、，。！？…:：;；\-_*'\"()（）🙂😊😀😄😁🌹💐❤️♥]+")
_THANKS_ZH_WORDS = (
    *("谢谢", "多谢", "感谢", "谢了", "谢啦", "辛苦", "辛苦了", "辛苦啦"),
    *("太感谢了", "非常感谢", "麻烦了"),
)
_HELLO_ZH_WORDS = (
    *("你好", "您好", "大家好", "在吗", "在不在", "早", "早上好", "早安"),
    *("上午好", "中午好", "下午好", "晚上好", "嗨", "哈喽"),
)
# Who is thanked or greeted, and the particles after it ("谢谢您啦", "早上好呀").
_TAIL = "(?:你|您|啦|了|哈|呀|啊|红管家|师傅|老师|大家)*"


def _any(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"


_THANKS_ZH = re.compile(f"^{_any(_THANKS_ZH_WORDS)}+{_TAIL}$")
_HELLO_ZH = re.compile(f"^{_any(_HELLO_ZH_WORDS)}+{_TAIL}$")
_THANKS_EMOJI = re.compile(r"^(?:👍|🙏|👌|💪|👏)+$")
_THANKS_EN = re.compile(
    r"^(?:thanks?|thank you|thank u|thx|ty|many thanks|cheers)(?: (?:a lot|so much|very much))?$"
)
_HELLO_EN = re.compile(r"^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?$")


@dataclass(frozen=True)
class SmallTalk:
    kind: str  # "thanks" | "hello"
    english: bool


def small_talk(text: str | None) -> SmallTalk | None:
    """A thank-you or a greeting, with nothing else in the message (the bot's @name is ignored)."""
    if not text:
        return None
    bare = _MENTION.sub(" ", text)
    english = " ".join(_FILLER.sub(" ", bare).lower().split())
    compact = english.replace(" ", "")
    if not compact:
        return None
    if _THANKS_ZH.match(compact) or _THANKS_EMOJI.match(compact):
        return SmallTalk("thanks", english=False)
    if _HELLO_ZH.match(compact):
        return SmallTalk("hello", english=False)
    if _THANKS_EN.match(english):
        return SmallTalk("thanks", english=True)
    if _HELLO_EN.match(english):
        return SmallTalk("hello", english=True)
    return None

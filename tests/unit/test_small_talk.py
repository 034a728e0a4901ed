"""Small talk to the bot is a whole message of thanks, greeting or OK; a message with a request is not."""

from __future__ import annotations

import pytest

from knowledge.small_talk import small_talk


@pytest.mark.parametrize(
    ("text", "kind", "english"),
    [
        ("@RedButlerBot 谢谢！", "thanks", False),
        ("辛苦了师傅", "thanks", False),
        ("👍👍", "thanks", False),
        ("你好，谢谢", "thanks", False),
        ("晚上好啊红管家", "hello", False),
        ("在吗？", "hello", False),
        ("好的收到", "ok", False),
        ("Thank you so much!", "thanks", True),
        ("@RedButlerBot hi there", "hello", True),
        ("ok", "ok", True),
    ],
)
def test_small_talk_is_named(text: str, kind: str, english: bool) -> None:
    found = small_talk(text)
    assert found is not None and (found.kind, found.english) == (kind, english), found


@pytest.mark.parametrize(
    "text",
    [
        *("你好，我家水管漏了", "谢谢，我还有多少积分", "好冷", "哈哈", "行不行"),
        *("明天停水吗", "好多人在吗", "", "@RedButlerBot"),
    ],
)
def test_a_request_or_other_talk_is_not_small_talk(text: str) -> None:
    assert small_talk(text) is None

"""The typed button codec: what a button builds, it reads back; what a client forges, it refuses."""

from __future__ import annotations

import pytest

from bot.callbacks import Button, CallbackDataTooLong

VIEW = Button("rp", "view", int)
PICK = Button("ev", "pick", int, str)
DONE = Button("rs", "nophoto")


def test_a_button_reads_back_what_it_built() -> None:
    assert VIEW.data(12) == "rp:view:12"
    assert VIEW.parse(VIEW.data(12)) == (12,)
    assert PICK.parse(PICK.data(7, "yes")) == (7, "yes")
    assert DONE.parse(DONE.data()) == ()


def test_patterns_match_only_their_own_buttons() -> None:
    import re

    assert re.match(VIEW.pattern, "rp:view:1")
    assert not re.match(VIEW.pattern, "rp:viewer:1")
    assert re.match(DONE.pattern, "rs:nophoto")
    assert not re.match(DONE.pattern, "rs:nophoto:1")


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "rp:view",
        "rp:view:",
        "rp:view:x",
        "rp:view:1:2",
        "rp:edit:1",
        "rp:view:99999999999999999999",
        "rp:view:" + "1" * 70,
    ],
)
def test_a_forged_or_stale_press_reads_as_nothing(data: str | None) -> None:
    assert VIEW.parse(data) is None


def test_building_refuses_what_telegram_or_the_database_would() -> None:
    with pytest.raises(TypeError):
        VIEW.data("12")
    with pytest.raises(TypeError):
        VIEW.data(2**63)
    with pytest.raises(TypeError):
        PICK.data(1, "a:b")
    with pytest.raises(CallbackDataTooLong):
        PICK.data(1, "长" * 30)

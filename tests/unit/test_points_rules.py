"""Pure rules of volunteer points: rounding, month windows, codes, reasons, bounds, catalogue parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.errors import UserFacingError
from bot.services.points import (
    CODE_RE,
    MANUAL_LIMIT,
    check_manual_amount,
    check_reason,
    month_window,
    new_voucher_code,
    normalise_voucher_code,
    points_for,
)
from bot.services.points_catalogue import DEMO_CATALOGUE, parse_mapping


@pytest.mark.parametrize(
    ("points", "per_hour", "hours", "expected"),
    [
        (2, False, None, 2),
        (2, False, 3.0, 2),  # a shift is a shift, however long
        (2, True, 1.0, 2),
        (2, True, 1.5, 3),
        (2, True, 0.25, 1),  # half a point rounds up
        (2, True, 0.2, 0),
        (2, True, None, 0),
        (3, True, 2.5, 8),  # 7.5 rounds half up, never to even
    ],
)
def test_points_for_rounds_half_up(points: int, per_hour: bool, hours: float | None, expected: int) -> None:
    assert points_for(points, per_hour, hours) == expected


def test_month_window_follows_the_compound_time_zone() -> None:
    # 31 Oct 17:00 UTC is already 1 Nov 01:00 in Shanghai.
    start, end, label = month_window(datetime(2026, 10, 31, 17, 0, tzinfo=UTC), "Asia/Shanghai")
    assert label == "2026-11"
    assert start == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    _, end_dec, label_dec = month_window(datetime(2026, 12, 15, tzinfo=UTC), "Asia/Shanghai")
    assert label_dec == "2026-12" and end_dec == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_voucher_codes_are_short_unambiguous_and_normalised() -> None:
    codes = {new_voucher_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(CODE_RE.match(c) and not set(c) & set("01IO") for c in codes)
    assert normalise_voucher_code(" abcd-2345 ") == "ABCD2345"
    assert normalise_voucher_code("v_abcd2345") == "ABCD2345"


def test_reasons_are_required_and_tidied() -> None:
    assert check_reason("  帮邻居\n搬家 ") == "帮邻居 搬家"
    for empty in ("", "   ", "\n"):
        with pytest.raises(UserFacingError) as caught:
            check_reason(empty)
        assert caught.value.key == "points.reason_empty"
    with pytest.raises(UserFacingError) as caught:
        check_reason("很" * 201)
    assert caught.value.key == "points.reason_too_long"


@pytest.mark.parametrize("amount", [0, -1, -5, MANUAL_LIMIT + 1, 10**9])
def test_manual_amounts_outside_the_bounds_are_refused(amount: int) -> None:
    with pytest.raises(UserFacingError) as caught:
        check_manual_amount(amount)
    assert caught.value.key == "points.amount_bad"


@pytest.mark.parametrize("amount", [1, 5, MANUAL_LIMIT])
def test_manual_amounts_inside_the_bounds_pass(amount: int) -> None:
    check_manual_amount(amount)


def test_catalogue_parsing_reports_every_problem() -> None:
    _, problems = parse_mapping(
        {
            "rules": [
                {"type": "patrol_shift", "points": "two"},
                {"points": 2},
                {"type": "big", "points": 500},
            ],
            "partners": [
                {"services": []},
                {
                    "name": "理发店",
                    "services": [
                        {"name": "理发", "cost": 0},
                        {"name": "", "cost": 5},
                        {"name": "洗头", "cost": 3, "stock": -1},
                        {"name": "烫发", "cost": 3, "days": 0},
                    ],
                },
            ],
        }
    )
    assert any("not a number" in p for p in problems)
    assert any("missing type" in p for p in problems)
    assert any("more than 20 points" in p for p in problems)
    assert any("missing name" in p for p in problems)
    assert any("cost must be" in p for p in problems)
    assert any("negative" in p for p in problems)
    assert any("validity" in p for p in problems)


def test_demo_catalogue_is_valid_and_has_the_issue_rules() -> None:
    catalogue, problems = parse_mapping(DEMO_CATALOGUE)
    assert problems == []
    rules = {r.activity_type: (r.points, r.per_hour) for r in catalogue.rules}
    assert rules["patrol_shift"] == (2, False)
    assert rules["party_day"] == (2, False)
    assert rules["elderly_care"] == (2, True)
    assert len(catalogue.partners) >= 3
    assert all(s.cost > 0 for p in catalogue.partners for s in p.services)

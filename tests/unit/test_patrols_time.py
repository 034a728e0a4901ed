"""Pure helpers of the patrol, event and announcement capabilities."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cli_commands.patrols import parse_days
from bot.services.announcements import parse_accounts, render_table
from bot.services.errors import UserFacingError
from bot.services.events import next_occurrences, parse_when
from bot.services.patrols import ShiftView, calendar_ics, haversine_m, in_quiet_hours, outside_quiet_hours

TZ = ZoneInfo("Asia/Shanghai")
QUIET = (time(22, 0), time(7, 0))
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ).astimezone(UTC)


@pytest.mark.parametrize(
    ("due", "start", "expected"),
    [
        ("2026-11-02 20:00", "2026-11-03 19:30", "2026-11-02 20:00"),  # not quiet: unchanged
        ("2026-11-03 06:30", "2026-11-03 07:30", "2026-11-03 07:00"),  # quiet: held to the end of quiet hours
        ("2026-11-02 23:30", "2026-11-03 08:00", "2026-11-03 07:00"),  # before midnight: the next morning
        ("2026-11-02 22:00", "2026-11-02 23:00", "2026-11-02 22:00"),  # the shift starts sooner: sent anyway
        ("2026-11-03 05:00", "2026-11-03 06:00", "2026-11-03 05:00"),
    ],
)
def test_quiet_hours(due: str, start: str, expected: str) -> None:
    assert outside_quiet_hours(at(due), at(start), TZ, *QUIET) == at(expected)


def test_quiet_window_edges() -> None:
    assert in_quiet_hours(at("2026-11-02 22:00"), TZ, *QUIET)
    assert in_quiet_hours(at("2026-11-03 06:59"), TZ, *QUIET)
    assert not in_quiet_hours(at("2026-11-03 07:00"), TZ, *QUIET)
    assert not in_quiet_hours(at("2026-11-02 21:59"), TZ, *QUIET)
    assert in_quiet_hours(at("2026-11-02 13:00"), TZ, time(12, 0), time(14, 0))  # a daytime window


def test_haversine_distances() -> None:
    assert haversine_m(31.23, 121.47, 31.23, 121.47) == 0
    # 0.001° of latitude is about 111 m anywhere.
    assert 110 < haversine_m(31.23, 121.47, 31.231, 121.47) < 112
    # Shanghai to Beijing is about 1,070 km.
    assert 1_050_000 < haversine_m(31.2304, 121.4737, 39.9042, 116.4074) < 1_090_000


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("12月1日 9:00-11:00", "2026-12-01 09:00", "2026-12-01 11:00"),
        ("2026-12-01 09:00~11:30", "2026-12-01 09:00", "2026-12-01 11:30"),
        ("12/1 19:30", "2026-12-01 19:30", "2026-12-01 21:30"),
        ("11月3日 19点30-21点", "2026-11-03 19:30", "2026-11-03 21:00"),
        ("1月5日 9:00-10:00", "2027-01-05 09:00", "2027-01-05 10:00"),  # January said in November: next year
    ],
)
def test_parse_when(text: str, start: str, end: str) -> None:
    assert parse_when(text, TZ, NOW) == (at(start), at(end))


@pytest.mark.parametrize("text", ["明天", "", "13月1日 9:00", "2月30日 9:00", "12月1日 25:00", "12月1日"])
def test_parse_when_refuses_nonsense(text: str) -> None:
    assert parse_when(text, TZ, NOW) is None


def test_repeats_keep_the_local_time() -> None:
    monthly = next_occurrences(at("2026-12-01 09:00"), at("2026-12-01 11:00"), "monthly_1st", TZ, 3)
    assert [s for s, _ in monthly] == [at("2026-12-01 09:00"), at("2027-01-01 09:00"), at("2027-02-01 09:00")]
    assert all(e - s == timedelta(hours=2) for s, e in monthly)
    same_day = next_occurrences(at("2027-01-31 09:00"), at("2027-01-31 10:00"), "monthly", TZ, 2)
    assert same_day[1][0] == at("2027-02-28 09:00")  # no 31 February
    assert len(next_occurrences(at("2026-12-01 09:00"), at("2026-12-01 10:00"), "none", TZ, 3)) == 1


def test_calendar_file_is_valid_icalendar() -> None:
    shift = ShiftView(
        7,
        1,
        "东区, 北门; 夜巡",
        at("2026-11-03 19:30"),
        at("2026-11-03 21:30"),
        4,
        1,
        0,
        "open",
        "Asia/Shanghai",
    )
    ics = calendar_ics([shift], "平安巡逻", NOW)
    lines = ics.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and ics.endswith("\r\n")
    assert "DTSTART:20261103T113000Z" in lines and "DTEND:20261103T133000Z" in lines
    assert "SUMMARY:平安巡逻 · 东区\\, 北门\\; 夜巡" in lines
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1


def test_accounts_rows_and_table() -> None:
    rows = parse_accounts("停车费 12000 3000\n\n广告收入，5000，-\n维修基金 0 8000.5")
    assert rows == [
        ["停车费", "12000.00", "3000.00"],
        ["广告收入", "5000.00", "0.00"],
        ["维修基金", "0.00", "8000.50"],
    ]

    def width(line: str) -> int:
        return sum(2 if ord(c) > 0x2E80 else 1 for c in line)

    table = render_table(rows, ("项目", "收入", "支出", "结余"), "合计")
    lines = table.splitlines()
    # Four columns would be wider than a phone's 28: each item is stacked, amounts right-aligned.
    assert max(width(line) for line in lines) <= 28
    assert [line.split() for line in lines[-4:]] == [
        ["合计"],
        ["收入", "17000.00"],
        ["支出", "11000.50"],
        ["结余", "5999.50"],
    ]
    assert len({width(line) for line in lines if line.startswith("  ")}) == 1
    # Small amounts fit as a table: the columns line up, every row the same display width.
    small = render_table([["水费", "100.00", "20.00"]], ("项目", "收入", "支出", "结余"), "合计")
    assert small.splitlines()[-1].split() == ["合计", "100.00", "20.00", "80.00"]
    widths = {width(line) for line in small.splitlines() if not line.startswith("-")}
    assert len(widths) == 1 and max(widths) <= 28
    for bad in ("停车费 12000", "停车费 一万 3000", "停车费 -5 3", ""):
        with pytest.raises(UserFacingError):
            parse_accounts(bad)


def test_parse_days() -> None:
    assert parse_days("1-7") == list(range(7))
    assert parse_days("6,7") == [5, 6]
    with pytest.raises(ValueError):
        parse_days("0-8")

"""Pure rules of repairs: time limits, period boundaries, place files and the posters PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from bot.cli_commands.repairs import _parse_limit, read_place_names
from bot.services.repairs import DEFAULT_LIMITS, limit_minutes, number_of
from bot.services.repairs_posters import Poster, PosterText, render_posters
from bot.services.repairs_schedule import month_start, week_start

TZ = "Asia/Shanghai"


def test_limits_fall_back_from_kind_to_urgency_to_defaults() -> None:
    assert limit_minutes({}, "elevator", "emergency") == DEFAULT_LIMITS["emergency"] == (10, 240)
    assert limit_minutes({}, "dispute", "normal") == (240, 7 * 24 * 60)
    overrides = {"elevator:urgent": [15, 120], "*:normal": [60, 600]}
    assert limit_minutes(overrides, "elevator", "urgent") == (15, 120)
    assert limit_minutes(overrides, "sanitation", "normal") == (60, 600)
    assert limit_minutes(overrides, "sanitation", "urgent") == DEFAULT_LIMITS["urgent"]
    assert limit_minutes({"elevator:urgent": "nonsense"}, "elevator", "urgent") == DEFAULT_LIMITS["urgent"]


def test_week_and_month_start_in_local_time() -> None:
    monday_10 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    assert week_start(monday_10, TZ).strftime("%Y-%m-%d %H:%M") == "2026-11-02 09:00"
    monday_8 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # 08:00: still last week's period
    assert week_start(monday_8, TZ).strftime("%Y-%m-%d") == "2026-10-26"
    assert month_start(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), TZ).strftime("%Y-%m-%d") == "2026-11-01"
    assert month_start(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), TZ).strftime("%Y-%m-%d") == "2026-12-01"


def test_ticket_numbers_are_short_and_stable() -> None:
    assert number_of(7) == "BX00007"
    assert number_of(123456) == "BX123456"


def test_place_file_reading_skips_headers_blanks_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "spots.csv"
    path.write_text("名称,楼栋\n东门,\n\n# 备注\n地下车库B1\n3栋电梯,3栋\n", encoding="utf-8")
    assert read_place_names(path) == ["东门", "地下车库B1", "3栋电梯"]


def test_limit_option_parsing() -> None:
    assert _parse_limit("elevator:urgent=15,240") == ("elevator:urgent", (15, 240))


def test_posters_have_one_page_per_place_with_the_link() -> None:
    text = PosterText("扫码报修", "发现{place}有问题？\n扫一扫", "值班电话：{phone}", "请找物业办公室")
    posters = [
        Poster("东门", "https://t.me/RedButlerBot?start=rp_AAAA2222", "幸福里小区", "0571-1"),
        Poster("3栋电梯", "https://t.me/RedButlerBot?start=rp_BBBB3333", "幸福里小区", None),
    ]
    pdf = PdfReader(io.BytesIO(render_posters(posters, text)))
    assert len(pdf.pages) == 2
    first, second = (page.extract_text() for page in pdf.pages)
    assert "rp_AAAA2222" in first and "rp_BBBB3333" in second
    assert "扫码报修" in first and "东门" in first and "0571-1" in first
    assert "3栋电梯" in second and "请找物业办公室" in second
    resources: Any = pdf.pages[0]["/Resources"]
    fonts = [f.get_object()["/BaseFont"] for f in resources["/Font"].values()]
    assert "/STSong-Light" in fonts
    width, height = (float(v) for v in pdf.pages[0].mediabox.upper_right)
    assert round(width) == 595 and round(height) == 842  # A4

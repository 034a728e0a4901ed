"""`redbutler route` (a stable interface: scripts rely on its keys), `route train` and `bench route`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import run

ROUTE_KEYS = {"text", "intent", "score", "emergency", "emergency_kind", "alternative"}


def test_route_json_per_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = "我家水管漏了\n楼上漏水不修能起诉吗\n你好\n\n电梯里有人被困了\n😀\n"
    code, out, _ = run(capsys, "route", "--json", stdin=stdin, monkeypatch=monkeypatch)
    assert code == 0
    objects = [json.loads(line) for line in out.splitlines()]
    assert [set(o) for o in objects] == [ROUTE_KEYS] * 5
    assert [o["intent"] for o in objects] == ["repair", "law", "help", "repair", "help"]
    assert [o["emergency"] for o in objects] == [False, False, False, True, False]
    assert objects[3]["emergency_kind"] == "lift" and objects[0]["emergency_kind"] is None
    assert all(0 <= o["score"] <= 100 for o in objects)
    code, out, _ = run(capsys, "route", "--json", "我还有多少积分")
    assert json.loads(out)["intent"] == "points"


def test_route_plain_text_says_intent_score_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "route", "倾听日几号")
    assert code == 0 and out.split("\t")[0] == "event" and out.rstrip().endswith("倾听日几号")


def test_route_train_reports_the_tune_accuracy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "route", "train", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["trained_on"] >= 3000 and report["tune_messages"] >= 300
    assert report["tune_accuracy"] >= 0.9
    code, out, _ = run(capsys, "route", "--json", "我的兑换券怎么用")  # the retrained model is in use
    assert json.loads(out)["intent"] == "points"


SMALL = """# text<TAB>intent<TAB>emergency kind<TAB>tag
我家水管漏了\trepair\t-\t-
我还有多少积分\tpoints\t-\t-
电梯里有人被困了\trepair\tlift\temergency
家里有煤气味\trepair\tgas\temergency
煤气费怎么交\tlaw\t-\tnear
这周巡逻排哪天\tpatrol\t-\t-
not a labelled line
"""


def test_bench_route_prints_both_routers_and_the_emergency_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "small.tsv"
    path.write_text(SMALL, encoding="utf-8")
    code, out, err = run(capsys, "bench", "route", "--file", str(path), "--no-startup")
    assert code == 0
    assert "skipped malformed line" in err
    assert "6 messages" in out
    for line in ("repair", "points", "patrol", "overall", "p50 ms", "p99 ms"):
        assert any(row.startswith(line) for row in out.splitlines()), line
    header = next(row for row in out.splitlines() if row.startswith("intent"))
    assert "trained" in header and "keywords" in header
    assert "emergencies: 2, recall 100.0%" in out
    assert "near misses 1" in out

    code, out, _ = run(capsys, "bench", "route", "--file", str(path), "--no-startup", "--json")
    report = json.loads(out)
    assert report["messages"] == 6
    assert report["trained"]["per_intent"]["points"] == {"accuracy": 1.0, "n": 1}
    assert report["emergency"]["recall"] == 1.0 and report["emergency"]["false_alarms"] == 0
    assert set(report["keywords"]) >= {"accuracy", "p50_ms", "p99_ms", "per_intent"}


def test_bench_route_refuses_a_file_without_labelled_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.tsv"
    path.write_text("# nothing here\n", encoding="utf-8")
    code, _, err = run(capsys, "bench", "route", "--file", str(path), "--no-startup")
    assert code == 1 and "no labelled messages" in err

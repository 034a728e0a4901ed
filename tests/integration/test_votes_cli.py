"""`redbutler vote ...` and `redbutler import owners` against a real database: the stable CLI contract."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.cli_helpers import run
from tests.factories import COMPOUND

CREATED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DURING = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)
AFTER = datetime(2027, 1, 6, 2, 0, tzinfo=UTC)
OPENS, CLOSES = "2026-12-20 09:00", "2027-01-05 18:00"


@pytest.fixture
def cli_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", database_url)
    return database_url


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr("bot.cli_commands.votes.now", lambda: moment)


def owners_workbook(path: Path, rows: list[list[str]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["小区", "楼栋", "单元", "房号", "姓名", "手机", "身份"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def ballots_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(["楼栋,单元,房号,选项,委托人", *lines]) + "\n", encoding="utf-8-sig")
    return path


def create(capsys: pytest.CaptureFixture[str], *extra: str, matter: str = "special") -> tuple[int, str, str]:
    return run(
        capsys, "vote", "create", "--compound", COMPOUND, "--title", "筹集维修资金", "--matter", matter,
        "--opens", OPENS, "--closes", CLOSES, *extra,
    )  # fmt: skip


def test_create_needs_fifteen_days_notice_unless_told_otherwise(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, datetime(2026, 12, 10, 2, 0, tzinfo=UTC))  # ten days before opening
    code, out, err = create(capsys)
    assert code == 1 and out == ""
    assert "15 天" in err and "2026-12-25 10:00" in err

    code, out, err = create(capsys, "--notice-days", "0")
    assert code == 0 and err == ""
    assert out.strip().isdigit() and out.count("\n") == 1

    code, _, err = run(capsys, "vote", "create", "--compound", "不存在小区", "--title", "x", "--matter",
                       "ordinary", "--opens", OPENS, "--closes", CLOSES, "--notice-days", "0")  # fmt: skip
    assert code == 1 and "不存在小区" in err
    code, _, err = run(capsys, "vote", "create", "--compound", COMPOUND, "--title", "x", "--matter",
                       "ordinary", "--opens", CLOSES, "--closes", OPENS, "--notice-days", "0")  # fmt: skip
    assert code == 1 and "截止时间要晚于开始时间" in err


def test_owners_paper_ballots_result_audit_and_export(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, CREATED)
    plan = tmp_path / "维修资金筹集方案.pdf"
    plan.write_bytes(b"%PDF-1.4 plan")
    code, out, _ = create(capsys, "--document", str(plan))
    assert code == 0
    vote_id = out.strip()

    # 60 homes of 89.5 m²: one person owns three; a couple owns one; the developer still holds ten.
    rows = [
        [COMPOUND, "1栋", "1单元", room, "李大爷", "13900000001", "业主"] for room in ("101", "102", "201")
    ]
    rows += [[COMPOUND, "1栋", "1单元", "202", name, phone, "业主"]
             for name, phone in (("周先生", "13900000002"), ("周太太", "13900000003"))]  # fmt: skip
    rows += [
        [COMPOUND, "3栋", "2单元", f"{f}0{r}", "", "", "开发商"] for f in (1, 2, 3, 4, 5) for r in (1, 2)
    ]
    rows += [[COMPOUND, "1栋", "1单元", "301", "小孙", "13900000009", "租户"]]
    bad = owners_workbook(tmp_path / "bad.xlsx", [*rows, [COMPOUND, "9栋", "1单元", "101", "x", "1", "业主"]])
    code, _, err = run(capsys, "import", "owners", str(bad))
    assert code == 1 and "第 18 行" in err
    code, out, _ = run(capsys, "import", "owners", str(owners_workbook(tmp_path / "owners.xlsx", rows)))
    assert code == 0 and "16" in out
    code, out, _ = run(capsys, "import", "owners", str(tmp_path / "owners.xlsx"))
    assert code == 0 and "0" in out  # again: nothing new

    # Eligible: 60 homes, 5370 m²; owners: 60 - 2 (three homes of one person) - 9 (the developer's ten) = 49.
    code, out, _ = run(capsys, "vote", "result", vote_id, "--json")
    figures = json.loads(out)
    assert figures["eligible"] == {"area": 5370.0, "owners": 49}
    assert figures["closed"] is False and figures["threshold"] == "3/4"

    at(monkeypatch, DURING)
    sheet = ballots_csv(
        tmp_path / "b.csv", ["1栋,1单元,101,同意,", "1栋,1单元,999,同意,", "1栋,1单元,102,好的,"]
    )
    code, _, err = run(capsys, "vote", "ballots", vote_id, str(sheet))
    assert code == 1
    assert "999" in err and "好的" in err
    code, out, _ = run(capsys, "vote", "result", vote_id, "--json")
    assert json.loads(out)["participated"] == {"area": 0.0, "owners": 0}  # nothing of the bad sheet kept

    lines = [
        f"{b}栋,{u}单元,{f}0{r},同意,"
        for b in (1, 2)
        for u in (1, 2)
        for f in (1, 2, 3, 4, 5)
        for r in (1, 2)
    ]
    lines += ["3栋,1单元,101,反对,王某（书面委托）", "3栋,2单元,101,弃权,"]
    code, out, err = run(capsys, "vote", "ballots", vote_id, str(ballots_csv(tmp_path / "ok.csv", lines)),
                         "--entered-by", "赵姐", "--scrutineer", "陈书记")  # fmt: skip
    assert code == 0, err
    assert "42" in out

    code, out, _ = run(capsys, "vote", "result", vote_id, "--json")
    figures = json.loads(out)
    # 42 homes took part: 40 + 1 + the developer's one. Owners: 40 homes - 2 (李大爷's three) + 2 = 40.
    assert figures["participated"] == {"area": 3759.0, "owners": 40}
    assert figures["options"]["同意"] == {"area": 3580.0, "owners": 38}
    assert figures["options"]["反对"] == {"area": 89.5, "owners": 1}
    assert figures["options"]["弃权"] == {"area": 89.5, "owners": 1}
    assert figures["quorum_met"] is True  # 3759/5370 = 70%, 40/49 = 82%
    assert figures["passed"] is True

    code, out, _ = run(capsys, "vote", "result", vote_id)
    assert code == 0 and "参与表决" in out and "3759.00" in out and "按目前的票数" in out

    code, out, err = run(capsys, "vote", "audit", vote_id)
    assert code == 0, err
    assert "核对无误" in out and "42" in out

    export = tmp_path / "evidence.xlsx"
    code, out, _ = run(capsys, "vote", "export", vote_id, "--out", str(export))
    assert code == 0
    book = load_workbook(export)
    assert book.sheetnames == ["汇总", "各户", "全部选票", "通知"]
    summary = list(book["汇总"].iter_rows(values_only=True))
    assert ("文件", "维修资金筹集方案.pdf", hashlib.sha256(b"%PDF-1.4 plan").hexdigest()) in summary
    homes = list(book["各户"].iter_rows(values_only=True))
    assert len(homes) == 61
    row_101 = next(r for r in homes if r[:3] == ("1栋", "1单元", "101"))
    assert (
        row_101[4] == "李大爷" and row_101[5] == "同意" and row_101[6] == "书面" and row_101[10] == "陈书记"
    )
    proxy = next(r for r in homes if r[:3] == ("3栋", "1单元", "101"))
    assert proxy[6] == "书面委托" and proxy[7] == "王某（书面委托）"
    developer = next(r for r in homes if r[:3] == ("3栋", "2单元", "101"))
    assert developer[4] == "开发商（未售）"

    at(monkeypatch, AFTER)
    late = ballots_csv(tmp_path / "late.csv", ["3栋,1单元,102,同意,"])
    code, _, err = run(capsys, "vote", "ballots", vote_id, str(late))
    assert code == 1 and "已经截止" in err
    code, out, _ = run(capsys, "vote", "result", vote_id, "--json")
    assert json.loads(out)["closed"] is True


def test_ballot_sheet_with_a_wrong_header_or_unknown_vote(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("楼栋,单元,房号,选项\n9栋,1单元,101,同意\n".encode("gbk"))
    code, _, err = run(capsys, "vote", "ballots", "1", str(gbk))
    assert code == 1 and "编号为 1" in err  # read fine (GBK from Excel); refused only for the unknown vote
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("building,unit,room,option\n1栋,1单元,101,同意\n", encoding="utf-8")
    code, _, err = run(capsys, "vote", "ballots", "1", str(wrong))
    assert code == 1 and "楼栋,单元,房号,选项" in err
    code, _, err = run(
        capsys, "vote", "ballots", "999", str(ballots_csv(tmp_path / "b.csv", ["1栋,1单元,101,同意,"]))
    )
    assert code == 1 and "999" in err
    code, _, err = run(capsys, "vote", "result", "999", "--json")
    assert code == 1 and "999" in err


def test_a_special_matter_passes_by_headcount_but_fails_by_area(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, CREATED)
    vote_id = create(capsys)[1].strip()
    # One investor owns all 15 homes of 1栋 1单元 … 2单元 (first 15); everyone else owns one home each.
    homes = [(b, u, f"{f}0{r}") for b in (1, 2, 3) for u in (1, 2) for f in (1, 2, 3, 4, 5) for r in (1, 2)]
    investor, others = homes[:15], homes[15:]
    rows = [
        [COMPOUND, f"{b}栋", f"{u}单元", room, "钱老板", "13900000100", "业主"] for b, u, room in investor
    ]
    rows += [
        [COMPOUND, f"{b}栋", f"{u}单元", room, f"业主{i}", f"139{i:08d}", "业主"]
        for i, (b, u, room) in enumerate(others)
    ]
    assert run(capsys, "import", "owners", str(owners_workbook(tmp_path / "o.xlsx", rows)))[0] == 0
    at(monkeypatch, DURING)
    lines = [f"{b}栋,{u}单元,{room},反对," for b, u, room in investor]
    lines += [f"{b}栋,{u}单元,{room},同意," for b, u, room in others[:40]]
    assert run(capsys, "vote", "ballots", vote_id, str(ballots_csv(tmp_path / "b.csv", lines)))[0] == 0
    figures = json.loads(run(capsys, "vote", "result", vote_id, "--json")[1])
    assert figures["eligible"]["owners"] == 46  # 60 homes, the investor's 15 count once
    assert figures["participated"] == {"area": 4922.5, "owners": 41}  # 55 homes
    assert figures["options"]["同意"] == {"area": 3580.0, "owners": 40}  # 40/41 heads ≥ 3/4; 40/55 area < 3/4
    assert figures["quorum_met"] is True and figures["passed"] is False

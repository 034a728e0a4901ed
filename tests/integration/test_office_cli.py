"""The property office's command line: every line in Chinese, files named after what they hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.cli import main
from bot.db.models import Compound, InviteCode
from bot.db.uow import UnitOfWorkFactory
from tests.factories import COMPOUND, USERS
from tests.integration.test_roster import GOOD_HOUSEHOLDS, GOOD_STAFF, counts, write_xlsx


async def _run(*args: str) -> int:
    import asyncio

    return await asyncio.to_thread(main, list(args))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", database_url)
    monkeypatch.setenv("REDBUTLER_BOT_USERNAME", "RedButlerBot")
    return database_url


async def test_a_misspelt_compound_on_the_staff_sheet_is_refused_with_every_other_problem(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await counts(uow_factory)
    staff = [
        *GOOD_STAFF,
        ["老周", "13700000003", "红管家", "阳光花圆", "1栋", ""],  # 圆 for 园: no such compound
        ["小吴", "13700000004", "红管家", "阳光花园", "9栋", ""],  # no 9栋 in the file or the database
        ["小郑", "13700000005", "扫地僧", "阳光花园", "", ""],
    ]
    households = [*GOOD_HOUSEHOLDS, ["阳光花园", "3栋", "", 301, 80]]
    path = write_xlsx(tmp_path / "roster.xlsx", households, staff)
    assert await _run("import", "roster", str(path)) == 1
    err = capsys.readouterr().err
    # One run lists all of them, each naming its sheet.
    assert "[住户] 第 5 行: 单元号缺失" in err
    assert "[人员] 第 4 行: 小区“阳光花圆”在名册和系统里都没有" in err
    assert "[人员] 第 5 行: 负责楼栋“9栋”不存在" in err
    assert "[人员] 第 6 行: 不认识的角色“扫地僧”" in err
    assert "名册有 4 处问题" in err
    assert await counts(uow_factory) == before
    async with uow_factory() as uow:
        assert await uow.session.scalar(select(Compound).where(Compound.name == "阳光花圆")) is None


async def test_staff_may_name_a_compound_the_database_already_has(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_xlsx(
        tmp_path / "staff.xlsx", [], [["老周", "13700000003", "巡逻志愿者", COMPOUND, "1栋", ""]]
    )
    assert await _run("import", "roster", str(path)) == 0
    out = capsys.readouterr().out
    assert "名册已导入：新增 人员 1 人，岗位 1 个" in out


@pytest.mark.parametrize("name", ["roster.xlsx", "roster.csv", "roster.pdf"])
async def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_message(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4\x00\xff\xfe not a table \x00")
    assert await _run("import", "roster", str(path)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert any(words in err for words in ("不是表格", "只支持 .xlsx 和 .csv", "编码无法识别")), err
    assert await _run("import", "roster", str(tmp_path / "missing.xlsx")) == 2
    assert "找不到文件" in capsys.readouterr().err


async def test_duty_phone_is_kept_as_written_and_printed_on_posters(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import Workbook
    from pypdf import PdfReader

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "小区"
    sheet.append(["小区", "值班电话"])
    sheet.append([COMPOUND, "028-66668888"])
    path = tmp_path / "compounds.xlsx"
    book.save(path)
    assert await _run("import", "roster", str(path)) == 0
    out = tmp_path / "posters.pdf"
    assert await _run("posters", "--compound", COMPOUND, "--out", str(out), "--kinds", "building") == 0
    assert "已生成 3 张海报" in capsys.readouterr().out
    assert "028-66668888" in PdfReader(out).pages[0].extract_text()


async def test_invites_by_chinese_role_and_qr_files_named_after_the_home(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    from pypdf import PdfReader

    capsys.readouterr()
    assert await _run("invite", "--compound", COMPOUND, "--role", "巡逻志愿者") == 0
    code, label, _link = capsys.readouterr().out.strip().split("\t")
    assert label == "巡逻志愿者"
    async with uow_factory() as uow:
        invite = await uow.session.scalar(select(InviteCode).where(InviteCode.code == code))
        assert invite is not None and invite.role == "patrol"
    assert await _run("invite", "--compound", COMPOUND, "--role", "扫地僧") == 1
    assert "不认识的角色“扫地僧”" in capsys.readouterr().err

    qr = tmp_path / "qr"
    args = ("invite", "--compound", COMPOUND, "--building", "3栋", "--unit", "2单元", "--room", "501")
    assert await _run(*args, "--qr-dir", str(qr)) == 0
    out = capsys.readouterr().out
    code = out.splitlines()[0].split("\t")[0]
    assert (qr / f"3栋-2单元-501_{code}.png").is_file()
    assert "打印用的卡片在 邀请卡.pdf" in out
    text = PdfReader(qr / "邀请卡.pdf").pages[0].extract_text()
    assert "3栋 2单元 501" in text and code in text


async def test_patrol_routes_are_listed_with_ids_and_refusals_are_sentences(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _run("patrol", "routes") == 1
    assert "还没有巡逻路线" in capsys.readouterr().err
    route = ("patrol", "route", "--compound", COMPOUND, "--name", "夜巡东线")
    assert await _run(*route, "--checkpoint", "东门,30.5702,104.0665") == 0
    made = capsys.readouterr().out
    assert made.startswith("路线 ")
    assert await _run("patrol", "routes") == 0
    listing = capsys.readouterr().out
    route_id = int(listing.split("：")[0].removeprefix("路线 "))
    assert f"路线 {route_id}：{COMPOUND} 夜巡东线" in listing
    assert "东门\t30.570200,104.066500\thttps://t.me/RedButlerBot?start=cp_" in listing
    template = (
        "patrol",
        "template",
        "--days",
        "1-7",
        "--start",
        "19:30",
        "--minutes",
        "120",
        "--capacity",
        "3",
    )
    assert await _run(*template, "--route-id", str(route_id + 99)) == 1
    err = capsys.readouterr().err
    assert "没有这条巡逻路线" in err and "patrols." not in err
    assert await _run(*template, "--route-id", str(route_id)) == 0
    assert "班次模板" in capsys.readouterr().out
    assert await _run(*route, "--checkpoint", "西门") == 1
    assert "打卡点“西门”写得不对" in capsys.readouterr().err
    missing = ("patrol", "route", "--compound", "没有这个小区", "--name", "x", "--checkpoint", "a,1,2")
    assert await _run(*missing) == 1
    assert "没有叫“没有这个小区”的小区" in capsys.readouterr().err


async def test_shift_export_is_in_chinese(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    route = ("patrol", "route", "--compound", COMPOUND, "--name", "夜巡", "--checkpoint", "东门,30.57,104.06")
    assert await _run(*route) == 0
    route_id = int(capsys.readouterr().out.split("：")[0].removeprefix("路线 "))
    template = ("patrol", "template", "--route-id", str(route_id), "--start", "19:30")
    assert await _run(*template, "--minutes", "60", "--capacity", "2") == 0
    from bot.cli import now
    from bot.db.models.patrols import PatrolShift
    from bot.i18n import default_translator
    from bot.services import patrols

    async with uow_factory() as uow:
        shift_id = await uow.session.scalar(select(func.min(PatrolShift.id)))
    assert shift_id is not None
    t = default_translator()
    await patrols.sign_up(uow_factory(), t, USERS.patrol, shift_id, now())
    await patrols.cancel(uow_factory(), t, USERS.patrol, shift_id, now())
    out = tmp_path / "shifts.xlsx"
    capsys.readouterr()
    assert await _run("export", "shifts", "--out", str(out)) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("已写入 shifts.xlsx，共 ") and printed.endswith(" 行")
    book = load_workbook(out)
    assert book.sheetnames == ["班次", "打卡点"]
    rows = list(book["班次"].iter_rows(values_only=True))
    assert rows[0][:3] == ("班次编号", "路线", "开始")
    status = rows[0].index("状态")
    assert any(row[status] == "已取消" for row in rows[1:])
    assert not any(row[status] in ("cancelled", "booked", "completed") for row in rows[1:])

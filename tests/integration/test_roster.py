"""`redbutler import roster`: the property office's spreadsheet, all or nothing, idempotent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.cli import main
from bot.db.models import Household, Person, StaffRole
from bot.db.uow import UnitOfWorkFactory


def write_xlsx(path: Path, households: list[list[object]], staff: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "住户"
    sheet.append(["小区", "楼栋", "单元", "房号", "面积"])
    for row in households:
        sheet.append(row)
    people = workbook.create_sheet("人员")
    people.append(["姓名", "手机", "角色", "小区", "负责楼栋", "负责类别"])
    for row in staff:
        people.append(row)
    workbook.save(path)
    return path


GOOD_HOUSEHOLDS: list[list[object]] = [
    ["阳光花园", "1栋", "1单元", 101, 88.5],
    ["阳光花园", "1栋", "1单元", 102, 90],
    ["阳光花园", "2栋", "1单元", 201, 120.25],
]
GOOD_STAFF: list[list[object]] = [
    ["老马", "13700000001", "红管家", "阳光花园", "1栋、2栋", "水电，电梯"],
    ["小林", "13700000002", "楼栋长", "阳光花园", "2栋", ""],
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", database_url)
    return database_url


async def counts(uow_factory: UnitOfWorkFactory) -> tuple[int, int, int]:
    async with uow_factory() as uow:
        households = await uow.session.scalar(select(func.count(Household.id)))
        people = await uow.session.scalar(select(func.count(Person.id)))
        roles = await uow.session.scalar(select(func.count(StaffRole.id)))
    return int(households or 0), int(people or 0), int(roles or 0)


def run_cli(*args: str) -> int:
    return main(list(args))


async def test_xlsx_imports_then_second_import_changes_nothing(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await counts(uow_factory)
    path = write_xlsx(tmp_path / "roster.xlsx", GOOD_HOUSEHOLDS, GOOD_STAFF)
    assert await _run(run_cli, "import", "roster", str(path)) == 0
    assert "名册已导入" in capsys.readouterr().out
    after = await counts(uow_factory)
    assert after == (before[0] + 3, before[1] + 2, before[2] + 2)
    assert await _run(run_cli, "import", "roster", str(path)) == 0
    assert "没有变化" in capsys.readouterr().out
    assert await counts(uow_factory) == after
    async with uow_factory() as uow:
        role = await uow.session.scalar(
            select(StaffRole)
            .join(Person, Person.id == StaffRole.person_id)
            .where(Person.phone == "13700000001")
        )
        assert role is not None
        await uow.session.refresh(role, ["areas"])
        assert len(role.areas) == 2
        assert all(sorted(a.work_kinds) == ["elevator", "plumbing_electric"] for a in role.areas)


async def test_bad_rows_are_all_reported_and_nothing_changes(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await counts(uow_factory)
    households = [*GOOD_HOUSEHOLDS, ["阳光花园", "3栋", "", 301, 80], ["阳光花园", "3栋", "1单元", 302, -5]]
    staff = [*GOOD_STAFF, ["老王", "12345", "扫地僧", "阳光花园", "", ""]]
    path = write_xlsx(tmp_path / "bad.xlsx", households, staff)
    assert await _run(run_cli, "import", "roster", str(path)) == 1
    err = capsys.readouterr().err
    assert "[住户] 第 5 行: 单元号缺失" in err
    assert "[住户] 第 6 行: 面积不对（-5）" in err
    assert "[人员] 第 4 行: 电话号码格式不对" in err
    assert "不认识的角色“扫地僧”" in err
    assert await counts(uow_factory) == before


async def test_csv_in_gbk_from_excel_is_read(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory
) -> None:
    path = tmp_path / "households.csv"
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["小区", "楼栋", "单元", "房号", "面积(m²)"])
        writer.writerow(["阳光花园", "5栋", "2单元", "501", "75.3"])
    before = await counts(uow_factory)
    assert await _run(run_cli, "import", "roster", str(path)) == 0
    assert (await counts(uow_factory))[0] == before[0] + 1


async def test_staff_missing_from_a_new_roster_lose_their_role(
    env: str, tmp_path: Path, uow_factory: UnitOfWorkFactory
) -> None:
    path = write_xlsx(tmp_path / "roster.xlsx", GOOD_HOUSEHOLDS, GOOD_STAFF)
    assert await _run(run_cli, "import", "roster", str(path)) == 0
    path = write_xlsx(tmp_path / "roster2.xlsx", GOOD_HOUSEHOLDS, GOOD_STAFF[:1])
    assert await _run(run_cli, "import", "roster", str(path)) == 0
    async with uow_factory() as uow:
        role = await uow.session.scalar(
            select(StaffRole)
            .join(Person, Person.id == StaffRole.person_id)
            .where(Person.phone == "13700000002")
        )
        assert role is not None and role.active is False


async def test_invite_command_prints_codes_and_links(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await _run(run_cli, "invite", "--compound", "幸福里小区", "--building", "3栋", "--unit", "1单元") == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 10
    code, label, link = lines[0].split("\t")
    assert label == "幸福里小区 3栋1单元101"
    assert link == f"https://t.me/RedButlerBot?start=inv_{code}"
    assert await _run(run_cli, "invite", "--compound", "没有这个小区", "--role", "patrol") == 1


async def _run(func: object, *args: str) -> int:
    import asyncio

    # The CLI runs its own event loop; keep it off the test's loop.
    return await asyncio.to_thread(func, *args)  # type: ignore[arg-type]

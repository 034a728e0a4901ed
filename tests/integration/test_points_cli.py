"""`redbutler points ...` and `redbutler export points|redemptions` against a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from bot.cli import main
from bot.db.engine import make_engine, make_sessionmaker
from bot.db.models.points import PartnerMember, PointsAccount, PointsRule, RewardService
from bot.db.uow import UnitOfWorkFactory
from bot.i18n import default_translator
from bot.services import points_vouchers
from tests.conftest import START
from tests.factories import COMPOUND, USERS
from tests.points_helpers import give_points, seed_catalogue

YAML = """
rules:
  - {type: patrol_shift, label: 平安巡逻, points: 2}
  - {type: elderly_care, label: 养老院陪护, points: 2, per_hour: true}
partners:
  - name: 康乐社区诊所
    address: 幸福路 12 号
    merchants: ["13800000009"]
    services:
      - {category: 医疗保健, name: 测血压血糖, cost: 4, stock: 50, limit: 2, days: 30}
      - {category: 医疗保健, name: 中医推拿一次, cost: 10, stock: 10, limit: 1}
  - name: 巧手理发店
    services:
      - {category: 生活服务, name: 理发一次, cost: 6}
"""


def run(database_url: str, work: Callable[[UnitOfWorkFactory], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        engine = make_engine(database_url)
        try:
            return await work(UnitOfWorkFactory(make_sessionmaker(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def cli_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", database_url)
    return database_url


def test_import_catalogue_from_yaml_then_again_changes_nothing_twice(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(YAML, encoding="utf-8")

    assert main(["points", "import-catalogue", str(path), "--compound", COMPOUND]) == 0
    assert "积分规则 2 条，合作商户 2 家，服务 3 项，绑定商户账号 1 个" in capsys.readouterr().out
    assert main(["points", "import-catalogue", str(path), "--compound", COMPOUND]) == 0
    assert "绑定商户账号 0 个" in capsys.readouterr().out

    async def check(uf: UnitOfWorkFactory) -> tuple[int, int, int, bool]:
        async with uf() as uow:
            services = (await uow.session.scalars(select(RewardService))).all()
            rules = (await uow.session.scalars(select(PointsRule))).all()
            members = (await uow.session.scalars(select(PartnerMember))).all()
            hourly = next(r.per_hour for r in rules if r.activity_type == "elderly_care")
            return len(services), len(rules), len(members), hourly

    assert run(cli_db, check) == (3, 2, 1, True)


def test_a_bad_catalogue_is_refused_whole(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(YAML.replace("cost: 6", "cost: lots"), encoding="utf-8")

    assert main(["points", "import-catalogue", str(path), "--compound", COMPOUND]) == 1
    err = capsys.readouterr().err
    assert "目录有" in err and "“巧手理发店”的第 1 项服务：“lots”不是数字" in err

    async def count(uf: UnitOfWorkFactory) -> int:
        async with uf() as uow:
            return len((await uow.session.scalars(select(RewardService))).all())

    assert run(cli_db, count) == 0
    other = tmp_path / "cat.txt"
    other.write_text("x", encoding="utf-8")
    assert main(["points", "import-catalogue", str(other), "--compound", COMPOUND]) == 1
    good = tmp_path / "good.yaml"
    good.write_text(YAML, encoding="utf-8")
    assert main(["points", "import-catalogue", str(good), "--compound", "没有这个小区"]) == 1
    assert "没有叫“没有这个小区”的小区" in capsys.readouterr().err
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a workbook")
    assert main(["points", "import-catalogue", str(fake), "--compound", COMPOUND]) == 1
    assert "不是表格" in capsys.readouterr().err
    assert run(cli_db, count) == 0


def test_import_catalogue_from_xlsx(cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workbook = Workbook()
    rules = workbook.active
    assert rules is not None
    rules.title = "规则"
    rules.append(["类型", "名称", "积分", "按小时"])
    rules.append(["party_day", "主题党日", 2, ""])
    services = workbook.create_sheet("服务")
    services.append(["商家", "地址", "类别", "服务", "所需积分", "库存", "每人限兑", "有效天数", "商户手机"])
    services.append(["邻里食堂", "活动中心", "餐饮", "老人午餐一份", 3, "", 10, 7, ""])
    services.append(["邻里食堂", "", "餐饮", "儿童午餐一份", 3, 20, "", "", "13800000009"])
    path = tmp_path / "catalogue.xlsx"
    workbook.save(path)

    assert main(["points", "import-catalogue", str(path), "--compound", COMPOUND]) == 0
    assert "积分规则 1 条，合作商户 1 家，服务 2 项，绑定商户账号 1 个" in capsys.readouterr().out

    async def check(uf: UnitOfWorkFactory) -> list[tuple[str, int, int | None, int | None, int]]:
        async with uf() as uow:
            rows = (await uow.session.scalars(select(RewardService).order_by(RewardService.name))).all()
            return [(s.name, s.cost, s.stock, s.per_person_limit, s.validity_days) for s in rows]

    assert run(cli_db, check) == [("儿童午餐一份", 3, 20, None, 30), ("老人午餐一份", 3, None, 10, 7)]


def test_audit_passes_then_fails_when_a_balance_is_tampered_with(
    cli_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def setup(uf: UnitOfWorkFactory) -> None:
        await seed_catalogue(uf, START)
        await give_points(uf, USERS.resident, 20, START, "audit")
        items = await points_vouchers.services_in(uf(), USERS.resident, None)
        held = await points_vouchers.hold_redemption(uf(), USERS.resident, items[0].id, "a", START)
        await points_vouchers.cancel_voucher(uf(), USERS.resident, held.id, START)

    run(cli_db, setup)
    assert main(["points", "audit"]) == 0
    assert "核对无误" in capsys.readouterr().out

    async def tamper(uf: UnitOfWorkFactory) -> None:
        async with uf() as uow:
            await uow.session.execute(update(PointsAccount).values(balance=999))
            await uow.commit()

    run(cli_db, tamper)
    assert main(["points", "audit"]) == 1
    assert "余额 999，但流水合计是 20" in capsys.readouterr().err


def test_exports_show_issued_redeemed_outstanding_and_the_settlement_list(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def setup(uf: UnitOfWorkFactory) -> str:
        await seed_catalogue(uf, START)
        await give_points(uf, USERS.resident, 20, START, "export")
        items = await points_vouchers.services_in(uf(), USERS.resident, "医疗保健")
        used = await points_vouchers.hold_redemption(uf(), USERS.resident, items[0].id, "u", START)
        await points_vouchers.confirm_redemption(uf(), USERS.resident, used.id, START)
        await points_vouchers.verify_voucher(uf(), default_translator(), USERS.merchant, used.code, START)
        waiting = await points_vouchers.hold_redemption(uf(), USERS.resident, items[1].id, "w", START)
        await points_vouchers.confirm_redemption(uf(), USERS.resident, waiting.id, START)
        return used.code

    code = run(cli_db, setup)

    assert main(["export", "points"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "小区,月份,发放积分,已兑换积分,冻结积分,未使用积分"
    assert f"{COMPOUND},2026-11,20,4,10,6" in out  # 20 earned, 4 used, 10 still on a voucher; 6 left

    assert main(["export", "redemptions", "--month", "2026-11"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert f"{COMPOUND},康乐社区诊所,2026-11,2026-11-02 10:00,{code},测血压血糖,4,钱老板" == out[1]
    assert main(["export", "redemptions", "--month", "2026年11月"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == out[1:]
    assert main(["export", "redemptions", "--month", "2026-10"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    for bad in ("13月", "2026-13", "十一月份吧"):
        assert main(["export", "redemptions", "--month", bad]) == 1
        assert f"看不懂月份“{bad}”" in capsys.readouterr().err

    target = tmp_path / "redemptions.xlsx"
    assert main(["export", "redemptions", "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip() == "已写入 redemptions.xlsx，共 1 行"
    sheet = load_workbook(target).active
    assert sheet is not None and sheet.title == "兑换结算"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("小区", "合作商户", "月份")
    assert rows[1][4] == code and rows[1][6] == 4


def test_a_month_is_read_as_the_office_writes_it() -> None:
    from datetime import datetime

    from bot.cli import parse_month

    march = datetime(2027, 3, 5)
    assert parse_month("2026-11", march) == "2026-11"
    assert parse_month("2026/11", march) == "2026-11"
    assert parse_month("２０２６年１１月", march) == "2026-11"  # full-width digits from a Chinese IME
    assert parse_month("11月", march) == "2026-11"  # the latest November
    assert parse_month("3月", march) == "2027-03"
    assert parse_month("13月", march) is None and parse_month("下个月", march) is None

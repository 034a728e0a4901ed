"""Loading the points catalogue (earning rules, partners, their services and merchant accounts) from a file.

YAML:
    rules:
      - {type: patrol_shift, label: 平安巡逻, points: 2}
      - {type: elderly_care, label: 养老院陪护, points: 2, per_hour: true}
    partners:
      - name: 康乐社区诊所
        address: 幸福路 12 号
        merchants: ["13800000009"]        # phones of people with the merchant role
        services:
          - {category: 医疗保健, name: 免费测血压血糖, cost: 5, stock: 50, limit: 2, days: 30}

XLSX: a sheet "规则" (type, label, points, per_hour) and a sheet "服务" (partner, address, category, service,
cost, stock, limit, days, merchants). Re-importing updates what exists; nothing is ever deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.db.uow import UnitOfWork
from bot.roles import Role
from bot.services.errors import Problem, UserFacingError
from bot.services.points import RULE_LIMIT, put_rule

TRUE_WORDS = {"1", "true", "yes", "y", "是", "按小时", "每小时"}
COST_LIMIT = 10_000


@dataclass
class RuleRow:
    activity_type: str
    label: str
    points: int
    per_hour: bool = False


@dataclass
class ServiceRow:
    category: str
    name: str
    cost: int
    stock: int | None = None
    limit: int | None = None
    days: int = 30


@dataclass
class PartnerRow:
    name: str
    address: str = ""
    merchants: list[str] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)


@dataclass
class CatalogueFile:
    rules: list[RuleRow] = field(default_factory=list)
    partners: list[PartnerRow] = field(default_factory=list)


@dataclass
class ImportReport:
    rules: int = 0
    partners: int = 0
    services: int = 0
    merchants: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rule_label(index: int) -> Problem:
    return Problem("cli.cat_rule", f"rule {index}", index=index)


def _service_label(partner: str, index: int) -> Problem:
    return Problem("cli.cat_service", f"{partner} service {index}", partner=partner, index=index)


def _int(value: Any, what: Problem, problems: list[Problem], *, optional: bool = False) -> int | None:
    if value is None or str(value).strip() == "":
        if optional:
            return None
        problems.append(Problem("cli.cat_missing_number", f"{what}: missing number", what=what))
        return None
    try:
        number = int(float(str(value).strip()))
    except ValueError:
        text = str(value)[:20]
        problems.append(
            Problem("cli.cat_not_number", f"{what}: not a number: {value!r}", what=what, value=text)
        )
        return None
    if number < 0:
        problems.append(Problem("cli.cat_negative", f"{what}: negative: {number}", what=what, value=number))
        return None
    return number


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in TRUE_WORDS if value is not None else False


def parse_mapping(data: dict[str, Any]) -> tuple[CatalogueFile, list[Problem]]:
    problems: list[Problem] = []
    catalogue = CatalogueFile()
    for index, raw in enumerate(data.get("rules") or [], start=1):
        what = _rule_label(index)
        points = _int(raw.get("points"), what, problems)
        kind = str(raw.get("type") or raw.get("activity_type") or "").strip()
        if not kind:
            problems.append(Problem("cli.cat_missing_type", f"{what}: missing type", what=what))
        elif points is not None:
            if points > RULE_LIMIT:
                problems.append(
                    Problem(
                        "cli.cat_too_many",
                        f"{what}: more than {RULE_LIMIT} points",
                        what=what,
                        limit=RULE_LIMIT,
                    )
                )
            catalogue.rules.append(
                RuleRow(kind, str(raw.get("label") or kind), points, _bool(raw.get("per_hour")))
            )
    for index, raw in enumerate(data.get("partners") or [], start=1):
        name = str(raw.get("name") or "").strip()
        if not name:
            problems.append(Problem("cli.cat_partner_name", f"partner {index}: missing name", index=index))
            continue
        merchants = raw.get("merchants") or []
        if isinstance(merchants, str):
            merchants = [m for m in merchants.replace("，", ",").replace("、", ",").split(",")]
        partner = PartnerRow(
            name, str(raw.get("address") or ""), [str(m).strip() for m in merchants if str(m).strip()]
        )
        for s_index, item in enumerate(raw.get("services") or [], start=1):
            what = _service_label(name, s_index)
            cost = _int(item.get("cost"), what, problems)
            stock = _int(item.get("stock"), what, problems, optional=True)
            limit = _int(item.get("limit"), what, problems, optional=True)
            days = _int(item.get("days"), what, problems, optional=True)
            service_name = str(item.get("name") or "").strip()
            if not service_name:
                problems.append(Problem("cli.cat_missing_name", f"{what}: missing name", what=what))
                continue
            if cost is None:
                continue
            if cost == 0 or cost > COST_LIMIT:
                problems.append(
                    Problem(
                        "cli.cat_cost", f"{what}: cost must be 1..{COST_LIMIT}", what=what, limit=COST_LIMIT
                    )
                )
                continue
            if days == 0:
                problems.append(
                    Problem("cli.cat_days", f"{what}: validity must be at least one day", what=what)
                )
                continue
            partner.services.append(
                ServiceRow(
                    str(item.get("category") or "其他").strip(), service_name, cost, stock, limit, days or 30
                )
            )
        catalogue.partners.append(partner)
    return catalogue, problems


def read_catalogue(path: Path) -> tuple[CatalogueFile, list[Problem]]:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            return CatalogueFile(), [Problem("cli.cat_bad_yaml", f"not valid YAML: {exc}")]
        if not isinstance(data, dict):
            return CatalogueFile(), [
                Problem("cli.cat_no_sections", "the file must hold 'rules' and 'partners'")
            ]
        return parse_mapping(data)
    if suffix == ".xlsx":
        import zipfile

        from openpyxl.utils.exceptions import InvalidFileException

        try:
            mapping = _xlsx_mapping(path)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
            return CatalogueFile(), [Problem("roster.not_a_spreadsheet", "not a spreadsheet")]
        return parse_mapping(mapping)
    return CatalogueFile(), [Problem("cli.cat_format", "use a .yaml or .xlsx file")]


RULE_SHEETS = ("规则", "rules")
SERVICE_SHEETS = ("服务", "services")
HEADERS = {
    "类型": "type",
    "活动类型": "type",
    "名称": "label",
    "积分": "points",
    "按小时": "per_hour",
    "商家": "partner",
    "合作商家": "partner",
    "地址": "address",
    "类别": "category",
    "服务": "service",
    "所需积分": "cost",
    "库存": "stock",
    "每人限兑": "limit",
    "有效天数": "days",
    "商户手机": "merchants",
}


def _xlsx_mapping(path: Path) -> dict[str, Any]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    sheets: dict[str, list[dict[str, Any]]] = {}
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            continue
        header = [
            HEADERS.get(str(h).strip(), str(h).strip().lower()) if h is not None else "" for h in rows[0]
        ]
        sheets[sheet.title.strip().lower()] = [
            dict(zip(header, row, strict=False)) for row in rows[1:] if any(v not in (None, "") for v in row)
        ]
    workbook.close()
    rules = next((sheets[s] for s in RULE_SHEETS if s in sheets), [])
    partners: dict[str, dict[str, Any]] = {}
    for row in next((sheets[s] for s in SERVICE_SHEETS if s in sheets), []):
        name = str(row.get("partner") or "").strip()
        partner = partners.setdefault(name, {"name": name, "address": "", "merchants": [], "services": []})
        if row.get("address"):
            partner["address"] = str(row["address"])
        if row.get("merchants"):
            partner["merchants"].extend(
                str(row["merchants"]).replace("，", ",").replace("、", ",").split(",")
            )
        partner["services"].append({**row, "name": row.get("service")})
    return {"rules": rules, "partners": list(partners.values())}


async def apply_catalogue(
    uow: UnitOfWork, compound_id: int, catalogue: CatalogueFile, now: datetime
) -> ImportReport:
    """Upsert rules, partners, services and merchant bindings in the caller's transaction (caller commits)."""
    report = ImportReport()
    repo = uow.points
    for rule in catalogue.rules:
        try:
            await put_rule(
                uow,
                compound_id,
                rule.activity_type,
                rule.points,
                now,
                per_hour=rule.per_hour,
                label=rule.label,
            )
        except UserFacingError:
            report.problems.append(
                Problem(
                    "cli.cat_bad_rule",
                    f"rule {rule.activity_type}: bad type or points",
                    kind=rule.activity_type,
                )
            )
            continue
        report.rules += 1
    for row in catalogue.partners:
        partner = await repo.put_partner(compound_id, row.name, now)
        partner.address = row.address or partner.address or ""
        partner.active = True
        await repo.flush()
        report.partners += 1
        for phone in row.merchants:
            person = await uow.community.person_by_phone(phone)
            if (
                person is None
                or await uow.community.staff_role(person.id, Role.MERCHANT.value, compound_id) is None
            ):
                report.problems.append(
                    Problem(
                        "cli.cat_not_merchant",
                        f"{row.name}: {phone} is not a merchant of this compound in the roster",
                        partner=row.name,
                        phone=phone,
                    )
                )
                continue
            if await repo.add_member(partner.id, person.id, now):
                report.merchants += 1
        for item in row.services:
            service = await repo.put_service(partner.id, compound_id, item.name, now)
            service.category = item.category
            service.cost = item.cost
            service.stock = item.stock
            service.per_person_limit = item.limit
            service.validity_days = item.days
            service.active = True
            report.services += 1
        await repo.flush()
    return report


async def import_catalogue(uow: UnitOfWork, compound_name: str, path: Path, now: datetime) -> ImportReport:
    """All or nothing: any problem and nothing is written."""
    catalogue, problems = read_catalogue(path)
    if problems:
        return ImportReport(problems=problems)
    async with uow:
        compound = await uow.community.compound_by_name(compound_name)
        if compound is None:
            return ImportReport(
                problems=[
                    Problem(
                        "cli.unknown_compound", f"no compound named {compound_name!r}", name=compound_name
                    )
                ]
            )
        report = await apply_catalogue(uow, compound.id, catalogue, now)
        if report.ok:
            await uow.commit()
        return report


DEMO_CATALOGUE: dict[str, Any] = {
    "rules": [
        {"type": "patrol_shift", "label": "平安巡逻", "points": 2},
        {"type": "party_day", "label": "主题党日", "points": 2},
        {"type": "listening_day", "label": "民情恳谈日", "points": 1},
        {"type": "talk", "label": "社区讲座", "points": 1},
        {"type": "patrol_talk", "label": "巡逻队例会", "points": 1},
        {"type": "elderly_care", "label": "养老院陪护", "points": 2, "per_hour": True},
    ],
    "partners": [
        {
            "name": "康乐社区诊所",
            "address": "幸福路 12 号",
            "services": [
                {
                    "category": "医疗保健",
                    "name": "测血压血糖",
                    "cost": 4,
                    "stock": 50,
                    "limit": 2,
                    "days": 30,
                },
                {
                    "category": "医疗保健",
                    "name": "中医推拿一次",
                    "cost": 10,
                    "stock": 10,
                    "limit": 1,
                    "days": 30,
                },
            ],
        },
        {
            "name": "巧手理发店",
            "address": "幸福路 8 号",
            "services": [
                {"category": "生活服务", "name": "理发一次", "cost": 6, "stock": 30, "limit": 2, "days": 30}
            ],
        },
        {
            "name": "阳光少儿书法班",
            "address": "社区活动中心二楼",
            "services": [
                {"category": "儿童课程", "name": "书法体验课", "cost": 8, "stock": 12, "limit": 1, "days": 14}
            ],
        },
        {
            "name": "邻里食堂",
            "address": "社区活动中心一楼",
            "services": [{"category": "餐饮", "name": "老人午餐一份", "cost": 3, "limit": 10, "days": 7}],
        },
    ],
}


async def seed_demo_catalogue(
    uow: UnitOfWork, compound_id: int, now: datetime, *, merchant_shops: dict[str, str] | None = None
) -> ImportReport:
    """A small demo catalogue for a compound, in the caller's open unit of work (the caller commits).

    A merchant named in `merchant_shops` (phone → partner) is bound to that shop; every other merchant of the
    compound to the first partner, so `/verify` works in the demo. Safe to call again: it updates what exists.
    """
    catalogue, problems = parse_mapping(DEMO_CATALOGUE)
    assert not problems, problems
    report = await apply_catalogue(uow, compound_id, catalogue, now)
    repo = uow.points
    first = await repo.partner_by_name(compound_id, catalogue.partners[0].name)
    shops = merchant_shops or {}
    if first is not None:
        for _role, person in await uow.community.staff_with_role(compound_id, [Role.MERCHANT.value]):
            own = (
                await repo.partner_by_name(compound_id, shops[person.phone])
                if person.phone in shops
                else None
            )
            if own is not None:
                if await repo.add_member(own.id, person.id, now):
                    report.merchants += 1
                continue
            if await repo.add_member(first.id, person.id, now):
                report.merchants += 1
        await repo.flush()
    return report

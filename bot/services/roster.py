"""Loading the property office's roster spreadsheet: all rows valid, or nothing changes.

Sheets (xlsx) or files (csv, recognised by their header):
- 住户 / households: 小区, 楼栋, 单元, 房号, 面积
- 人员 / staff: 姓名, 手机, 角色, 小区, 负责楼栋, 负责类别
- 小区 / compounds (optional): 小区, 值班电话
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bot.db.models import ResponsibilityArea
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.roles import parse_role
from bot.work_kinds import parse_work_kind

HEADER_ALIASES = {
    "小区": "compound",
    "compound": "compound",
    "楼栋": "building",
    "楼号": "building",
    "building": "building",
    "单元": "unit",
    "单元号": "unit",
    "unit": "unit",
    "房号": "room",
    "房间": "room",
    "门牌号": "room",
    "room": "room",
    "面积": "area",
    "面积(m²)": "area",
    "面积（m²）": "area",
    "建筑面积": "area",
    "area": "area",
    "姓名": "name",
    "name": "name",
    "手机": "phone",
    "手机号": "phone",
    "电话": "phone",
    "phone": "phone",
    "角色": "role",
    "role": "role",
    "负责楼栋": "buildings",
    "buildings": "buildings",
    "负责类别": "kinds",
    "kinds": "kinds",
    "值班电话": "duty_phone",
    "duty_phone": "duty_phone",
}
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}\d{7,8})$")
# A duty line may also be a short service number (e.g. a 5-digit property hotline).
DUTY_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}\d{7,8}|\d{5,8})$")
LIST_SPLIT_RE = re.compile(r"[,，、;；/\s]+")
MAX_AREA = Decimal("10000")


@dataclass(frozen=True)
class RosterProblem:
    sheet: str
    row: int
    key: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class RosterReport:
    problems: list[RosterProblem] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def bump(self, bucket: dict[str, int], name: str) -> None:
        bucket[name] = bucket.get(name, 0) + 1

    @staticmethod
    def render_counts(t: Translator, language: str | None, counts: dict[str, int]) -> str:
        parts = [t(language, f"roster.count_{name}", count=n) for name, n in sorted(counts.items()) if n]
        return t(language, "roster.count_separator").join(parts) or "0"

    def render(self, t: Translator, language: str | None) -> list[str]:
        lines = []
        for p in self.problems:
            values = {k: t(language, v) if v.startswith("roster.field_") else v for k, v in p.values.items()}
            sheet = f"[{p.sheet}] " if p.sheet else ""
            problem = t(language, p.key, **values)
            lines.append(t(language, "roster.problem_line", sheet=sheet, row=p.row, problem=problem))
        return lines


@dataclass(frozen=True)
class HouseholdRow:
    sheet: str
    row: int
    compound: str
    building: str
    unit: str
    room: str
    area: Decimal | None


@dataclass(frozen=True)
class StaffRow:
    sheet: str
    row: int
    name: str
    phone: str
    role: str
    compound: str | None
    buildings: tuple[str, ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class CompoundRow:
    row: int
    compound: str
    duty_phone: str | None


Table = tuple[str, list[dict[str, str]]]  # sheet label, rows keyed by canonical header (row numbers from 2)


def read_tables(path: Path) -> list[Table]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValueError("roster.bad_encoding")
        reader = csv.reader(io.StringIO(text))
        rows = [list(r) for r in reader]
        return [_table(path.name, rows)]
    raise ValueError("roster.bad_format")


def _read_xlsx(path: Path) -> list[Table]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise ValueError("roster.not_a_spreadsheet") from error
    tables = []
    for sheet in workbook.worksheets:
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        tables.append(_table(sheet.title, rows))
    workbook.close()
    return tables


def _table(label: str, rows: list[list[str]]) -> Table:
    if not rows:
        return label, []
    header = [HEADER_ALIASES.get(h.strip().lower(), HEADER_ALIASES.get(h.strip(), "")) for h in rows[0]]
    records = []
    for values in rows[1:]:
        record = {name: _clean(values[i]) if i < len(values) else "" for i, name in enumerate(header) if name}
        records.append(record)
    return label, records


def _clean(value: str) -> str:
    text = value.strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]  # spreadsheets turn room 501 into 501.0
    return text


def parse(
    tables: Iterable[Table],
) -> tuple[list[CompoundRow], list[HouseholdRow], list[StaffRow], list[RosterProblem]]:
    compounds: list[CompoundRow] = []
    households: list[HouseholdRow] = []
    staff: list[StaffRow] = []
    problems: list[RosterProblem] = []
    for label, records in tables:
        if not records:
            continue
        keys = set().union(*(r.keys() for r in records))
        for index, record in enumerate(records, start=2):
            if not any(record.values()):
                continue
            if "room" in keys:
                _parse_household(label, index, record, households, problems)
            elif "role" in keys:
                _parse_staff(label, index, record, staff, problems)
            elif "duty_phone" in keys:
                _parse_compound(label, index, record, compounds, problems)
            else:
                problems.append(RosterProblem(label, 1, "roster.err_unknown_sheet"))
                break
    _check_duplicates(households, staff, problems)
    return compounds, households, staff, problems


def _missing(label: str, row: int, field_key: str) -> RosterProblem:
    return RosterProblem(label, row, "roster.err_missing", {"field": f"roster.field_{field_key}"})


def _parse_compound(
    label: str, row: int, r: dict[str, str], out: list[CompoundRow], problems: list[RosterProblem]
) -> None:
    if not r.get("compound"):
        problems.append(_missing(label, row, "compound"))
        return
    phone = r.get("duty_phone") or None
    # Checked without separators, kept as written: posters print "028-66668888", which is easier to read.
    if phone is not None and not DUTY_PHONE_RE.match(re.sub(r"[\s\-]", "", phone)):
        problems.append(RosterProblem(label, row, "roster.err_phone"))
        return
    out.append(CompoundRow(row, r["compound"], phone[:32] if phone else None))


def _parse_household(
    label: str, row: int, r: dict[str, str], out: list[HouseholdRow], problems: list[RosterProblem]
) -> None:
    before = len(problems)
    for key in ("compound", "building", "unit", "room"):
        if not r.get(key):
            problems.append(_missing(label, row, key))
    area: Decimal | None = None
    if r.get("area"):
        try:
            area = Decimal(r["area"].replace("m²", "").replace("㎡", "").strip())
        except InvalidOperation:
            problems.append(RosterProblem(label, row, "roster.err_area", {"value": r["area"][:20]}))
        else:
            if not area.is_finite() or area <= 0 or area > MAX_AREA:
                problems.append(RosterProblem(label, row, "roster.err_area", {"value": r["area"][:20]}))
    if len(problems) == before:
        out.append(HouseholdRow(label, row, r["compound"], r["building"], r["unit"], r["room"], area))


def _parse_staff(
    label: str, row: int, r: dict[str, str], out: list[StaffRow], problems: list[RosterProblem]
) -> None:
    before = len(problems)
    for key in ("name", "phone", "role"):
        if not r.get(key):
            problems.append(_missing(label, row, key))
    phone = re.sub(r"[\s\-]", "", r.get("phone", ""))
    if phone and not PHONE_RE.match(phone):
        problems.append(RosterProblem(label, row, "roster.err_phone"))
    role = parse_role(r.get("role", "")) if r.get("role") else None
    if r.get("role") and role is None:
        problems.append(RosterProblem(label, row, "roster.err_role", {"value": r["role"][:20]}))
    kinds: list[str] = []
    for part in LIST_SPLIT_RE.split(r.get("kinds", "")):
        if not part:
            continue
        kind = parse_work_kind(part)
        if kind is None:
            problems.append(RosterProblem(label, row, "roster.err_kind", {"value": part[:20]}))
        else:
            kinds.append(kind.value)
    buildings = tuple(b for b in LIST_SPLIT_RE.split(r.get("buildings", "")) if b)
    if buildings and not r.get("compound"):
        problems.append(_missing(label, row, "compound"))
    if len(problems) == before and role is not None:
        out.append(
            StaffRow(
                label,
                row,
                r["name"][:100],
                phone,
                role.value,
                r.get("compound") or None,
                buildings,
                tuple(kinds),
            )
        )


def _check_duplicates(
    households: list[HouseholdRow], staff: list[StaffRow], problems: list[RosterProblem]
) -> None:
    seen: dict[tuple[str, str, str, str], HouseholdRow] = {}
    for h in households:
        key = (h.compound, h.building, h.unit, h.room)
        if key in seen and seen[key].area != h.area:
            problems.append(
                RosterProblem(h.sheet, h.row, "roster.err_duplicate_room", {"first": str(seen[key].row)})
            )
        seen.setdefault(key, h)
    names: dict[str, str] = {}
    for s in staff:
        if s.phone in names and names[s.phone] != s.name:
            problems.append(RosterProblem(s.sheet, s.row, "roster.err_phone_two_names"))
        names.setdefault(s.phone, s.name)


async def _check_places(
    uow: UnitOfWork,
    compounds: list[CompoundRow],
    households: list[HouseholdRow],
    staff: list[StaffRow],
    problems: list[RosterProblem],
) -> None:
    """A staff row may only name a compound and buildings the file or the database already has: a misspelt
    name is a mistake to show, never a new compound."""
    in_file = {c.compound for c in compounds} | {h.compound for h in households}
    buildings_in_file = {(h.compound, h.building) for h in households}
    for s in staff:
        if s.compound is None:
            continue
        compound = await uow.community.compound_by_name(s.compound)
        if compound is None and s.compound not in in_file:
            problems.append(
                RosterProblem(s.sheet, s.row, "roster.err_unknown_compound", {"value": s.compound[:30]})
            )
            continue
        for name in s.buildings:
            if (s.compound, name) in buildings_in_file:
                continue
            if compound is None or await uow.community.building_by_name(compound.id, name) is None:
                problems.append(
                    RosterProblem(s.sheet, s.row, "roster.err_unknown_building", {"value": name[:20]})
                )


async def import_roster(uow: UnitOfWork, tables: list[Table], now: datetime) -> RosterReport:
    compounds, households, staff, problems = parse(tables)
    report = RosterReport(problems=problems)
    async with uow:
        # Every problem at once: the file's own, then what only the database can tell.
        await _check_places(uow, compounds, households, staff, report.problems)
        if report.problems:
            return report
        compound_ids: dict[str, int] = {}

        async def compound_id(name: str) -> int:
            if name not in compound_ids:
                compound = await uow.community.compound_by_name(name)
                if compound is None:
                    compound = await uow.community.add_compound(name[:100], now)
                    report.bump(report.created, "compounds")
                compound_ids[name] = compound.id
            return compound_ids[name]

        for c in compounds:
            cid = await compound_id(c.compound)
            compound = await uow.community.compound(cid)
            if compound is not None and compound.duty_phone != c.duty_phone:
                compound.duty_phone = c.duty_phone
                report.bump(report.updated, "compounds")
        for h in households:
            cid = await compound_id(h.compound)
            building = await uow.community.building_by_name(cid, h.building)
            if building is None:
                building = await uow.community.add_building(cid, h.building[:50])
                report.bump(report.created, "buildings")
            unit = await uow.community.unit_by_name(building.id, h.unit)
            if unit is None:
                unit = await uow.community.add_unit(building.id, h.unit[:50])
                report.bump(report.created, "units")
            household = await uow.community.household_by_room(unit.id, h.room)
            if household is None:
                await uow.community.add_household(unit.id, h.room[:20], h.area)
                report.bump(report.created, "households")
            elif h.area is not None and household.floor_area != h.area:
                household.floor_area = h.area
                report.bump(report.updated, "households")
        for s in staff:
            staff_cid: int | None = await compound_id(s.compound) if s.compound else None
            building_ids: list[int] = []
            for name in s.buildings:
                building = None
                if staff_cid is not None:
                    building = await uow.community.building_by_name(staff_cid, name)
                if building is None:  # checked above; a room sheet may still add it
                    continue
                building_ids.append(building.id)
            person = await uow.community.person_by_phone(s.phone)
            if person is None:
                person = await uow.community.add_roster_person(s.name, s.phone, now)
                report.bump(report.created, "people")
            elif person.display_name != s.name:
                person.display_name = s.name
                report.bump(report.updated, "people")
            role = await uow.community.staff_role(person.id, s.role, staff_cid)
            if role is None:
                role = await uow.community.add_staff_role(person.id, s.role, staff_cid, now)
                report.bump(report.created, "roles")
            elif not role.active:
                role.active = True
                report.bump(report.updated, "roles")
            wanted = _wanted_areas(building_ids, s.kinds)
            current = sorted((a.building_id or 0, tuple(sorted(a.work_kinds or []))) for a in role.areas)
            if current != wanted:
                role.areas.clear()
                for building_id, kinds in wanted:
                    role.areas.append(
                        ResponsibilityArea(building_id=building_id or None, work_kinds=list(kinds))
                    )
                report.bump(report.updated, "areas")
        if staff:
            await _end_roles_not_listed(uow, staff, compound_ids, report)
        if report.problems:
            await uow.rollback()
            report.created.clear()
            report.updated.clear()
            return report
        await uow.commit()
    return report


async def _end_roles_not_listed(
    uow: UnitOfWork, staff: list[StaffRow], compound_ids: dict[str, int], report: RosterReport
) -> None:
    """Staff are who the roster says: a roster role missing from a new staff sheet ends (kept for history)."""
    listed: set[tuple[str, str, int | None]] = {
        (s.phone, s.role, compound_ids.get(s.compound) if s.compound else None) for s in staff
    }
    covered = {compound_ids.get(s.compound) if s.compound else None for s in staff}
    for role, person in await uow.community.active_roster_roles():
        if role.compound_id not in covered:
            continue
        if (person.phone or "", role.role, role.compound_id) not in listed:
            role.active = False
            report.bump(report.updated, "roles_ended")


def _wanted_areas(building_ids: list[int], kinds: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
    sorted_kinds = tuple(sorted(set(kinds)))
    if not building_ids:
        return [(0, sorted_kinds)]
    return sorted((b, sorted_kinds) for b in set(building_ids))

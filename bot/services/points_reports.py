"""Points reports: the audit (balances against the ledger), admin exports, the resident's statement."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.db.models.points import EntryKind, VoucherStatus
from bot.db.uow import UnitOfWork
from bot.i18n import Translator
from bot.services.common import FALLBACK_TIMEZONE
from bot.services.errors import Problem
from bot.services.points import PointsSummary

HOLDING = (VoucherStatus.HELD, VoucherStatus.ACTIVE, VoucherStatus.USED)
RETURNED = (VoucherStatus.CANCELLED, VoucherStatus.EXPIRED, VoucherStatus.RELEASED)


@dataclass
class AuditReport:
    accounts: int = 0
    entries: int = 0
    vouchers: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def audit(uow: UnitOfWork) -> AuditReport:
    """Prove every cached balance equals the sum of its ledger, no balance or stock is negative, every
    running balance is consistent, and each voucher's points were held once and returned at most once."""
    report = AuditReport()
    async with uow:
        repo = uow.points
        # One snapshot for every query below, so a bot running meanwhile cannot cause a false alarm.
        await repo.snapshot()
        sums = await repo.ledger_sums()
        for account in await repo.all_accounts():
            report.accounts += 1
            total = sums.get(account.id, 0)
            if total != account.balance:
                report.problems.append(
                    Problem(
                        "cli.audit_balance",
                        f"account {account.id}: balance {account.balance} but ledger sums to {total}",
                        account=account.id,
                        balance=account.balance,
                        total=total,
                    )
                )
            if account.balance < 0:
                report.problems.append(
                    Problem(
                        "cli.audit_negative",
                        f"account {account.id}: negative balance {account.balance}",
                        account=account.id,
                        balance=account.balance,
                    )
                )
        running: dict[int, int] = defaultdict(int)
        holds: dict[str, int] = defaultdict(int)
        releases: dict[str, int] = defaultdict(int)
        for entry in await repo.all_entries():
            report.entries += 1
            running[entry.account_id] += entry.amount
            if running[entry.account_id] != entry.balance_after:
                report.problems.append(
                    Problem(
                        "cli.audit_running",
                        f"entry {entry.id}: balance_after {entry.balance_after}, "
                        f"running sum {running[entry.account_id]}",
                        entry=entry.id,
                        after=entry.balance_after,
                        running=running[entry.account_id],
                    )
                )
            if entry.kind == EntryKind.HOLD and entry.ref_id:
                holds[entry.ref_id] += 1
            if entry.kind == EntryKind.RELEASE and entry.ref_id:
                releases[entry.ref_id] += 1
        for voucher in await repo.all_vouchers():
            report.vouchers += 1
            ref = str(voucher.id)
            if holds[ref] != 1:
                report.problems.append(
                    Problem(
                        "cli.audit_holds",
                        f"voucher {voucher.code}: {holds[ref]} hold entries",
                        code=voucher.code,
                        count=holds[ref],
                    )
                )
            expected = 1 if voucher.status in RETURNED else 0
            if releases[ref] != expected:
                report.problems.append(
                    Problem(
                        "cli.audit_releases",
                        f"voucher {voucher.code} ({voucher.status}): {releases[ref]} release entries",
                        code=voucher.code,
                        count=releases[ref],
                        expected=expected,
                    )
                )
            if voucher.status == VoucherStatus.USED and voucher.used_at is None:
                report.problems.append(
                    Problem(
                        "cli.audit_used_no_time",
                        f"voucher {voucher.code}: used without a time",
                        code=voucher.code,
                    )
                )
        for service in await repo.services_below_zero_stock():
            report.problems.append(
                Problem(
                    "cli.audit_stock",
                    f"service {service.id} {service.name}: stock {service.stock}",
                    name=service.name,
                    stock=service.stock,
                )
            )
    return report


@dataclass(frozen=True)
class MonthFigures:
    compound: str
    month: str
    issued: int
    redeemed: int
    held: int
    outstanding: int


def _month(when: datetime, tz: str) -> str:
    return f"{when.astimezone(ZoneInfo(tz)):%Y-%m}"


async def points_by_month(uow: UnitOfWork, compound_name: str | None = None) -> list[MonthFigures]:
    """Per compound and month: points issued (earned, awarded, net of deductions and reversals), redeemed
    (vouchers used that month), held at month end (vouchers not yet used) and outstanding (balances)."""
    figures: list[MonthFigures] = []
    async with uow:
        if compound_name:
            named = await uow.community.compound_by_name(compound_name)
            compounds = [named] if named is not None else []
        else:
            compounds = await uow.community.compounds()
        for compound in compounds:
            tz = compound.timezone or FALLBACK_TIMEZONE
            entries = await uow.points.all_entries(compound.id)
            vouchers = await uow.points.all_vouchers(compound.id)
            issued: dict[str, int] = defaultdict(int)
            net: dict[str, int] = defaultdict(int)
            redeemed: dict[str, int] = defaultdict(int)
            for entry in entries:
                month = _month(entry.created_at, tz)
                net[month] += entry.amount
                if entry.earning:
                    issued[month] += entry.amount
            for voucher in vouchers:
                if voucher.status == VoucherStatus.USED and voucher.used_at is not None:
                    redeemed[_month(voucher.used_at, tz)] += voucher.cost
            months = sorted(set(net) | set(redeemed))
            outstanding = 0
            for month in months:
                outstanding += net[month]
                held = sum(
                    v.cost
                    for v in vouchers
                    if _month(v.created_at, tz) <= month
                    and (v.closed_at is None or _month(v.closed_at, tz) > month)
                )
                figures.append(
                    MonthFigures(compound.name, month, issued[month], redeemed[month], held, outstanding)
                )
    return figures


@dataclass(frozen=True)
class RedemptionRow:
    compound: str
    partner: str
    month: str
    used_at: str
    code: str
    service: str
    points: int
    verified_by: str


async def redemptions(
    uow: UnitOfWork, *, month: str | None = None, partner_name: str | None = None
) -> list[RedemptionRow]:
    """The merchants' settlement list: every used voucher by partner and month (no resident details)."""
    rows: list[RedemptionRow] = []
    async with uow:
        for voucher, partner, service, compound in await uow.points.used_vouchers():
            tz = compound.timezone or FALLBACK_TIMEZONE
            assert voucher.used_at is not None
            used_month = _month(voucher.used_at, tz)
            if month and used_month != month:
                continue
            if partner_name and partner.name != partner_name:
                continue
            verifier = await uow.community.person(voucher.used_by) if voucher.used_by else None
            rows.append(
                RedemptionRow(
                    compound.name,
                    partner.name,
                    used_month,
                    f"{voucher.used_at.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}",
                    voucher.code,
                    service.name,
                    voucher.cost,
                    verifier.display_name if verifier else "",
                )
            )
    return rows


def statement_xlsx(t: Translator, language: str, summary: PointsSummary) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = t(language, "points.xlsx_sheet")[:31]
    sheet.append([t(language, "points.xlsx_title", compound=summary.compound_name, balance=summary.balance)])
    sheet.append(
        [
            t(language, "points.xlsx_col_time"),
            t(language, "points.xlsx_col_kind"),
            t(language, "points.xlsx_col_points"),
            t(language, "points.xlsx_col_balance"),
            t(language, "points.xlsx_col_reason"),
        ]
    )
    zone = ZoneInfo(summary.timezone)
    for entry in reversed(summary.entries):
        sheet.append(
            [
                f"{entry.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
                t(language, f"points.kind_{entry.kind}"),
                entry.amount,
                entry.balance_after,
                entry.reason,
            ]
        )
    for column, width in zip("ABCDE", (18, 10, 8, 8, 40), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_xlsx(header: list[str], rows: list[list[object]], title: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

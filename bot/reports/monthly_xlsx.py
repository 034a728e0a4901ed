"""The monthly report's tables for Excel: one sheet per table, the same rows as the PDF."""

from __future__ import annotations

import io
from collections.abc import Callable

from bot.reports import monthly_pdf as tables
from bot.services.stats import Figures

Text = Callable[..., str]


def render(figures: Figures, text: Text) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    sheets: list[tuple[str, list[list[str]]]] = [
        (text("stats.pdf.cover"), tables.cover_rows(text, figures)),
        (text("stats.pdf.channels"), tables.channel_rows(text, figures)),
        (
            text("stats.pdf.kinds"),
            tables.group_rows(
                text, figures.by_kind, text("stats.pdf.kind"), lambda k: text(f"repairs.kind.{k}")
            ),
        ),
        (
            text("stats.pdf.buildings"),
            tables.group_rows(
                text,
                figures.by_building,
                text("stats.pdf.building"),
                lambda b: b or text("stats.public_area"),
            ),
        ),
        (text("stats.pdf.overdue"), tables.ticket_rows(text, figures.overdue, figures.scope.tz, due=True)),
        (text("stats.pdf.reopened"), tables.ticket_rows(text, figures.reopened, figures.scope.tz, due=False)),
        (text("stats.pdf.repeats"), tables.repeat_rows(text, figures)),
        (text("stats.pdf.honour"), tables.honour_rows(text, figures)),
        (text("stats.pdf.patrols"), tables.service_rows(text, figures)),
        (text("stats.pdf.redemptions"), tables.redemption_rows(text, figures)),
    ]
    if figures.comparison:
        sheets.append(
            (
                text("stats.pdf.comparison"),
                tables.group_rows(text, figures.comparison, text("stats.pdf.compound"), lambda n: n),
            )
        )
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    used: set[str] = set()
    for title, rows in sheets:
        name = _sheet_name(title, used)
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.columns:
            width = max((len(str(c.value or "")) for c in column), default=8)
            sheet.column_dimensions[column[0].column_letter].width = min(40, 2 * width + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel allows 31 characters and no []:*?/\\ in a sheet name, each name once."""
    name = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[:28]}({n})"
        n += 1
    used.add(name)
    return name

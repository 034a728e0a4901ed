"""The printable monthly report (A4, Chinese by default): cover figures, charts, the overdue and reopened
lists, the honour board, patrols and volunteers, and the compounds side by side (the annual appraisal)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.reports import charts
from bot.reports.fonts import reportlab_font
from bot.services.repairs_common import number_of
from bot.services.stats import Figures, GroupFigures, Rates, TicketLine, arrow

Text = Callable[..., str]
CHARTS = ("flow", "kinds", "butlers", "heat")


def _rate(text: Text, value: float | None) -> str:
    return text("stats.no_data") if value is None else f"{value:.0%}"


def _duration(text: Text, minutes: float | None) -> str:
    if minutes is None:
        return text("stats.no_data")
    if minutes < 90:
        return text("stats.minutes", value=f"{minutes:.0f}")
    return text("stats.hours", value=f"{minutes / 60:.1f}")


def scope_name(text: Text, figures: Figures) -> str:
    scope = figures.scope
    name = scope.label or text("stats.all_compounds", count=len(scope.compound_ids))
    return f"{name} {scope.building}" if scope.building else name


def cover_rows(text: Text, figures: Figures) -> list[list[str]]:
    """The cover table: each figure this month and last month (the xlsx writes the same rows)."""
    now, before = figures.total, figures.previous

    def rate_row(key: str, attr: str) -> list[str]:
        a, b = getattr(now, attr), getattr(before, attr)
        return [text(key), _rate(text, a) + arrow(a, b), _rate(text, b)]

    return [
        [text("stats.pdf.figure"), text("stats.pdf.value"), text("stats.pdf.previous")],
        [text("stats.pdf.intake"), str(now.intake), str(before.intake)],
        [text("stats.pdf.resolved"), str(now.resolved), str(before.resolved)],
        rate_row("stats.rate.response", "response"),
        rate_row("stats.rate.resolution", "resolution"),
        rate_row("stats.rate.on_time", "on_time"),
        rate_row("stats.rate.satisfaction", "satisfaction"),
        rate_row("stats.rate.visit", "visit"),
        rate_row("stats.rate.reopen", "reopen"),
        [text("stats.pdf.accept_median"), _duration(text, figures.accept_median), ""],
        [text("stats.pdf.resolve_median"), _duration(text, figures.resolve_median), ""],
        [text("stats.pdf.overdue_now"), str(figures.overdue_count), ""],
    ]


def group_rows(
    text: Text, groups: Sequence[GroupFigures], first: str, label: Callable[[str], str]
) -> list[list[str]]:
    header = [
        first,
        text("stats.pdf.intake"),
        text("stats.rate.response"),
        text("stats.rate.resolution"),
        text("stats.rate.satisfaction"),
        text("stats.rate.on_time"),
        text("stats.rate.visit"),
        text("stats.rate.reopen"),
    ]

    def with_arrow(now: Rates, before: Rates, attr: str) -> str:
        a, b = getattr(now, attr), getattr(before, attr)
        return _rate(text, a) + arrow(a, b)

    rows = [header]
    for g in groups:
        r = g.rates
        rows.append(
            [
                label(g.label),
                str(r.intake),
                with_arrow(r, g.previous, "response"),
                with_arrow(r, g.previous, "resolution"),
                with_arrow(r, g.previous, "satisfaction"),
                _rate(text, r.on_time),
                _rate(text, r.visit),
                _rate(text, r.reopen),
            ]
        )
    return rows


def ticket_rows(text: Text, lines: Sequence[TicketLine], tz: str, *, due: bool) -> list[list[str]]:
    zone = ZoneInfo(tz)
    header = [
        text("stats.pdf.number"),
        text("stats.pdf.compound"),
        text("stats.pdf.kind"),
        text("stats.pdf.place"),
        text("stats.pdf.status"),
        text("stats.pdf.assignee"),
        text("stats.pdf.due") if due else text("stats.pdf.times"),
    ]
    rows = [header]
    for line in lines:
        last = (
            (line.due_at.astimezone(zone).strftime("%m-%d %H:%M") if line.due_at else "—")
            if due
            else str(line.reopen_count)
        )
        rows.append(
            [
                number_of(line.id),
                line.compound,
                text(f"repairs.kind.{line.kind}"),
                line.place or "—",
                text(f"repairs.status.{line.status}"),
                line.assignee or text("stats.nobody"),
                last,
            ]
        )
    return rows


def honour_rows(text: Text, figures: Figures) -> list[list[str]]:
    rows = [
        [
            text("stats.pdf.rank"),
            text("stats.pdf.name"),
            text("stats.pdf.done"),
            text("stats.pdf.on_time"),
            text("stats.pdf.rating"),
        ]
    ]
    for index, h in enumerate(figures.honour, start=1):
        rows.append(
            [
                str(index),
                h.name,
                str(h.resolved),
                f"{h.on_time / h.resolved:.0%}",
                f"{h.average:.1f}" if h.average is not None else "—",
            ]
        )
    return rows


def service_rows(text: Text, figures: Figures) -> list[list[str]]:
    p, v, e = figures.patrols, figures.volunteers, figures.events
    return [
        [text("stats.pdf.figure"), text("stats.pdf.value")],
        [text("stats.pdf.shifts"), str(p.shifts)],
        [text("stats.pdf.filled"), str(p.filled)],
        [text("stats.pdf.booked"), str(p.booked)],
        [text("stats.pdf.completed"), str(p.completed)],
        [text("stats.pdf.no_shows"), str(p.no_shows)],
        [text("stats.pdf.findings"), str(p.findings)],
        [text("stats.pdf.hours"), f"{v.hours:.1f}"],
        [text("stats.pdf.volunteers"), str(v.people)],
        [text("stats.pdf.points"), str(v.points_issued)],
        [text("stats.pdf.event_count"), str(e.events)],
        [text("stats.pdf.signups"), str(e.signups)],
        [text("stats.pdf.attended"), str(e.attended)],
    ]


def redemption_rows(text: Text, figures: Figures) -> list[list[str]]:
    rows = [[text("stats.pdf.partner"), text("stats.pdf.vouchers"), text("stats.pdf.points")]]
    rows += [[name, str(count), str(points)] for name, count, points in figures.volunteers.redemptions]
    return rows


def channel_rows(text: Text, figures: Figures) -> list[list[str]]:
    rows = [[text("stats.pdf.channels"), text("stats.pdf.count")]]
    rows += [[text(f"stats.channel.{c}"), str(n)] for c, n in figures.by_channel]
    return rows


def repeat_rows(text: Text, figures: Figures) -> list[list[str]]:
    rows = [
        [text("stats.pdf.compound"), text("stats.pdf.place"), text("stats.pdf.kind"), text("stats.pdf.times")]
    ]
    rows += [[c, p, text(f"repairs.kind.{k}"), str(n)] for c, p, k, n in figures.repeats]
    return rows


def render(figures: Figures, text: Text) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = reportlab_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=20, leading=26, spaceAfter=6)
    heading = ParagraphStyle("heading", parent=body, fontSize=14, leading=20, spaceBefore=10, spaceAfter=6)
    cell = ParagraphStyle("cell", parent=body, fontSize=8.5, leading=11)
    width = A4[0] - 3 * cm

    def table(rows: list[list[str]], widths: Sequence[float] | None = None) -> Any:
        if len(rows) <= 1:
            return Paragraph(text("stats.pdf.none"), body)
        data = [[Paragraph(value, cell) for value in row] for row in rows]
        out = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        out.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#fde2e2")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        return out

    def picture(kind: str) -> Any:
        data = charts.single(kind, figures, text)
        return Image(io.BytesIO(data), width=width, height=width * 3.6 / 7)

    name = scope_name(text, figures)
    generated = figures.now.astimezone(ZoneInfo(figures.scope.tz)).strftime("%Y-%m-%d %H:%M")
    story: list[Any] = [
        Paragraph(text("stats.pdf.title", scope=name), title),
        Paragraph(text("stats.pdf.subtitle", month=figures.scope.period, generated=generated), body),
        Spacer(1, 0.4 * cm),
        Paragraph(text("stats.pdf.cover"), heading),
        table(cover_rows(text, figures), [width * 0.5, width * 0.25, width * 0.25]),
        Spacer(1, 0.3 * cm),
        table(channel_rows(text, figures), [width * 0.5, width * 0.25]),
        Paragraph(text("stats.pdf.kinds"), heading),
        table(group_rows(text, figures.by_kind, text("stats.pdf.kind"), lambda k: text(f"repairs.kind.{k}"))),
        Paragraph(text("stats.pdf.buildings"), heading),
        table(
            group_rows(
                text,
                figures.by_building,
                text("stats.pdf.building"),
                lambda b: b or text("stats.public_area"),
            )
        ),
        PageBreak(),
        Paragraph(text("stats.pdf.charts"), heading),
    ]
    story += [picture(kind) for kind in CHARTS]
    story += [
        PageBreak(),
        Paragraph(text("stats.pdf.overdue"), heading),
        table(ticket_rows(text, figures.overdue, figures.scope.tz, due=True)),
        Paragraph(text("stats.pdf.reopened"), heading),
        table(ticket_rows(text, figures.reopened, figures.scope.tz, due=False)),
        Paragraph(text("stats.pdf.repeats"), heading),
        table(repeat_rows(text, figures)),
        Paragraph(text("stats.pdf.honour"), heading),
        table(honour_rows(text, figures)),
        Paragraph(text("stats.pdf.patrols"), heading),
        table(service_rows(text, figures), [width * 0.5, width * 0.25]),
        Spacer(1, 0.3 * cm),
        Paragraph(text("stats.pdf.redemptions"), body),
        table(redemption_rows(text, figures)),
    ]
    if figures.comparison:
        story += [
            PageBreak(),
            Paragraph(text("stats.pdf.comparison"), heading),
            table(group_rows(text, figures.comparison, text("stats.pdf.compound"), lambda n: n)),
            Spacer(1, 0.3 * cm),
            picture("compounds"),
        ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.5 * cm,
        title=text("stats.pdf.title", scope=name),
    )
    doc.build(story)
    return buffer.getvalue()

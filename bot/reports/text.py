"""The figures in words, in the reader's language: /stats's five lines, the digest's three things, 公示."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.i18n import Translator
from bot.services.stats import Figures, arrow


def rate(t: Translator, language: str | None, value: float | None) -> str:
    return t(language, "stats.no_data") if value is None else f"{value:.0%}"


def rate_with_arrow(t: Translator, language: str | None, value: float | None, before: float | None) -> str:
    return rate(t, language, value) + arrow(value, before)


def duration(t: Translator, language: str | None, minutes: float | None) -> str:
    if minutes is None:
        return t(language, "stats.no_data")
    if minutes < 90:
        return t(language, "stats.minutes", value=f"{minutes:.0f}")
    return t(language, "stats.hours", value=f"{minutes / 60:.1f}")


def scope_label(t: Translator, language: str | None, figures: Figures) -> str:
    scope = figures.scope
    name = scope.label or t(language, "stats.all_compounds", count=len(scope.compound_ids))
    return f"{name} {scope.building}" if scope.building else name


def figures_text(t: Translator, language: str | None, figures: Figures) -> str:
    """The caption under /stats's picture: a title and five lines of figures."""
    now, before = figures.total, figures.previous
    return t(
        language,
        "stats.figures",
        scope=scope_label(t, language, figures),
        month=figures.scope.period,
        note=t(language, "stats.empty_note") if figures.empty else "",
        intake=now.intake,
        previous=before.intake,
        resolved=now.resolved,
        overdue=figures.overdue_count,
        response=rate_with_arrow(t, language, now.response, before.response),
        resolution=rate_with_arrow(t, language, now.resolution, before.resolution),
        satisfaction=rate_with_arrow(t, language, now.satisfaction, before.satisfaction),
        on_time=rate(t, language, now.on_time),
        visit=rate(t, language, now.visit),
        reopen=rate(t, language, now.reopen),
        accept=duration(t, language, figures.accept_median),
        resolve=duration(t, language, figures.resolve_median),
        shifts=figures.patrols.shifts,
        no_shows=figures.patrols.no_shows,
        findings=figures.patrols.findings,
        hours=f"{figures.volunteers.hours:.0f}",
        attended=figures.events.attended,
        signups=figures.events.signups,
    )


def _late(t: Translator, language: str | None, due: datetime | None, now: datetime) -> str:
    if due is None:
        return "—"
    return duration(t, language, max(0.0, (now - due).total_seconds() / 60))


def attention(
    t: Translator, language: str | None, figures: Figures, number: Callable[[int], str], week_start: datetime
) -> list[str]:
    """The weekly digest's three things: the most overdue ticket, the worst rated one, a repeat place.

    `number` turns a ticket id into its printed number (the repairs capability owns that format)."""
    lines = []
    if figures.overdue:
        first = figures.overdue[0]
        lines.append(
            t(
                language,
                "stats.attention.overdue",
                number=number(first.id),
                kind=t(language, f"repairs.kind.{first.kind}"),
                place=first.place or "—",
                late=_late(t, language, first.due_at, figures.now),
            )
        )
    else:
        lines.append(t(language, "stats.attention.none_overdue"))
    worst = [w for w in figures.worst if w.created_at >= week_start]
    if worst:
        first = worst[0]
        lines.append(
            t(
                language,
                "stats.attention.worst",
                number=number(first.id),
                kind=t(language, f"repairs.kind.{first.kind}"),
                place=first.place or "—",
                stars=first.rating,
            )
        )
    else:
        lines.append(t(language, "stats.attention.none_worst"))
    if figures.repeats:
        _compound, place, kind, count = figures.repeats[0]
        lines.append(
            t(
                language,
                "stats.attention.repeat",
                place=place,
                kind=t(language, f"repairs.kind.{kind}"),
                count=count,
            )
        )
    else:
        lines.append(t(language, "stats.attention.none_repeat"))
    return lines


def public_text(t: Translator, language: str | None, figures: Figures) -> str:
    """The monthly 公示 for the residents' group: the compound's figures and its butlers, nobody else."""
    rows = figures.honour[:10]
    lines = [
        t(
            language,
            "repairs.honour_line",
            rank=index,
            name=row.name,
            count=row.resolved,
            on_time=f"{row.on_time / row.resolved:.0%}",
            average=f"{row.average:.1f}" if row.average is not None else "—",
        )
        for index, row in enumerate(rows, start=1)
    ]
    honour = (
        t(language, "stats.public_honour", lines="\n".join(lines))
        if lines
        else t(language, "stats.public_no_honour")
    )
    now = figures.total
    return t(
        language,
        "stats.public",
        compound=scope_label(t, language, figures),
        month=figures.scope.period,
        intake=now.intake,
        resolved=now.resolved,
        response=rate(t, language, now.response),
        resolution=rate(t, language, now.resolution),
        satisfaction=rate(t, language, now.satisfaction),
        honour=honour,
    )

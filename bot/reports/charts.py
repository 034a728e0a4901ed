"""Charts for supervisors, drawn with matplotlib (Agg, imported only when a chart is drawn) as PNG bytes.

Every function takes plain figures (bot.services.stats) and `text`, which turns a catalogue key into the
reader's language; no words live here.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.reports.fonts import matplotlib_family
from bot.services.stats import Figures, GroupFigures, arrow

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Text = Callable[..., str]
COLOURS = ("#c0392b", "#e67e22", "#f1c40f", "#27ae60", "#2980b9", "#8e44ad", "#7f8c8d", "#16a085")
RATE_COLOURS = ("#c0392b", "#2980b9", "#27ae60")  # 响应率, 办结率, 满意率
MAX_CELL_LABELS = 36
MAX_BARS = 8  # butlers or compounds in one rate chart: more would not read on a phone


def _new_figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    family = matplotlib_family()
    if family is not None:
        # One family, no fallback chain: the CJK font has Latin too, and each fallback costs a font lookup
        # per text item (a third of the drawing time).
        matplotlib.rcParams["font.family"] = [family]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(width, height), dpi=100)


def _png(figure: Figure, dpi: int = 100) -> bytes:
    buffer = io.BytesIO()
    # Light compression: a few hundred KB either way, and encoding would otherwise be a tenth of the time.
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    # A figure is a web of cycles the garbage collector frees late; clearing it now keeps the PDF's five
    # charts from all sitting in memory at once.
    figure.clear()
    return buffer.getvalue()


def _nothing(ax: Axes, text: Text, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, text("stats.no_data"), ha="center", va="center", fontsize=14, color="#7f8c8d")
    ax.set_axis_off()


def _headroom(ax: Axes, peak: float) -> None:
    """Room above the tallest bar for the legend, so it never hides a bar."""
    ax.set_ylim(0, max(1.0, peak) * 1.4)


def _kind(text: Text, kind: str) -> str:
    return text(f"repairs.kind.{kind}") if kind else "—"


def flow(ax: Axes, figures: Figures, text: Text) -> None:
    """Reported vs resolved, week by week."""
    from matplotlib.ticker import MaxNLocator

    title = text("stats.chart.flow")
    buckets = figures.buckets
    if not any(b.intake or b.resolved for b in buckets):
        _nothing(ax, text, title)
        return
    xs = range(len(buckets))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], [b.intake for b in buckets], width, label=text("stats.intake"),
           color="#e67e22")  # fmt: skip
    ax.bar([x + width / 2 for x in xs], [b.resolved for b in buckets], width, label=text("stats.resolved"),
           color="#27ae60")  # fmt: skip
    ax.set_xticks(list(xs), [b.label for b in buckets])
    ax.set_title(title)
    _headroom(ax, max(max(b.intake, b.resolved) for b in buckets))
    ax.legend(loc="upper left", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def by_kind(ax: Axes, figures: Figures, text: Text) -> None:
    """Reported per week, stacked by kind of work."""
    from matplotlib.ticker import MaxNLocator

    title = text("stats.chart.kinds")
    buckets = figures.buckets
    kinds: list[str] = []
    for bucket in buckets:
        for kind, _n in bucket.by_kind:
            if kind not in kinds:
                kinds.append(kind)
    if not kinds:
        _nothing(ax, text, title)
        return
    xs = list(range(len(buckets)))
    bottom = [0] * len(buckets)
    for index, kind in enumerate(kinds):
        values = [dict(b.by_kind).get(kind, 0) for b in buckets]
        ax.bar(xs, values, 0.6, bottom=bottom, label=_kind(text, kind), color=COLOURS[index % len(COLOURS)])
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_xticks(xs, [b.label for b in buckets])
    ax.set_title(title)
    _headroom(ax, max(bottom))
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def three_rates(ax: Axes, groups: Sequence[GroupFigures], text: Text, title: str) -> None:
    """三率 per butler or per compound, with the month-on-month arrow beside each bar."""
    groups = [g for g in groups if g.rates.intake][:MAX_BARS]
    if not groups:
        _nothing(ax, text, title)
        return
    names = [text("stats.nobody") if not g.label else g.label for g in groups]
    keys = ("stats.rate.response", "stats.rate.resolution", "stats.rate.satisfaction")
    height = 0.26
    for index, key in enumerate(keys):
        ys = [y + (index - 1) * height for y in range(len(groups))]
        values = [(g.rates.three()[index] or 0.0) * 100 for g in groups]
        ax.barh(ys, values, height, label=text(key), color=RATE_COLOURS[index])
        for y, group, value in zip(ys, groups, values, strict=True):
            now, before = group.rates.three()[index], group.previous.three()[index]
            label = "—" if now is None else f"{value:.0f}%{arrow(now, before)}"
            ax.text(min(value, 100) + 1, y, label, va="center", fontsize=7)
    ax.set_yticks(list(range(len(groups))), names)
    ax.invert_yaxis()
    # Bars end at 100%; the space to the right holds their labels and the legend.
    ax.set_xlim(0, 145)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=7)


def heat_map(ax: Axes, figures: Figures, text: Text) -> None:
    """Problems per building (per compound when several are shown) and kind: where to look first."""
    several = len(figures.scope.compound_ids) > 1
    title = text("stats.chart.heat_compound" if several else "stats.chart.heat")
    if not figures.heat:
        _nothing(ax, text, title)
        return
    totals: dict[str, int] = {}
    for building, _k, n in figures.heat:
        totals[building] = totals.get(building, 0) + n
    buildings = sorted(totals, key=lambda b: (-totals[b], b))[:12]
    kinds = sorted({k for _b, k, _n in figures.heat})
    grid = [[0] * len(kinds) for _ in buildings]
    for building, kind, n in figures.heat:
        if building in buildings:
            grid[buildings.index(building)][kinds.index(kind)] = n
    image = ax.imshow(grid, cmap="Reds", aspect="auto")
    ax.set_xticks(range(len(kinds)), [_kind(text, k) for k in kinds], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(buildings)), [b or text("stats.public_area") for b in buildings], fontsize=8)
    peak = max(max(row) for row in grid)
    low = min(min(row) for row in grid)
    if len(buildings) * len(kinds) > MAX_CELL_LABELS:
        # Too many cells to print each count legibly (and each label costs drawing time): a scale instead.
        ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        ax.set_title(title)
        return
    for y, row in enumerate(grid):
        for x, n in enumerate(row):
            if n:
                ax.text(x, y, str(n), ha="center", va="center", fontsize=8,
                        color="white" if n - low > (peak - low) / 2 else "black")  # fmt: skip
    ax.set_title(title)


def dashboard(figures: Figures, text: Text, *, heading: str) -> bytes:
    """The one picture /stats and the weekly digest send: four panels on a phone-sized canvas."""
    figure = _new_figure(10, 8)
    axes: Any = figure.subplots(2, 2)
    flow(axes[0][0], figures, text)
    by_kind(axes[0][1], figures, text)
    if len(figures.scope.compound_ids) > 1:
        three_rates(axes[1][0], figures.by_compound, text, text("stats.chart.rates_compound"))
    else:
        three_rates(axes[1][0], figures.by_butler, text, text("stats.chart.rates_butler"))
    heat_map(axes[1][1], figures, text)
    figure.suptitle(heading, fontsize=14)
    # Fixed margins rather than tight_layout, which draws every text twice to measure it.
    figure.subplots_adjust(left=0.1, right=0.95, top=0.9, bottom=0.1, wspace=0.28, hspace=0.35)
    return _png(figure)


def single(kind: str, figures: Figures, text: Text, *, width: float = 7, height: float = 3.6) -> bytes:
    """One chart on its own (the PDF places them one per row): flow | kinds | butlers | compounds | heat."""
    figure = _new_figure(width, height)
    ax = figure.subplots()
    if kind == "flow":
        flow(ax, figures, text)
    elif kind == "kinds":
        by_kind(ax, figures, text)
    elif kind == "butlers":
        three_rates(ax, figures.by_butler, text, text("stats.chart.rates_butler"))
    elif kind == "compounds":
        three_rates(ax, figures.comparison, text, text("stats.chart.rates_compound"))
    else:
        heat_map(ax, figures, text)
    figure.tight_layout()
    return _png(figure, dpi=120)

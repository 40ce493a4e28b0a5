"""Static SVG charts for the reports, drawn with matplotlib at build time.

No JavaScript and nothing from a CDN: every chart is a self-contained SVG that renders offline
and prints well. Text stays text (``svg.fonttype: none``), so the SVG is small, searchable and
uses the page's sans-serif font. Output is deterministic (fixed ``svg.hashsalt``, no date in
the metadata), so the same data gives byte-identical files and the site diff stays quiet.

Every function returns the SVG document as ``str``; the caller puts a data table next to it
(see :mod:`generator.reports`). matplotlib is imported lazily, inside the functions, so
importing this module costs nothing.

Each chart also comes ``narrow`` (:data:`NARROW_WIDTH` inches wide instead of 8 or 6.5, fewer
axis labels, row labels above the rows instead of beside them), drawn for phones: a chart
drawn 8 inches wide and shrunk to a 390 px screen shows its 10 pt labels about 5 px tall; the
narrow drawing shows them at 11 to 12 px. The report pages offer both (``<picture>``).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence

SEVERITY_COLORS = {
    "SEV1": "#b2182b",  # dark red
    "SEV2": "#ef8a62",  # orange
    "SEV3": "#f5d76e",  # yellow
    "SEV4": "#8fa8c8",  # grey-blue
}
"""Fill colour per severity: darkest for the worst, so the order survives grayscale printing."""

_RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "postmortem-kb",
    "font.family": "sans-serif",
    "font.sans-serif": ["Roboto", "Helvetica", "Arial", "DejaVu Sans", "Liberation Sans"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
}


NARROW_WIDTH = 4.2
"""Width in inches of the phone drawing: 302 pt, shown about 360 px wide on a 390 px screen,
so 10 pt text stays about 12 px tall."""


def _figure(width: float, height: float):
    # A bare Figure drawn by the SVG backend's canvas (below): no pyplot, no global backend
    # switch, no GUI, safe inside MkDocs and pytest.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _render(fig) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    FigureCanvasSVG(fig)
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": "postmortem-kb"})
    text = out.getvalue()
    # The XML declaration and DOCTYPE are kept: the file is served as image/svg+xml.
    return text


def _with_rc(func):
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    wrapper.__wrapped__ = func
    return wrapper


def _thin_labels(ax, labels: Sequence[str], max_labels: int = 16) -> None:
    """Label at most ``max_labels`` ticks (every k-th), so long periods stay legible."""
    step = max(1, math.ceil(len(labels) / max_labels))
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels([labels[i] for i in range(0, len(labels), step)], rotation=45, ha="right")


@_with_rc
def stacked_bars(categories: Sequence[str], series: dict[str, Sequence[int]], title: str,
                 ylabel: str = "incidents", colors: dict[str, str] | None = None, narrow: bool = False) -> str:
    """A stacked vertical bar chart, one bar per category (e.g. per quarter).

    Args:
        categories: x labels in order (``"2024-Q1"`` ...).
        series: stack label (``"SEV1"`` ...) -> one count per category, stacked in dict order
            from the bottom.
        title: chart title; ylabel: y-axis label.
        colors: stack label -> colour (default :data:`SEVERITY_COLORS`).
        narrow: the phone drawing (:data:`NARROW_WIDTH` wide, at most 8 labelled bars).

    Returns:
        The SVG document.
    """
    colors = colors or SEVERITY_COLORS
    fig = _figure(NARROW_WIDTH, 3.2) if narrow else _figure(8.0, 3.4)
    ax = fig.add_subplot()
    x = list(range(len(categories)))
    bottom = [0] * len(categories)
    for label, values in series.items():
        if not any(values):
            continue
        ax.bar(x, values, bottom=bottom, label=label, color=colors.get(label, "#999999"),
               width=0.8, edgecolor="white", linewidth=0.4)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title(_wrap(title, 44) if narrow else title)
    ax.set_ylabel(ylabel)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="x", visible=False)
    if categories:
        _thin_labels(ax, list(categories), 8 if narrow else 16)
        ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.legend(loc="upper left", ncols=4, fontsize=9)
    ax.set_ylim(0, max(bottom + [1]) * 1.25)
    return _render(fig)


@_with_rc
def median_p90(categories: Sequence[str], median: Sequence[float | None], p90: Sequence[float | None],
               title: str, counts: Sequence[int] | None = None, narrow: bool = False) -> str:
    """Median and p90 of a duration per period, on a log scale in hours.

    Args:
        categories: x labels in order.
        median, p90: seconds per category, ``None`` where no incident had the value.
        title: chart title.
        counts: optional n per category, drawn as small labels above the p90 marker.
        narrow: the phone drawing (:data:`NARROW_WIDTH` wide, at most 8 labelled periods).

    Returns:
        The SVG document. Periods without data are gaps, not zeros.
    """
    fig = _figure(NARROW_WIDTH, 3.2) if narrow else _figure(8.0, 3.4)
    ax = fig.add_subplot()
    x = list(range(len(categories)))

    def hours(values):
        return [None if v is None else max(v, 60.0) / 3600.0 for v in values]

    med, top = hours(median), hours(p90)
    for i, (m, t) in enumerate(zip(med, top)):
        if m is not None and t is not None:
            ax.plot([i, i], [m, t], color="#bbbbbb", linewidth=2, zorder=1)
    xs = [i for i, v in zip(x, top) if v is not None]
    ax.scatter(xs, [v for v in top if v is not None], marker="^", s=28, color="#b2182b", label="p90", zorder=3)
    xs = [i for i, v in zip(x, med) if v is not None]
    ax.scatter(xs, [v for v in med if v is not None], marker="o", s=24, color="#2166ac", label="median", zorder=3)
    if counts is not None:
        for i, (t, n) in enumerate(zip(top, counts)):
            if t is not None and n:
                ax.annotate(f"{n}" if narrow else f"n={n}", (i, t), textcoords="offset points", xytext=(0, 5),
                            ha="center", fontsize=8 if narrow else 7, color="#666666")
    ax.set_yscale("log")
    ticks = [(1 / 60, "1 min"), (10 / 60, "10 min"), (1, "1 h"), (6, "6 h"), (24, "1 d"), (24 * 7, "1 wk"),
             (24 * 30, "30 d")]
    values = [v for v in med + top if v is not None] or [1]
    lo, hi = min(values), max(values)
    shown = [(v, label) for v, label in ticks if lo / 3 <= v <= hi * 3] or ticks[2:5]
    ax.set_yticks([v for v, _ in shown], [label for _, label in shown])
    ax.minorticks_off()
    ax.set_ylim(lo / 2, hi * 3)
    ax.set_title(_wrap(title, 44) if narrow else title)
    ax.grid(axis="x", visible=False)
    if categories:
        _thin_labels(ax, list(categories), 8 if narrow else 16)
        ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.legend(loc="upper left", ncols=2, fontsize=9)
    return _render(fig)


@_with_rc
def horizontal_bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str = "incidents",
                    color: str = "#2166ac", narrow: bool = False) -> str:
    """Horizontal bars, largest at the top (pass them sorted, largest first).

    ``narrow``: the phone drawing (:data:`NARROW_WIDTH` wide, labels cut to 22 characters).

    Returns:
        The SVG document.
    """
    height = 0.8 + (0.3 if narrow else 0.26) * max(len(labels), 1)
    fig = _figure(NARROW_WIDTH if narrow else 6.5, height)
    ax = fig.add_subplot()
    y = list(range(len(labels)))[::-1]
    ax.barh(y, values, color=color, height=0.7)
    ax.set_yticks(y, [_shorten(label, 22) for label in labels] if narrow else list(labels))
    for yi, v in zip(y, values):
        ax.annotate(f"{v:g}", (v, yi), textcoords="offset points", xytext=(3, 0), va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(_wrap(title, 44) if narrow else title)
    ax.grid(axis="y", visible=False)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max(list(values) + [1]) * 1.15)
    return _render(fig)


@_with_rc
def cluster_timeline(rows: Sequence[tuple[str, Sequence[tuple[dt.date, str]]]], title: str,
                     start: dt.date | None = None, end: dt.date | None = None, narrow: bool = False) -> str:
    """One row per recurring problem, one dot per incident on a shared time axis.

    Args:
        rows: ``(label, [(incident date, severity), ...])`` top row first.
        title: chart title.
        start, end: optional x-axis limits (dates).
        narrow: the phone drawing: :data:`NARROW_WIDTH` wide, each row's label above its row
            (the whole width is left for the time axis).

    Returns:
        The SVG document. Dots are coloured by severity and joined by a thin line, so the gaps
        between recurrences are visible at a glance.
    """
    import matplotlib.dates as mdates

    height = 1.0 + (0.5 if narrow else 0.34) * max(len(rows), 1)
    fig = _figure(NARROW_WIDTH if narrow else 8.0, height)
    ax = fig.add_subplot()
    n = len(rows)
    by_severity: dict[str, tuple[list[float], list[int]]] = {}
    for i, (label, points) in enumerate(rows):
        y = n - 1 - i
        dates = [mdates.date2num(d) for d, _ in points]
        if dates:
            ax.plot([min(dates), max(dates)], [y, y], color="#bbbbbb", linewidth=1, zorder=1)
        for x, (_, sev) in zip(dates, points):
            xs, ys = by_severity.setdefault(sev, ([], []))
            xs.append(x)
            ys.append(y)
    # One collection per severity (not one per dot): thousands of incidents stay fast.
    for sev in sorted(by_severity):
        xs, ys = by_severity[sev]
        ax.scatter(xs, ys, s=42, color=SEVERITY_COLORS.get(sev, "#999999"), edgecolors="black", linewidths=0.4,
                   zorder=3, label=sev)
    if narrow:
        ax.set_yticks([])
        for i, (label, _) in enumerate(rows):
            ax.text(0.005, n - 1 - i + 0.22, _shorten(label, 44), transform=ax.get_yaxis_transform(),
                    fontsize=9, va="bottom", ha="left", color="#333333")
        ax.set_ylim(-0.5, n - 0.2)
    else:
        ax.set_yticks(list(range(n))[::-1], [_shorten(label, 48) for label, _ in rows])
        ax.set_ylim(-0.7, n - 0.3)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6 if narrow else 12))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    if start and end:
        ax.set_xlim(mdates.date2num(start), mdates.date2num(end))
    ax.grid(axis="y", visible=False)
    ax.set_title(_wrap(title, 44) if narrow else title)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: labels[k])
    fig.legend([handles[k] for k in order], [labels[k] for k in order], loc="outside upper right",
               ncols=4, fontsize=8)
    return _render(fig)


def _wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters (a narrow chart's title)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

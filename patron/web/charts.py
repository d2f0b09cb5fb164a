"""Chart geometry for server-rendered SVG: pure functions from numbers to shapes and labels.

Templates in web/templates/web/components/chart_*.html draw what these return; nothing here
touches the database, so the geometry is tested on its own. Coordinates are in the SVG's
viewBox units; the SVG scales to its container's width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}

WIDTH = 720
HEIGHT = 250
# Room for the value labels left of the plot and the period labels under it.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 24, 12, 30
MAXIMUM_X_LABELS = 6  # more than this overlap in a half-width panel


def format_number(value: int | float | Decimal) -> str:
    """Whole numbers with thousands separators: 1234567 → '1,234,567'."""
    return f"{int(Decimal(value).to_integral_value(ROUND_HALF_UP)):,}"


def format_money(value: Decimal | int | float | None, currency: str, *, cents: bool = True) -> str:
    """'€1,234.50' (or 'SEK 1,234.50' for a currency without a symbol here); '—' for None."""
    if value is None:
        return "—"
    amount = Decimal(value)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} " if currency else "")
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.2f}" if cents else format_number(abs(amount))
    return f"{sign}{symbol}{text}"


def format_percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def format_compact(value: float) -> str:
    """Axis labels: 950, 12.5k, 3.2M."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if magnitude >= 10_000:
        return f"{value / 1_000:.0f}k"
    if magnitude >= 1_000:
        return f"{value / 1_000:.1f}k".replace(".0k", "k")
    return f"{value:g}"


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Scale:
    top: float
    ticks: tuple[float, ...]


def nice_scale(maximum: float, *, steps: int = 4) -> Scale:
    """An axis from 0 to a round number at or above maximum, in 1-2-2.5-5 steps."""
    if maximum <= 0:
        return Scale(top=1.0, ticks=(0.0, 1.0))
    rough = maximum / steps
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(factor * magnitude for factor in (1, 2, 2.5, 5, 10) if factor * magnitude >= rough)
    count = math.ceil(maximum / step - 1e-9)
    return Scale(top=step * count, ticks=tuple(step * index for index in range(count + 1)))


@dataclass(frozen=True)
class Plot:
    """The drawing area inside the margins."""

    left: float = MARGIN_LEFT
    top: float = MARGIN_TOP
    right: float = WIDTH - MARGIN_RIGHT
    bottom: float = HEIGHT - MARGIN_BOTTOM

    @classmethod
    def sized(cls, width: int, height: int) -> Plot:
        return cls(right=width - MARGIN_RIGHT, bottom=height - MARGIN_BOTTOM)

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def y_label_x(self) -> float:
        """Where the value labels end, right-aligned just left of the plot."""
        return self.left - 8

    @property
    def x_label_y(self) -> float:
        """The baseline of the period labels under the plot."""
        return self.bottom + 18


def _label_indexes(count: int) -> list[int]:
    """Which of `count` periods get a label under the axis: evenly spread, the last included."""
    if count <= MAXIMUM_X_LABELS:
        return list(range(count))
    stride = math.ceil(count / MAXIMUM_X_LABELS)
    indexes = list(range(0, count, stride))
    if count - 1 - indexes[-1] < stride / 2:
        indexes[-1] = count - 1
    else:
        indexes.append(count - 1)
    return indexes


def _y(value: float, scale: Scale, plot: Plot) -> float:
    return round(plot.bottom - value / scale.top * plot.height, 1)


def _y_ticks(scale: Scale, plot: Plot, label: Callable[[float], str]) -> tuple[Tick, ...]:
    return tuple(Tick(_y(value, scale, plot), label(value)) for value in scale.ticks)


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class LineChart:
    line_path: str
    area_path: str
    markers: tuple[Marker, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    plot: Plot
    width: int = WIDTH
    height: int = HEIGHT


def line_chart(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    value_label: Callable[[float], str] = format_number,
    axis_label: Callable[[float], str] = format_compact,
    titles: Sequence[str] | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> LineChart:
    """A line (and the area under it) through one value per period, labels under the axis.

    Give the width the chart is shown at (in CSS pixels) so its text is drawn near 11px.
    `titles` name the points in their tooltips (default: the labels).
    """
    plot = Plot.sized(width, height)
    names = titles or labels
    scale = nice_scale(max(values, default=0))
    count = len(values)
    step = plot.width / (count - 1) if count > 1 else 0.0

    def x(index: int) -> float:
        return round(plot.left + (index * step if count > 1 else plot.width / 2), 1)

    markers = tuple(
        Marker(x(index), _y(value, scale, plot), f"{names[index]}: {value_label(value)}")
        for index, value in enumerate(values)
    )
    line = " ".join(
        f"{'M' if index == 0 else 'L'}{marker.x:g},{marker.y:g}"
        for index, marker in enumerate(markers)
    )
    area = (
        f"{line} L{markers[-1].x:g},{plot.bottom:g} L{markers[0].x:g},{plot.bottom:g} Z"
        if markers
        else ""
    )
    return LineChart(
        line_path=line,
        area_path=area,
        markers=markers,
        x_ticks=tuple(Tick(x(index), labels[index]) for index in _label_indexes(count)),
        y_ticks=_y_ticks(scale, plot, axis_label),
        plot=plot,
        width=width,
        height=height,
    )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # which series: the template colours bars by it
    title: str


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    series_names: tuple[str, ...]
    plot: Plot
    width: int = WIDTH
    height: int = HEIGHT


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> BarChart:
    """One bar per period, the series stacked bottom-up in the order given."""
    plot = Plot.sized(width, height)
    count = len(labels)
    totals = [sum(values[index] for _, values in series) for index in range(count)]
    scale = nice_scale(max(totals, default=0))
    slot = plot.width / count if count else plot.width
    bar_width = round(max(slot * 0.72, 1.0), 1)
    bars = []
    for index, label in enumerate(labels):
        base = 0
        left = round(plot.left + index * slot + (slot - bar_width) / 2, 1)
        for number, (name, values) in enumerate(series):
            value = values[index]
            if value:
                top = _y(base + value, scale, plot)
                bottom = _y(base, scale, plot)
                bars.append(
                    Bar(
                        left,
                        top,
                        bar_width,
                        round(bottom - top, 1),
                        number,
                        f"{label}: {format_number(value)} {name.lower()}",
                    )
                )
            base += value
    x_ticks = tuple(
        Tick(round(plot.left + (index + 0.5) * slot, 1), labels[index])
        for index in _label_indexes(count)
    )
    return BarChart(
        bars=tuple(bars),
        x_ticks=x_ticks,
        y_ticks=_y_ticks(scale, plot, format_compact),
        series_names=tuple(name for name, _ in series),
        plot=plot,
        width=width,
        height=height,
    )


@dataclass(frozen=True)
class HorizontalBar:
    y: float
    width: float
    label: str
    value_label: str
    text_y: float  # baseline of the label and the value, centred on the bar
    value_x: float  # the value just after the bar's end


@dataclass(frozen=True)
class HorizontalBarChart:
    rows: tuple[HorizontalBar, ...]
    label_x: float
    bar_left: float
    bar_height: float
    width: int
    height: int


HORIZONTAL_ROW = 28
HORIZONTAL_LABEL_WIDTH = 230  # about 32 characters of a product name
HORIZONTAL_VALUE_WIDTH = 110  # "€1,234,567" after the longest bar


def horizontal_bars(
    items: Sequence[tuple[str, float, str]],
    *,
    width: int = WIDTH,
    label_width: int = HORIZONTAL_LABEL_WIDTH,
) -> HorizontalBarChart:
    """Bars from (label, value, value label), longest for the largest value."""
    maximum = max((value for _, value, _ in items), default=0) or 1
    room = width - label_width - HORIZONTAL_VALUE_WIDTH
    rows = tuple(
        HorizontalBar(
            y=index * HORIZONTAL_ROW + 4,
            width=round(max(value / maximum * room, 1.0 if value else 0.0), 1),
            label=label,
            value_label=value_text,
            text_y=index * HORIZONTAL_ROW + 4 + (HORIZONTAL_ROW - 10) / 2,
            value_x=round(label_width + max(value / maximum * room, 1.0 if value else 0.0) + 6, 1),
        )
        for index, (label, value, value_text) in enumerate(items)
    )
    return HorizontalBarChart(
        rows=rows,
        label_x=label_width - 10,
        bar_left=label_width,
        bar_height=HORIZONTAL_ROW - 10,
        width=width,
        height=max(len(rows), 1) * HORIZONTAL_ROW + 4,
    )


@dataclass(frozen=True)
class HeatCell:
    x: float
    y: float
    text: str
    opacity: float
    is_dark: bool  # white text reads better on the darker cells
    title: str
    text_x: float  # the cell's centre
    text_y: float


@dataclass(frozen=True)
class Heatmap:
    cells: tuple[HeatCell, ...]
    row_labels: tuple[Tick, ...]
    column_labels: tuple[Tick, ...]
    cell_width: float
    cell_height: float
    width: int
    height: int


HEAT_LABEL_WIDTH = 96
HEAT_HEADER = 26
HEAT_ROW = 26
HEAT_LIGHTEST = 0.06  # an empty cell still shows it is a cell


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    cell_text: Callable[[int, int, float], str],
    cell_title: Callable[[int, int, float], str],
    width: int = WIDTH,
) -> Heatmap:
    """A grid shaded by value (0..1 of the largest value); None leaves the cell out."""
    columns = max(len(column_labels), 1)
    cell_width = round((width - HEAT_LABEL_WIDTH) / columns, 2)
    largest = max((value for row in values for value in row if value is not None), default=0.0)
    cells = []
    for row_index, row in enumerate(values):
        for column_index, value in enumerate(row):
            if value is None:
                continue
            share = value / largest if largest else 0.0
            opacity = round(HEAT_LIGHTEST + (1 - HEAT_LIGHTEST) * share, 3)
            cells.append(
                HeatCell(
                    x=round(HEAT_LABEL_WIDTH + column_index * cell_width, 2),
                    y=HEAT_HEADER + row_index * HEAT_ROW,
                    text=cell_text(row_index, column_index, value),
                    opacity=opacity,
                    is_dark=opacity > 0.55,
                    title=cell_title(row_index, column_index, value),
                    text_x=round(HEAT_LABEL_WIDTH + (column_index + 0.5) * cell_width, 2),
                    text_y=HEAT_HEADER + row_index * HEAT_ROW + HEAT_ROW / 2,
                )
            )
    return Heatmap(
        cells=tuple(cells),
        row_labels=tuple(
            Tick(HEAT_HEADER + index * HEAT_ROW + HEAT_ROW / 2, label)
            for index, label in enumerate(row_labels)
        ),
        column_labels=tuple(
            Tick(round(HEAT_LABEL_WIDTH + (index + 0.5) * cell_width, 2), label)
            for index, label in enumerate(column_labels)
        ),
        cell_width=cell_width,
        cell_height=HEAT_ROW,
        width=width,
        height=HEAT_HEADER + max(len(row_labels), 1) * HEAT_ROW + 2,
    )


def grouped_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    value_label: Callable[[float], str] = format_number,
    axis_label: Callable[[float], str] = format_compact,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> BarChart:
    """Bars side by side in each group, one per series (say predicted beside actual).

    A None value leaves its bar out; the bars share one axis from zero.
    """
    plot = Plot.sized(width, height)
    count = len(labels)
    scale = nice_scale(
        max((value for _, values in series for value in values if value is not None), default=0)
    )
    slot = plot.width / count if count else plot.width
    group_width = slot * 0.8
    bar_width = round(max(group_width / max(len(series), 1), 1.0), 1)
    bars = []
    for index, label in enumerate(labels):
        left = plot.left + index * slot + (slot - group_width) / 2
        for number, (name, values) in enumerate(series):
            value = values[index]
            if value is None:
                continue
            top = _y(value, scale, plot)
            bars.append(
                Bar(
                    round(left + number * bar_width, 1),
                    top,
                    bar_width,
                    round(plot.bottom - top, 1),
                    number,
                    f"{label}: {name.lower()} {value_label(value)}",
                )
            )
    # Every group is labelled: groups are few (a dozen at most), unlike periods.
    x_ticks = tuple(
        Tick(round(plot.left + (index + 0.5) * slot, 1), label)
        for index, label in enumerate(labels)
    )
    return BarChart(
        bars=tuple(bars),
        x_ticks=x_ticks,
        y_ticks=_y_ticks(scale, plot, axis_label),
        series_names=tuple(name for name, _ in series),
        plot=plot,
        width=width,
        height=height,
    )

"""Chart geometry and number formats, without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patron.web import charts


@pytest.mark.parametrize(
    ("maximum", "top", "ticks"),
    [
        (0, 1.0, (0.0, 1.0)),
        (7, 8.0, (0.0, 2.0, 4.0, 6.0, 8.0)),
        (10, 10.0, (0.0, 2.5, 5.0, 7.5, 10.0)),
        (1234, 1500.0, (0.0, 500.0, 1000.0, 1500.0)),
        (98_000, 100_000.0, (0.0, 25_000.0, 50_000.0, 75_000.0, 100_000.0)),
    ],
)
def test_scale_is_round_and_covers_the_maximum(maximum, top, ticks):
    scale = charts.nice_scale(maximum)

    assert scale.top == top
    assert scale.ticks == ticks


@pytest.mark.parametrize(
    ("value", "currency", "cents", "text"),
    [
        (Decimal("1234567.5"), "EUR", True, "€1,234,567.50"),
        (Decimal("1234567.5"), "EUR", False, "€1,234,568"),
        (Decimal("-12.3"), "USD", True, "-$12.30"),
        (Decimal("99"), "SEK", True, "SEK 99.00"),
        (None, "EUR", True, "—"),
    ],
)
def test_money_has_thousands_separators_and_the_currency(value, currency, cents, text):
    assert charts.format_money(value, currency, cents=cents) == text


def test_numbers_percentages_and_axis_labels():
    assert charts.format_number(1234567) == "1,234,567"
    assert charts.format_number(Decimal("2.5")) == "3"
    assert charts.format_percent(0.1234) == "12.3%"
    assert charts.format_percent(None) == "—"
    assert [charts.format_compact(value) for value in (950, 1000, 1500, 12_500, 3_200_000)] == [
        "950",
        "1k",
        "1.5k",
        "12k",
        "3.2M",
    ]


def test_line_chart_spans_the_plot_and_puts_the_largest_value_at_the_top_of_its_scale():
    chart = charts.line_chart([0, 5, 10], ["Mon", "Tue", "Wed"])

    plot = chart.plot
    assert [marker.x for marker in chart.markers] == [
        plot.left,
        (plot.left + plot.right) / 2,
        plot.right,
    ]
    assert chart.markers[0].y == plot.bottom
    assert chart.markers[2].y == plot.top  # 10 is the scale's top
    assert chart.line_path.startswith(f"M{plot.left},{plot.bottom} L")
    assert chart.area_path.endswith(f"L{plot.left},{plot.bottom} Z")
    assert chart.markers[1].title == "Tue: 5"
    assert [tick.label for tick in chart.x_ticks] == ["Mon", "Tue", "Wed"]
    assert [tick.label for tick in chart.y_ticks] == ["0", "2.5", "5", "7.5", "10"]


def test_line_chart_of_one_point_and_of_none():
    single = charts.line_chart([3], ["Only"])
    empty = charts.line_chart([], [])

    assert single.markers[0].x == single.plot.left + single.plot.width / 2
    assert empty.markers == () and empty.line_path == "" and empty.area_path == ""


def test_long_series_get_at_most_seven_labels_and_always_the_last():
    chart = charts.line_chart([1] * 90, [f"d{index}" for index in range(90)])

    labels = [tick.label for tick in chart.x_ticks]
    assert len(labels) <= charts.MAXIMUM_X_LABELS + 1
    assert labels[0] == "d0" and labels[-1] == "d89"


def test_stacked_bars_stack_series_bottom_up_with_heights_in_proportion():
    chart = charts.stacked_bars(["Jan", "Feb"], [("New", [2, 0]), ("Returning", [2, 4])])

    january = [bar for bar in chart.bars if bar.x == chart.bars[0].x]
    assert [bar.series for bar in january] == [0, 1]
    assert january[0].height == pytest.approx(january[1].height, abs=0.1)
    assert january[1].y + january[1].height == pytest.approx(january[0].y, abs=0.1)
    february = [bar for bar in chart.bars if bar.x != chart.bars[0].x]
    assert [bar.series for bar in february] == [1]  # a zero leaves no bar
    assert february[0].y == chart.plot.top
    assert february[0].title == "Feb: 4 returning"
    assert chart.series_names == ("New", "Returning")


def test_horizontal_bars_are_proportional_to_the_largest():
    chart = charts.horizontal_bars([("A", 200, "200"), ("B", 50, "50"), ("C", 0, "0")])

    widths = [row.width for row in chart.rows]
    assert widths[0] == charts.WIDTH - charts.HORIZONTAL_LABEL_WIDTH - charts.HORIZONTAL_VALUE_WIDTH
    assert widths[1] == pytest.approx(widths[0] / 4, abs=0.1)
    assert widths[2] == 0
    assert chart.rows[1].y - chart.rows[0].y == charts.HORIZONTAL_ROW
    assert chart.height == 3 * charts.HORIZONTAL_ROW + 4


def test_heatmap_shades_by_share_of_the_largest_and_skips_missing_cells():
    chart = charts.heatmap(
        ["Jan", "Feb"],
        ["1", "2"],
        [[0.5, 0.25], [0.1, None]],
        cell_text=lambda _row, _column, value: f"{value:.0%}",
        cell_title=lambda row, column, value: f"{row}/{column}",
    )

    assert len(chart.cells) == 3
    darkest, lighter, lightest = chart.cells
    assert darkest.opacity == 1.0 and darkest.is_dark is True
    assert lighter.opacity == pytest.approx(charts.HEAT_LIGHTEST + (1 - charts.HEAT_LIGHTEST) / 2)
    assert lightest.text == "10%" and lightest.is_dark is False
    assert lightest.y == charts.HEAT_HEADER + charts.HEAT_ROW
    assert [tick.label for tick in chart.row_labels] == ["Jan", "Feb"]

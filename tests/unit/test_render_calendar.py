"""The calendar picture: which cell carries which day and values (``layout_month``), and that
the drawn pixels agree (the rating dot's colour, the progress bar, today's outline)."""

from __future__ import annotations

import calendar
import io
from datetime import date

import pytest
from PIL import Image

from bot.render import calendar as render
from bot.render import fonts
from bot.render.calendar import (
    CELL,
    CELL_TODAY,
    WIDTH,
    draw_month,
    labels_for,
    layout_month,
    render_month_png,
)
from bot.render.palette import ACCENT, BAR_FILL, BAR_TRACK, RATING_COLORS
from bot.services.calendar import DayData, MonthData


def month_of(
    year: int,
    month: int,
    today: date,
    values: dict[int, tuple[int, int, int | None]] | None = None,
) -> MonthData:
    """A month with ``values[day] = (done, total, rating)``; other days empty."""
    values = values or {}
    days = []
    for n in range(1, calendar.monthrange(year, month)[1] + 1):
        done, total, rating = values.get(n, (0, 0, None))
        days.append(DayData(date(year, month, n), done, total, rating))
    return MonthData(year, month, today, tuple(days))


def near(actual: object, expected: tuple[int, int, int], tolerance: int = 6) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


MARCH = month_of(
    2026,
    3,
    date(2026, 3, 18),
    {
        1: (1, 1, 5),
        2: (3, 4, 4),
        3: (0, 2, 3),
        11: (2, 2, 1),
        14: (0, 6, 2),
        18: (2, 3, 4),
        25: (0, 1, None),  # a planned future day
    },
)


# -- layout --------------------------------------------------------------------------------


def test_each_day_sits_under_its_weekday_sunday_first() -> None:
    layout = layout_month(MARCH)
    assert [c.day.day for c in layout.cells] == list(range(1, 32))
    for cell in layout.cells:
        assert cell.column == (cell.day.weekday() + 1) % 7  # Sunday = 0
    assert (layout.cell(1).row, layout.cell(1).column) == (0, 0)  # 2026-03-01 is a Sunday
    assert (layout.cell(31).row, layout.cell(31).column) == (4, 2)
    assert layout.rows == 5


@pytest.mark.parametrize(
    ("year", "month", "rows"),
    [(2026, 2, 4), (2026, 3, 5), (2026, 8, 6), (2028, 2, 5)],
)
def test_rows_follow_the_month(year: int, month: int, rows: int) -> None:
    layout = layout_month(month_of(year, month, date(2026, 3, 2)))
    assert layout.rows == rows
    assert layout.width == WIDTH
    assert layout.height == layout.legend_top + render.LEGEND_H + render.PAD // 2


def test_cells_do_not_overlap_and_fit_the_picture() -> None:
    layout = layout_month(month_of(2026, 8, date(2026, 8, 15)))
    boxes = [c.box for c in layout.cells]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] < a[2] <= layout.width and 0 <= a[1] < a[3] <= layout.legend_top
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_cells_carry_the_days_values() -> None:
    layout = layout_month(MARCH)
    second = layout.cell(2)
    assert (second.data.done, second.data.total, second.data.rating) == (3, 4, 4)
    assert layout.cell(18).is_today and not layout.cell(17).is_today
    assert [c.day.day for c in layout.cells if c.is_today] == [18]
    assert layout.cell(19).is_future and not layout.cell(18).is_future
    # the bar fills done/total of its width
    bar = second.bar_box
    fill = second.bar_fill_box
    assert fill is not None
    assert fill[2] - fill[0] == round((bar[2] - bar[0]) * 3 / 4)
    full = layout.cell(1).bar_fill_box
    assert full is not None and full[2] == layout.cell(1).bar_box[2]
    assert layout.cell(3).bar_fill_box is None  # 0 of 2
    assert layout.cell(4).bar_fill_box is None  # no todos


# -- pixels --------------------------------------------------------------------------------


def test_the_drawn_cells_agree_with_the_data() -> None:
    layout = layout_month(MARCH)
    image = draw_month(layout, labels_for(MARCH, "en"))
    assert image.size == (layout.width, layout.height)
    for cell in layout.cells:
        colour = image.getpixel(cell.rating_swatch)
        if cell.data.rating is None:
            assert near(colour, CELL_TODAY if cell.is_today else CELL), cell.day
        else:
            assert near(colour, RATING_COLORS[cell.data.rating]), cell.day
        middle = (cell.bar_box[1] + cell.bar_box[3]) // 2
        left_of_bar = (cell.bar_box[0] + 2, middle)
        if cell.data.total == 0:
            assert near(image.getpixel(left_of_bar), cell.background), cell.day
        elif cell.data.done == 0:
            assert near(image.getpixel(left_of_bar), BAR_TRACK), cell.day
        else:
            assert near(image.getpixel(left_of_bar), BAR_FILL), cell.day
    # today alone is outlined
    for cell in layout.cells:
        edge = image.getpixel((cell.box[0] + 1, (cell.box[1] + cell.box[3]) // 2))
        assert near(edge, ACCENT) == cell.is_today, cell.day


def test_every_score_has_its_own_colour_from_red_to_green() -> None:
    colours = [RATING_COLORS[s] for s in range(1, 6)]
    assert len(set(colours)) == 5
    red, green = colours[0], colours[-1]
    assert red[0] > red[1] and green[1] > green[0]


def test_the_picture_is_dark_with_light_text() -> None:
    image = draw_month(layout_month(MARCH), labels_for(MARCH, "en"))
    corner = image.getpixel((2, 2))
    assert isinstance(corner, tuple) and sum(corner) < 3 * 80  # dark background
    title_area = image.crop((render.PAD, render.PAD, render.PAD + 300, render.PAD + 45))
    _, brightest = title_area.convert("L").getextrema()  # one band: (min, max)
    assert isinstance(brightest, int | float) and brightest > 220  # light title text


def test_the_png_decodes_at_the_layout_size() -> None:
    png = render_month_png(MARCH, "ko")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (WIDTH, layout_month(MARCH).height)


def test_an_empty_month_still_draws_its_grid() -> None:
    empty = month_of(2026, 2, date(2026, 3, 2))
    layout = layout_month(empty)
    image = draw_month(layout, labels_for(empty, "en")).convert("RGB")
    for cell in layout.cells:
        assert near(image.getpixel(cell.rating_swatch), CELL)
    assert len(image.getcolors(1 << 16) or []) > 50  # day numbers, labels, legend


# -- labels --------------------------------------------------------------------------------


def test_labels_in_english_and_korean() -> None:
    en = labels_for(MARCH, "en")
    assert en.title == "March 2026"
    assert en.weekdays == ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
    assert en.stats == "8/19 todos done · 6 day(s) rated"
    ko = labels_for(MARCH, "ko")
    assert ko.title == "2026년 3월"
    assert ko.weekdays == ("일", "월", "화", "수", "목", "금", "토")
    assert ko.legend_rating == "만족도" and ko.legend_today == "오늘"


def test_korean_labels_fall_back_to_english_without_a_hangul_font(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render, "has_hangul", lambda: False)
    assert render.image_locale("ko") == "en"
    assert labels_for(MARCH, "ko").title == "March 2026"
    assert render.image_locale("en") == "en"


def test_the_font_draws_hangul() -> None:
    assert fonts.has_hangul(), "the manimgx-fonts-cjk package (Noto Sans CJK) is missing"
    face = fonts.font(24)
    hangul = face.getmask("한")
    missing = face.getmask("\U0010fffd")  # no font has a glyph here: the "missing" box
    assert bytes(hangul) != bytes(missing)
    assert fonts.font(24, "Bold") is fonts.font(24, "Bold")  # cached
    bold, regular = fonts.font(24, "Bold"), fonts.font(24, "Regular")
    assert bytes(bold.getmask("가")) != bytes(regular.getmask("가"))

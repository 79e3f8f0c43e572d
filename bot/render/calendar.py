"""The month calendar image: per day the todos done out of all and the satisfaction rating.

Drawn for Discord's dark theme: a dark background, light text, one colour per rating (red
1 → green 5) in a dot with the number, a progress bar for the todos, today outlined in
blurple, the month's average in the header and a legend at the bottom.

``layout_month`` is the geometry alone (which cell shows which day, where each mark goes) and
is what tests read to know where to look; ``draw_month`` paints it; ``render_month_png``
gives the PNG bytes a reply attaches.
"""

from __future__ import annotations

import calendar as _calendar
import io
import math
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageDraw

from bot.i18n import t
from bot.render.fonts import DRAWING, Font, font, has_hangul
from bot.render.palette import (
    ACCENT,
    BACKGROUND,
    BAR_FILL,
    BAR_TRACK,
    FAINT,
    MUTED,
    RATING_COLORS,
    RGB,
    SURFACE,
    TEXT,
)
from bot.services.calendar import DayData, MonthData

Box = tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)

# Discord's dark theme
CELL: RGB = SURFACE
CELL_TODAY: RGB = (56, 58, 64)
SUNDAY: RGB = (242, 139, 130)
SATURDAY: RGB = (138, 180, 248)
ON_DOT: RGB = (30, 31, 34)
STAR_EMPTY: RGB = (78, 80, 88)

COLUMNS = 7
CELL_W = 112
CELL_H = 96
GAP = 6
PAD = 24
HEADER_H = 92
WEEKDAYS_H = 34
LEGEND_H = 56
DOT_R = 15
BAR_H = 6
WIDTH = PAD * 2 + COLUMNS * CELL_W + (COLUMNS - 1) * GAP

# weeks start on Sunday, as on Korean and American wall calendars
_WEEKS = _calendar.Calendar(firstweekday=_calendar.SUNDAY)


@dataclass(frozen=True, slots=True)
class Cell:
    """One day's square: where it is and what it shows."""

    data: DayData
    row: int
    column: int  # 0 = Sunday
    box: Box
    is_today: bool
    is_future: bool

    @property
    def day(self) -> date:
        return self.data.day

    @property
    def background(self) -> RGB:
        return CELL_TODAY if self.is_today else CELL

    @property
    def rating_center(self) -> tuple[int, int]:
        """The centre of the rating dot (drawn only for a rated day)."""
        return self.box[2] - 10 - DOT_R, self.box[1] + 10 + DOT_R

    @property
    def rating_swatch(self) -> tuple[int, int]:
        """A point inside the rating dot clear of its number: the dot's colour shows there."""
        cx, cy = self.rating_center
        return cx - DOT_R + 4, cy

    @property
    def bar_box(self) -> Box:
        """The todo progress bar (drawn only for a day with todos)."""
        left, _, right, bottom = self.box
        return left + 10, bottom - 12 - BAR_H, right - 10, bottom - 12

    @property
    def bar_fill_box(self) -> Box | None:
        """The filled part of the bar: ``done/total`` of its width; None when none is done."""
        if self.data.total == 0 or self.data.done == 0:
            return None
        left, top, right, bottom = self.bar_box
        width = round((right - left) * self.data.done / self.data.total)
        return left, top, left + max(width, BAR_H), bottom


@dataclass(frozen=True, slots=True)
class CalendarLayout:
    month: MonthData
    width: int
    height: int
    cells: tuple[Cell, ...]  # one per day of the month, in order
    rows: int
    grid_top: int
    legend_top: int

    def cell(self, day: int) -> Cell:
        """The cell of day number ``day`` (1-based)."""
        return self.cells[day - 1]


def layout_month(month: MonthData) -> CalendarLayout:
    """Where every day of ``month`` goes."""
    weeks = _WEEKS.monthdayscalendar(month.year, month.month)
    grid_top = PAD + HEADER_H + WEEKDAYS_H
    cells: list[Cell] = []
    for row, week in enumerate(weeks):
        for column, number in enumerate(week):
            if number == 0:
                continue
            left = PAD + column * (CELL_W + GAP)
            top = grid_top + row * (CELL_H + GAP)
            data = month.day(number)
            cells.append(
                Cell(
                    data=data,
                    row=row,
                    column=column,
                    box=(left, top, left + CELL_W, top + CELL_H),
                    is_today=data.day == month.today,
                    is_future=data.day > month.today,
                )
            )
    rows = len(weeks)
    legend_top = grid_top + rows * CELL_H + (rows - 1) * GAP + 14
    height = legend_top + LEGEND_H + PAD // 2
    return CalendarLayout(month, WIDTH, height, tuple(cells), rows, grid_top, legend_top)


# -- labels --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Labels:
    title: str
    weekdays: tuple[str, ...]  # Sunday first
    average: str
    no_ratings: str
    stats: str
    empty: str
    legend_rating: str
    legend_todos: str
    legend_today: str


def image_locale(locale: str) -> str:
    """The language the image can be drawn in: Korean needs a font with Hangul."""
    return locale if locale != "ko" or has_hangul() else "en"


def labels_for(month: MonthData, locale: str) -> Labels:
    lang = image_locale(locale)
    return Labels(
        title=t(
            "calendar.image.title",
            lang,
            year=month.year,
            month=month.month,
            month_name=t(f"calendar.month.{month.month}", lang),
        ),
        weekdays=tuple(t(f"calendar.weekday.{i}", lang) for i in range(7)),
        average=t("calendar.image.average", lang),
        no_ratings=t("calendar.image.no_ratings", lang),
        stats=t(
            "calendar.image.stats",
            lang,
            done=month.done,
            total=month.total,
            rated=len(month.rated),
        ),
        empty=t("calendar.image.empty", lang),
        legend_rating=t("calendar.image.legend.rating", lang),
        legend_todos=t("calendar.image.legend.todos", lang),
        legend_today=t("calendar.image.legend.today", lang),
    )


# -- drawing -------------------------------------------------------------------------------


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _stars(image: Image.Image, left: int, cy: int, r: int, value: float, colour: RGB) -> int:
    """Five stars, filled up to ``value`` (0–5, fractions drawn partly); returns the right edge."""
    step = r * 2 + 4
    draw = ImageDraw.Draw(image)
    for i in range(5):
        draw.polygon(_star(left + r + i * step, cy, r), fill=STAR_EMPTY)
    fill_width = round(step * value)
    if fill_width > 0:
        layer = Image.new("RGBA", (step * 5, r * 2 + 2), (0, 0, 0, 0))
        ldraw = ImageDraw.Draw(layer)
        for i in range(5):
            ldraw.polygon(_star(r + i * step, r + 1, r), fill=(*colour, 255))
        filled = layer.crop((0, 0, min(fill_width, layer.size[0]), layer.size[1]))
        image.paste(filled, (left, cy - r - 1), filled)
    return left + step * 5


def _text_width(draw: ImageDraw.ImageDraw, text: str, face: Font) -> int:
    return round(draw.textlength(text, font=face))


def rating_colour(value: float) -> RGB:
    return RATING_COLORS[min(5, max(1, round(value)))]


def draw_month(layout: CalendarLayout, labels: Labels) -> Image.Image:
    month = layout.month
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    # header: the month, what was done, and the average rating
    draw.text((PAD, PAD), labels.title, font=font(34, "Bold"), fill=TEXT)
    draw.text(
        (PAD, PAD + 50),
        labels.empty if month.is_empty else labels.stats,
        font=font(17),
        fill=MUTED,
    )
    right = layout.width - PAD
    average = month.average
    caption = font(15)
    if average is None:
        face = font(17)
        width = _text_width(draw, labels.no_ratings, face)
        draw.text((right - width, PAD + 24), labels.no_ratings, font=face, fill=MUTED)
    else:
        number = f"{average:.1f}"
        big = font(34, "Bold")
        number_width = _text_width(draw, number, big)
        stars_width = 5 * (11 * 2 + 4)
        left = right - stars_width - 12 - number_width
        draw.text((left, PAD - 2), number, font=big, fill=rating_colour(average))
        _stars(image, left + number_width + 12, PAD + 22, 11, average, rating_colour(average))
        width = _text_width(draw, labels.average, caption)
        draw.text((right - width, PAD + 50), labels.average, font=caption, fill=MUTED)

    # weekday names
    weekday_face = font(15, "Bold")
    for column, name in enumerate(labels.weekdays):
        colour = SUNDAY if column == 0 else SATURDAY if column == 6 else MUTED
        centre = PAD + column * (CELL_W + GAP) + CELL_W // 2
        width = _text_width(draw, name, weekday_face)
        draw.text((centre - width // 2, PAD + HEADER_H + 4), name, font=weekday_face, fill=colour)

    # the days
    number_face = font(20, "Bold")
    dot_face = font(17, "Bold")
    small = font(14)
    for cell in layout.cells:
        left, top, right_edge, bottom = cell.box
        box = (left, top, right_edge - 1, bottom - 1)
        if cell.is_today:
            draw.rounded_rectangle(box, radius=10, fill=cell.background, outline=ACCENT, width=3)
        else:
            draw.rounded_rectangle(box, radius=10, fill=cell.background)
        if cell.is_future:
            colour = FAINT
        elif cell.column == 0:
            colour = SUNDAY
        elif cell.column == 6:
            colour = SATURDAY
        else:
            colour = TEXT
        draw.text((left + 10, top + 7), str(cell.day.day), font=number_face, fill=colour)

        data = cell.data
        if data.rating is not None:
            cx, cy = cell.rating_center
            dot = RATING_COLORS[data.rating]
            draw.ellipse((cx - DOT_R, cy - DOT_R, cx + DOT_R, cy + DOT_R), fill=dot)
            digit = str(data.rating)
            bbox = draw.textbbox((0, 0), digit, font=dot_face)
            draw.text(
                (cx - (bbox[0] + bbox[2]) / 2, cy - (bbox[1] + bbox[3]) / 2),
                digit,
                font=dot_face,
                fill=ON_DOT,
            )
        if data.total:
            bar = cell.bar_box
            draw.rounded_rectangle(
                (bar[0], bar[1], bar[2] - 1, bar[3] - 1), radius=BAR_H // 2, fill=BAR_TRACK
            )
            filled = cell.bar_fill_box
            if filled is not None:
                draw.rounded_rectangle(
                    (filled[0], filled[1], filled[2] - 1, filled[3] - 1),
                    radius=BAR_H // 2,
                    fill=BAR_FILL,
                )
            count = f"{data.done}/{data.total}"
            colour = BAR_FILL if data.done == data.total else TEXT
            draw.text((bar[0], bar[1] - 24), count, font=small, fill=colour)

    # legend
    y = layout.legend_top
    x = PAD
    legend_face = font(15)
    draw.text((x, y + 8), labels.legend_rating, font=legend_face, fill=MUTED)
    x += _text_width(draw, labels.legend_rating, legend_face) + 10
    for score in range(1, 6):
        r = 11
        draw.ellipse((x, y + 6, x + 2 * r, y + 6 + 2 * r), fill=RATING_COLORS[score])
        digit = str(score)
        bbox = draw.textbbox((0, 0), digit, font=small)
        draw.text(
            (x + r - (bbox[0] + bbox[2]) / 2, y + 6 + r - (bbox[1] + bbox[3]) / 2),
            digit,
            font=small,
            fill=ON_DOT,
        )
        x += 2 * r + 6
    x += 24
    draw.rounded_rectangle((x, y + 14, x + 44, y + 14 + BAR_H - 1), radius=3, fill=BAR_TRACK)
    draw.rounded_rectangle((x, y + 14, x + 28, y + 14 + BAR_H - 1), radius=3, fill=BAR_FILL)
    x += 54
    draw.text((x, y + 8), labels.legend_todos, font=legend_face, fill=MUTED)
    x += _text_width(draw, labels.legend_todos, legend_face) + 30
    draw.rounded_rectangle((x, y + 5, x + 26, y + 31), radius=6, fill=CELL_TODAY, outline=ACCENT)
    x += 36
    draw.text((x, y + 8), labels.legend_today, font=legend_face, fill=MUTED)
    return image


def render_month_png(month: MonthData, locale: str) -> bytes:
    """The month as a PNG, labelled in ``locale`` (English when Korean cannot be drawn).
    Safe to call from a worker thread."""
    layout = layout_month(month)
    labels = labels_for(month, locale)
    with DRAWING:
        image = draw_month(layout, labels)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

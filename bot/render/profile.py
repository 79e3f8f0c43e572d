"""The profile card ("my page") image: name, points, today's todos, study time today and this
week (against the weekly goal, with a bar, when the member set one), the current streak,
Study Kings won and a strip of this month's day ratings; the member's avatar in a circle
(their initial when there is none).

Drawn for Discord's dark theme. ``card_for`` turns the data into labelled values in the
member's language; ``layout_card`` is the geometry alone (which tile goes where, where each
day of the ratings strip is) and is what tests read to know where to look; ``draw_card``
paints it; ``render_profile_png`` gives the PNG bytes a reply attaches.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

from bot.domain.streaks import STREAK_STUDY_MS
from bot.i18n import t
from bot.render.fonts import DRAWING, Font, font, has_hangul
from bot.render.palette import (
    ACCENT,
    BACKGROUND,
    BAR_FILL,
    BAR_TRACK,
    MUTED,
    RATING_COLORS,
    RGB,
    SURFACE,
    TEXT,
)
from bot.services.profile import ProfileData

Box = tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)

# Discord's dark theme
TILE: RGB = SURFACE
GOLD: RGB = (240, 178, 50)
STREAK: RGB = (242, 139, 60)
NO_RATING: RGB = (64, 66, 73)
GOAL_REACHED: RGB = (87, 242, 135)  # the week's bar once the goal is met

WIDTH = 880
PAD = 28
HEADER_H = 96
AVATAR = 72
COLUMNS = 3
TILE_H = 116
GAP = 12
STRIP_LABEL_H = 34
DAY_H = 30
DAY_GAP = 3
DAY_NUMBER_H = 20
BAR_H = 6
AVATAR_MAX_SOURCE = 4096  # pixels a side: a bigger "avatar" is not decoded


@dataclass(frozen=True, slots=True)
class Tile:
    key: str  # what it shows: points, todos, streak, today, week, kings
    label: str
    value: str
    accent: RGB
    progress: float | None = None  # 0..1: a bar under the value


@dataclass(frozen=True, slots=True)
class ProfileCard:
    """Everything the image shows, already in words."""

    name: str
    subtitle: str
    initial: str
    tiles: tuple[Tile, ...]
    ratings_label: str
    ratings_empty: str
    month_days: int
    today: int  # day of the month
    ratings: dict[int, int]  # day -> 1..5
    avatar: bytes | None = None  # the member's avatar image (any format Pillow reads)


@dataclass(frozen=True, slots=True)
class PlacedTile:
    tile: Tile
    box: Box

    @property
    def bar_box(self) -> Box:
        left, _, right, bottom = self.box
        return left + 16, bottom - 16 - BAR_H, right - 16, bottom - 16


@dataclass(frozen=True, slots=True)
class DayBox:
    day: int
    box: Box
    score: int | None
    is_today: bool
    is_future: bool

    @property
    def center(self) -> tuple[int, int]:
        left, top, right, bottom = self.box
        return (left + right) // 2, (top + bottom) // 2


@dataclass(frozen=True, slots=True)
class CardLayout:
    card: ProfileCard
    width: int
    height: int
    avatar: Box
    tiles: tuple[PlacedTile, ...]
    strip_top: int
    days: tuple[DayBox, ...]

    def tile(self, key: str) -> PlacedTile:
        return next(p for p in self.tiles if p.tile.key == key)

    def day(self, number: int) -> DayBox:
        return self.days[number - 1]


# -- words -------------------------------------------------------------------------------------


def image_locale(locale: str) -> str:
    """The language the image can be drawn in: Korean needs a font with Hangul."""
    return locale if locale != "ko" or has_hangul() else "en"


def duration(ms: int, locale: str) -> str:
    """ "2h 05m" / "2시간 5분"; minutes are whole (rounded down)."""
    minutes = max(0, ms) // 60_000
    hours, rest = divmod(minutes, 60)
    if hours:
        return t("study.duration.hm", locale, h=hours, m=rest)
    return t("study.duration.m", locale, m=rest)


def goal_text(minutes: int, locale: str) -> str:
    """A goal in hours: "20h" / "20시간", or "12h 30m" / "12시간 30분" for a half hour."""
    hours, rest = divmod(minutes, 60)
    if rest:
        return duration(minutes * 60_000, locale)
    return t("study.duration.h", locale, h=hours)


def week_tile(data: ProfileData, lang: str) -> Tile:
    """This week's study time; with a goal, "12h 30m of 20h" and a bar of the way there."""
    week = duration(data.study_week_ms, lang)
    goal = data.goal
    if goal is None or data.weekly_goal_minutes is None:
        return Tile("week", t("profile.study_week", lang), week, ACCENT)
    return Tile(
        "week",
        t("profile.study_week.goal", lang),
        t("profile.goal.value", lang, done=week, goal=goal_text(data.weekly_goal_minutes, lang)),
        GOAL_REACHED if goal.reached else ACCENT,
        goal.fraction,
    )


def card_for(data: ProfileData, name: str, locale: str, avatar: bytes | None = None) -> ProfileCard:
    """The card's words in ``locale``; ``avatar``: the member's avatar image, drawn in the
    header's circle (their initial when None or unreadable)."""
    lang = image_locale(locale)
    todo_progress = data.todos_done / data.todos_total if data.todos_total else None
    tiles = (
        Tile("points", t("profile.points", lang), f"{data.points:,}", GOLD),
        Tile(
            "todos",
            t("profile.todos", lang),
            t("profile.todos.value", lang, done=data.todos_done, total=data.todos_total),
            BAR_FILL,
            todo_progress,
        ),
        Tile(
            "streak",
            t("profile.streak", lang),
            t("profile.streak.value", lang, days=data.streak_days),
            STREAK,
        ),
        Tile(
            "today",
            t("profile.study_today", lang),
            duration(data.study_today_ms, lang),
            ACCENT,
            min(1.0, data.study_today_ms / STREAK_STUDY_MS),
        ),
        week_tile(data, lang),
        Tile(
            "kings",
            t("profile.kings", lang),
            t("profile.kings.value", lang, count=data.kings),
            GOLD,
        ),
    )
    return ProfileCard(
        name=name,
        subtitle=t("profile.subtitle", lang, date=data.today.isoformat(), zone=data.timezone),
        initial=(name.strip()[:1] or "?").upper(),
        tiles=tiles,
        ratings_label=t("profile.ratings", lang, month=f"{data.today.year}-{data.today.month:02d}"),
        ratings_empty=t("profile.ratings.empty", lang),
        month_days=data.month_days,
        today=data.today.day,
        ratings=dict(data.ratings),
        avatar=avatar,
    )


# -- geometry ----------------------------------------------------------------------------------


def layout_card(card: ProfileCard) -> CardLayout:
    avatar = (PAD, PAD + 4, PAD + AVATAR, PAD + 4 + AVATAR)
    tile_w = (WIDTH - 2 * PAD - (COLUMNS - 1) * GAP) // COLUMNS
    tiles_top = PAD + HEADER_H
    placed = []
    for i, tile in enumerate(card.tiles):
        row, column = divmod(i, COLUMNS)
        left = PAD + column * (tile_w + GAP)
        top = tiles_top + row * (TILE_H + GAP)
        placed.append(PlacedTile(tile, (left, top, left + tile_w, top + TILE_H)))
    rows = (len(card.tiles) + COLUMNS - 1) // COLUMNS
    strip_top = tiles_top + rows * TILE_H + (rows - 1) * GAP + 22
    day_w = (WIDTH - 2 * PAD - 30 * DAY_GAP) // 31
    days_top = strip_top + STRIP_LABEL_H
    days = []
    for number in range(1, card.month_days + 1):
        left = PAD + (number - 1) * (day_w + DAY_GAP)
        days.append(
            DayBox(
                number,
                (left, days_top, left + day_w, days_top + DAY_H),
                card.ratings.get(number),
                number == card.today,
                number > card.today,
            )
        )
    height = days_top + DAY_H + DAY_NUMBER_H + PAD
    return CardLayout(card, WIDTH, height, avatar, tuple(placed), strip_top, tuple(days))


# -- drawing -----------------------------------------------------------------------------------


def _fit(draw: ImageDraw.ImageDraw, text: str, face: Font, width: int) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text + "…"


VALUE_SIZE = 32
VALUE_MIN_SIZE = 16


def _value_size(draw: ImageDraw.ImageDraw, text: str, width: int) -> int:
    """The biggest bold size, 32 px down to 16, at which ``text`` fits ``width`` pixels (a
    goal's "12h 30m of 20h" is longer than a plain value)."""
    for size in range(VALUE_SIZE, VALUE_MIN_SIZE, -2):
        if draw.textlength(text, font=font(size, "Bold")) <= width:
            return size
    return VALUE_MIN_SIZE


def _centered(
    draw: ImageDraw.ImageDraw, center: tuple[int, int], text: str, face: Font, fill: RGB
) -> None:
    bbox = draw.textbbox((0, 0), text, font=face)
    x = center[0] - (bbox[0] + bbox[2]) / 2
    y = center[1] - (bbox[1] + bbox[3]) / 2
    draw.text((x, y), text, font=face, fill=fill)


def _avatar_image(data: bytes, size: int) -> Image.Image | None:
    """The avatar as a ``size`` square, or None when ``data`` is no image Pillow can read
    (or an unreasonably large one)."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            width, height = source.size
            if not (0 < width <= AVATAR_MAX_SOURCE and 0 < height <= AVATAR_MAX_SOURCE):
                return None
            source.seek(0)  # an animated image's first frame
            picture = source.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    side = min(picture.size)  # the middle square of a picture that is not one
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    picture = picture.crop((left, top, left + side, top + side))
    return picture.resize((size, size), Image.Resampling.LANCZOS)


def _circle_mask(size: int) -> Image.Image:
    """A smooth-edged disc: drawn four times larger, then scaled down."""
    big = Image.new("L", (size * 4, size * 4), 0)
    ImageDraw.Draw(big).ellipse((0, 0, size * 4 - 1, size * 4 - 1), fill=255)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def _draw_avatar(image: Image.Image, box: Box, card: ProfileCard) -> None:
    """The member's avatar in a circle, or, without one, their initial in a blurple circle."""
    a_left, a_top, a_right, a_bottom = box
    size = a_right - a_left
    picture = _avatar_image(card.avatar, size) if card.avatar is not None else None
    if picture is not None:
        # composited on the card's background, so a transparent avatar shows the card
        backed = Image.new("RGBA", picture.size, (*BACKGROUND, 255))
        backed.alpha_composite(picture)
        image.paste(backed.convert("RGB"), (a_left, a_top), _circle_mask(size))
        return
    draw = ImageDraw.Draw(image)
    draw.ellipse(box, fill=ACCENT)
    _centered(
        draw,
        ((a_left + a_right) // 2, (a_top + a_bottom) // 2),
        card.initial,
        font(36, "Bold"),
        TEXT,
    )


def draw_card(layout: CardLayout) -> Image.Image:
    card = layout.card
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)

    # header: the avatar (or an initial) in a circle, the name and the day it describes
    _draw_avatar(image, layout.avatar, card)
    draw = ImageDraw.Draw(image)
    a_right = layout.avatar[2]
    text_left = a_right + 20
    name_width = layout.width - PAD - text_left
    draw.text(
        (text_left, PAD + 4),
        _fit(draw, card.name, font(34, "Bold"), name_width),
        font=font(34, "Bold"),
        fill=TEXT,
    )
    draw.text((text_left, PAD + 58), card.subtitle, font=font(17), fill=MUTED)

    # tiles: a label, a big value, an accent stripe and (for some) a progress bar
    label_face = font(16)
    for placed in layout.tiles:
        left, top, right, bottom = placed.box
        draw.rounded_rectangle((left, top, right - 1, bottom - 1), radius=12, fill=TILE)
        draw.rounded_rectangle((left, top, left + 5, bottom - 1), radius=3, fill=placed.tile.accent)
        inner = right - left - 36
        draw.text(
            (left + 18, top + 12),
            _fit(draw, placed.tile.label, label_face, inner),
            font=label_face,
            fill=MUTED,
        )
        size = _value_size(draw, placed.tile.value, inner)
        value_face = font(size, "Bold")
        draw.text(
            # a smaller value sits on the same middle line as a full-size one
            (left + 18, top + 36 + (VALUE_SIZE - size) // 2),
            _fit(draw, placed.tile.value, value_face, inner),
            font=value_face,
            fill=TEXT,
        )
        if placed.tile.progress is not None:
            b_left, b_top, b_right, b_bottom = placed.bar_box
            draw.rounded_rectangle(
                (b_left, b_top, b_right - 1, b_bottom - 1), radius=BAR_H // 2, fill=BAR_TRACK
            )
            filled = round((b_right - b_left) * max(0.0, min(1.0, placed.tile.progress)))
            if filled > 0:
                draw.rounded_rectangle(
                    (b_left, b_top, b_left + max(filled, BAR_H) - 1, b_bottom - 1),
                    radius=BAR_H // 2,
                    fill=placed.tile.accent,
                )

    # this month's ratings: one square per day, coloured by the rating
    draw.text((PAD, layout.strip_top), card.ratings_label, font=font(18, "Bold"), fill=TEXT)
    if not card.ratings:
        width = draw.textlength(card.ratings_empty, font=font(15))
        draw.text(
            (layout.width - PAD - width, layout.strip_top + 3),
            card.ratings_empty,
            font=font(15),
            fill=MUTED,
        )
    number_face = font(12)
    score_face = font(14, "Bold")
    for day in layout.days:
        left, top, right, bottom = day.box
        colour = RATING_COLORS[day.score] if day.score is not None else NO_RATING
        if day.is_future and day.score is None:
            colour = TILE
        draw.rounded_rectangle((left, top, right - 1, bottom - 1), radius=5, fill=colour)
        if day.is_today:
            draw.rounded_rectangle(
                (left - 2, top - 2, right + 1, bottom + 1), radius=6, outline=ACCENT, width=2
            )
        if day.score is not None:
            _centered(draw, day.center, str(day.score), score_face, (30, 31, 34))
        if day.day == 1 or day.day % 5 == 0 or day.is_today:
            _centered(
                draw,
                ((left + right) // 2, bottom + DAY_NUMBER_H // 2 + 2),
                str(day.day),
                number_face,
                TEXT if day.is_today else MUTED,
            )
    return image


def render_profile_png(card: ProfileCard) -> bytes:
    """The card as PNG bytes. Safe to call from a worker thread."""
    layout = layout_card(card)
    with DRAWING:
        image = draw_card(layout)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()

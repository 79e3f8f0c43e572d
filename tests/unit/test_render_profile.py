"""The profile card image: its words, its geometry, and pixels where the geometry says."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image, ImageDraw

from bot.render.fonts import font, has_hangul
from bot.render.palette import ACCENT, BACKGROUND, BAR_FILL, BAR_TRACK, RATING_COLORS
from bot.render.profile import (
    GOAL_REACHED,
    NO_RATING,
    TILE,
    WIDTH,
    CardLayout,
    _value_size,
    card_for,
    draw_card,
    duration,
    layout_card,
    render_profile_png,
)
from bot.services.profile import ProfileData

M = 60_000


def data(**changes: object) -> ProfileData:
    values: dict[str, object] = {
        "guild_id": 1,
        "user_id": 2,
        "today": date(2026, 3, 10),
        "timezone": "Asia/Seoul",
        "points": 1250,
        "todos_done": 1,
        "todos_total": 2,
        "study_today_ms": 65 * M,
        "study_week_ms": 5 * 60 * M,
        "streak_days": 4,
        "kings": 3,
        "ratings": {1: 2, 3: 5, 9: 4},
    }
    values.update(changes)
    return ProfileData(**values)  # type: ignore[arg-type]


def test_durations_read_naturally() -> None:
    assert duration(65 * M, "en") == "1h 05m"
    assert duration(25 * M + 59_999, "en") == "25m"
    assert duration(0, "en") == "0m"
    assert duration(65 * M, "ko") == "1시간 5분"
    assert duration(7 * M, "ko") == "7분"


def test_the_card_shows_the_numbers_of_the_data() -> None:
    card = card_for(data(), "alice", "en")
    values = {tile.key: tile.value for tile in card.tiles}
    assert values == {
        "points": "1,250",
        "todos": "1 / 2",
        "streak": "4 days",
        "today": "1h 05m",
        "week": "5h 00m",
        "kings": "3×",
    }
    assert card.name == "alice" and card.initial == "A"
    assert card.month_days == 31 and card.today == 10
    assert card.ratings == {1: 2, 3: 5, 9: 4}
    assert "2026-03-10" in card.subtitle and "Asia/Seoul" in card.subtitle
    todos = next(tile for tile in card.tiles if tile.key == "todos")
    assert todos.progress == 0.5


@pytest.mark.skipif(not has_hangul(), reason="no font with Hangul installed")
def test_the_card_speaks_korean() -> None:
    card = card_for(data(), "앨리스", "ko")
    labels = {tile.key: tile.label for tile in card.tiles}
    assert labels["points"] == "포인트" and labels["streak"] == "연속 기록"
    assert {tile.key: tile.value for tile in card.tiles}["streak"] == "4일"
    assert card.initial == "앨"


def test_layout_places_six_tiles_and_one_square_per_day() -> None:
    layout = layout_card(card_for(data(), "alice", "en"))
    assert layout.width == WIDTH
    boxes = [p.box for p in layout.tiles]
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        assert 0 <= a[0] < a[2] <= WIDTH and a[3] <= layout.strip_top
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]  # no overlap
    assert len(layout.days) == 31
    assert layout.days[-1].box[2] <= WIDTH
    assert layout.day(10).is_today and layout.day(11).is_future and not layout.day(9).is_future
    assert layout.day(3).score == 5 and layout.day(2).score is None
    february = layout_card(card_for(data(today=date(2026, 2, 3), ratings={}), "a", "en"))
    assert len(february.days) == 28


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple)
    return value[0], value[1], value[2]


def test_pixels_match_the_layout() -> None:
    layout = layout_card(card_for(data(), "alice", "en"))
    image = draw_card(layout)
    assert image.size == (layout.width, layout.height)
    assert pixel(image, 3, 3) == BACKGROUND
    for number, score in ((1, 2), (3, 5), (9, 4)):
        box = layout.day(number).box
        assert pixel(image, box[0] + 2, (box[1] + box[3]) // 2) == RATING_COLORS[score]
    past = layout.day(5).box
    assert pixel(image, past[0] + 2, (past[1] + past[3]) // 2) == NO_RATING
    future = layout.day(20).box
    assert pixel(image, future[0] + 2, (future[1] + future[3]) // 2) == TILE
    bar = layout.tile("todos").bar_box
    middle = (bar[1] + bar[3]) // 2
    assert pixel(image, bar[0] + 4, middle) == BAR_FILL  # 1 of 2 done: the left half
    assert pixel(image, bar[2] - 5, middle) == BAR_TRACK
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # text was drawn, not just boxes


def test_png_decodes() -> None:
    png = render_profile_png(card_for(data(), "alice", "en"))
    assert png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size[0] == WIDTH and 300 < image.size[1] < 700
    empty = Image.open(io.BytesIO(render_profile_png(card_for(data(ratings={}), "b", "en"))))
    assert empty.size == image.size


def test_a_weekly_goal_turns_the_week_tile_into_progress() -> None:
    plain = card_for(data(), "alice", "en")
    week = next(tile for tile in plain.tiles if tile.key == "week")
    assert (week.label, week.value, week.progress) == ("This week", "5h 00m", None)
    goal = card_for(data(study_week_ms=750 * M, weekly_goal_minutes=20 * 60), "alice", "en")
    week = next(tile for tile in goal.tiles if tile.key == "week")
    assert week.label == "This week · goal"
    assert week.value == "12h 30m of 20h"
    assert week.progress == 0.625
    half = card_for(data(study_week_ms=0, weekly_goal_minutes=90), "alice", "en")
    assert next(t for t in half.tiles if t.key == "week").value == "0m of 1h 30m"


@pytest.mark.skipif(not has_hangul(), reason="no font with Hangul installed")
def test_the_goal_in_korean() -> None:
    card = card_for(data(study_week_ms=750 * M, weekly_goal_minutes=20 * 60), "앨리스", "ko")
    week = next(tile for tile in card.tiles if tile.key == "week")
    assert (week.label, week.value) == ("이번 주 · 목표", "12시간 30분 / 20시간")


def test_the_goal_bar_is_drawn_and_turns_green_once_reached() -> None:
    layout = layout_card(
        card_for(data(study_week_ms=5 * 60 * M, weekly_goal_minutes=1200), "a", "en")
    )
    image = draw_card(layout)
    bar = layout.tile("week").bar_box
    middle = (bar[1] + bar[3]) // 2
    width = bar[2] - bar[0]
    assert pixel(image, bar[0] + 4, middle) == ACCENT  # a quarter of the goal
    assert pixel(image, bar[0] + width // 5, middle) == ACCENT
    assert pixel(image, bar[0] + width // 2, middle) == BAR_TRACK
    done = layout_card(
        card_for(data(study_week_ms=21 * 60 * M, weekly_goal_minutes=1200), "a", "en")
    )
    image = draw_card(done)
    assert pixel(image, bar[0] + 4, middle) == GOAL_REACHED
    assert pixel(image, bar[2] - 5, middle) == GOAL_REACHED


def test_a_long_goal_value_is_drawn_smaller_and_whole() -> None:
    long = data(study_week_ms=(167 * 60 + 30) * M, weekly_goal_minutes=168 * 60 - 30)
    for locale in ("en", "ko"):
        card = card_for(long, "alice", locale)
        layout = layout_card(card)
        box = layout.tile("week").box
        image = draw_card(layout)
        draw = ImageDraw.Draw(image)
        week = layout.tile("week").tile
        size = _value_size(draw, week.value, box[2] - box[0] - 36)
        assert size < 32
        assert draw.textlength(week.value, font=font(size, "Bold")) <= box[2] - box[0] - 36


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (128, 128)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


RED = (220, 40, 60)


def avatar_points(layout: CardLayout) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """The avatar circle's middle, a point inside it by its left edge, and its box's corner."""
    left, top, right, bottom = layout.avatar
    middle_y = (top + bottom) // 2
    return ((left + right) // 2, middle_y), (left + 6, middle_y), (left + 1, top + 1)


def test_the_avatar_is_drawn_in_a_circle() -> None:
    layout = layout_card(card_for(data(), "alice", "en", solid_png(RED)))
    image = draw_card(layout)
    middle, inside, corner = avatar_points(layout)
    assert pixel(image, *middle) == RED and pixel(image, *inside) == RED
    assert pixel(image, *corner) == BACKGROUND
    _, top, right, bottom = layout.avatar
    assert pixel(image, right + 2, (top + bottom) // 2) == BACKGROUND  # nothing spills over


def test_an_avatar_that_is_not_square_is_cut_to_its_middle() -> None:
    wide = io.BytesIO()
    picture = Image.new("RGB", (300, 100), (0, 0, 255))
    picture.paste(RED, (100, 0, 200, 100))  # the middle third is red
    picture.save(wide, format="PNG")
    layout = layout_card(card_for(data(), "alice", "en", wide.getvalue()))
    image = draw_card(layout)
    middle, inside, _ = avatar_points(layout)
    assert pixel(image, *middle) == RED and pixel(image, *inside) == RED


def test_a_transparent_avatar_shows_the_card_behind_it() -> None:
    clear = io.BytesIO()
    Image.new("RGBA", (64, 64), (255, 255, 255, 0)).save(clear, format="PNG")
    layout = layout_card(card_for(data(), "alice", "en", clear.getvalue()))
    middle, _, _ = avatar_points(layout)
    assert pixel(draw_card(layout), *middle) == BACKGROUND


@pytest.mark.parametrize("avatar", [None, b"", b"not an image", solid_png(RED, (5000, 10))])
def test_without_a_readable_avatar_the_initial_is_drawn(avatar: bytes | None) -> None:
    layout = layout_card(card_for(data(), "alice", "en", avatar))
    image = draw_card(layout)
    middle, inside, corner = avatar_points(layout)
    assert pixel(image, *inside) == ACCENT  # the blurple circle
    assert pixel(image, *corner) == BACKGROUND
    assert pixel(image, *middle) != RED
    png = render_profile_png(layout.card)
    assert Image.open(io.BytesIO(png)).size == (layout.width, layout.height)

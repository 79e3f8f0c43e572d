"""Colours shared by the images, chosen to read well on Discord's dark theme."""

from __future__ import annotations

RGB = tuple[int, int, int]

BACKGROUND: RGB = (49, 51, 56)
SURFACE: RGB = (43, 45, 49)  # cells and tiles
TEXT: RGB = (242, 243, 245)
MUTED: RGB = (148, 155, 164)
FAINT: RGB = (78, 80, 88)
ACCENT: RGB = (88, 101, 242)  # Discord's blurple
BAR_TRACK: RGB = (64, 66, 73)
BAR_FILL: RGB = (87, 242, 135)
# a day's satisfaction rating, 1 (red) to 5 (green)
RATING_COLORS: dict[int, RGB] = {
    1: (237, 66, 69),
    2: (242, 140, 40),
    3: (254, 231, 92),
    4: (163, 217, 119),
    5: (87, 242, 135),
}

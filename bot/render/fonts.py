"""Fonts for the images the bot draws (the calendar, the profile card).

The face is Noto Sans CJK KR (Latin, digits and Hangul in one font, regular to bold from one
variable file), shipped by the ``manimgx-fonts-cjk`` package. Without that package the
images fall back to Pillow's built-in font, which has no Hangul: check ``has_hangul()``
before drawing Korean text and draw the English labels instead.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from functools import cache
from importlib import resources
from typing import Literal

from PIL import ImageFont

log = logging.getLogger(__name__)

FONT_PACKAGE = "manimgx_fonts_cjk"
FONT_FILE = "NotoSansCJK-VF.otf.ttc"
_FACES = 5  # the collection's faces: JP, KR, SC, TC, HK

Weight = Literal["Regular", "Medium", "Bold"]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# The cached font objects are shared: hold this while drawing off the event loop's thread.
DRAWING = threading.Lock()


@cache
def _korean_face() -> tuple[str, int] | None:
    """The font file and the index of its Korean face, or None when not installed."""
    try:
        path = resources.files(FONT_PACKAGE) / FONT_FILE
    except ModuleNotFoundError:
        log.warning("%s is not installed: images use a font without Hangul", FONT_PACKAGE)
        return None
    if not path.is_file():
        return None
    name = str(path)
    for index in range(_FACES):
        try:
            family = ImageFont.truetype(name, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" KR"):
            return name, index
    return name, 0


def has_hangul() -> bool:
    """Whether ``font()`` can draw Korean."""
    return _korean_face() is not None


@cache
def font(size: int, weight: Weight = "Regular") -> Font:
    """The bot's font at ``size`` pixels (cached; draw from one thread at a time)."""
    face = _korean_face()
    if face is None:
        return ImageFont.load_default(size)
    path, index = face
    loaded = ImageFont.truetype(path, size, index=index)
    with contextlib.suppress(OSError, ValueError):  # a static font has its one weight
        loaded.set_variation_by_name(weight)
    return loaded

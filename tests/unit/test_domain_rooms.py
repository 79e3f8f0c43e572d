from __future__ import annotations

import pytest

from bot.domain.errors import RoomFull, ValidationError
from bot.domain.rooms import (
    CAPACITY_MAX,
    CAPACITY_MIN,
    NOTICE_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    can_join,
    clean_text,
    next_owner,
    normalize_tag,
    validate_capacity,
    validate_notice,
    validate_tag,
    validate_tags,
    validate_title,
)

ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


def problem(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str, str]:
    return exc.value.field, exc.value.problem


def test_constants() -> None:
    assert (TITLE_MAX, NOTICE_MAX, TAGS_MAX, TAG_MAX) == (50, 500, 5, 20)
    assert (CAPACITY_MIN, CAPACITY_MAX) == (2, 25)


# -- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("zw", ZW)
def test_clean_text_drops_zero_width_at_the_ends_only(zw: str) -> None:
    assert clean_text(f"{zw} a{zw}b {zw}") == f"a{zw}b"
    assert clean_text(f"{zw}\t{zw} ab{zw}\u3000") == "ab"
    assert clean_text(zw * 3) == ""


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f469\u200d\U0001f4bb Coding night",  # the technologist emoji: woman ZWJ laptop
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645",  # Persian "I read" with its ZWNJ
        "a\u2060b",
    ],
)
def test_clean_text_keeps_joiners_inside(text: str) -> None:
    assert clean_text(text) == text
    assert clean_text(f" \u200b{text}\ufeff\n") == text


def test_clean_text_is_linear_on_long_blank_runs() -> None:
    blank = " \u200b" * 50_000
    assert clean_text(blank) == ""
    assert clean_text(f"{blank}x{blank}y{blank}") == f"x{blank}y"


def test_title_is_stripped() -> None:
    assert validate_title("  Math marathon \t") == "Math marathon"


def test_title_lengths() -> None:
    assert validate_title("a") == "a"
    assert validate_title("a" * TITLE_MAX) == "a" * TITLE_MAX
    with pytest.raises(ValidationError) as exc:
        validate_title("a" * (TITLE_MAX + 1))
    assert problem(exc) == ("title", "too_long")
    assert exc.value.params["max"] == TITLE_MAX
    assert exc.value.code == "error.validation.too_long"


def test_title_length_is_counted_after_stripping() -> None:
    assert validate_title("   " + "a" * TITLE_MAX + "   ") == "a" * TITLE_MAX


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "\u200b \u2060\ufeff", " \u200c\u200d "])
def test_title_empty(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_title(text)
    assert problem(exc) == ("title", "empty")


def test_title_zero_width_at_the_ends_does_not_count_towards_length() -> None:
    title = "\u200b" * 10 + "a" * TITLE_MAX + "\u2060\ufeff"
    assert validate_title(title) == "a" * TITLE_MAX


def test_title_keeps_joiners_inside_and_counts_them() -> None:
    coder = "\U0001f469\u200d\U0001f4bb Coding night"
    assert validate_title(f"\u200b {coder} ") == coder
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645"
    assert validate_title(persian) == persian
    inside = "\u200b".join("a" * 26)  # 51 code points
    with pytest.raises(ValidationError) as exc:
        validate_title(inside)
    assert problem(exc) == ("title", "too_long")
    assert exc.value.params["length"] == 51


@pytest.mark.parametrize("text", ["a\nb", "a\x00b", "a\x1bb", "a\x7fb", "a\tb", "a\u0085b"])
def test_title_refuses_control_characters(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_title(text)
    assert problem(exc) == ("title", "control_chars")


def test_title_keeps_unicode_and_mentions_as_text() -> None:
    assert validate_title("수학 스터디 📚") == "수학 스터디 📚"
    assert validate_title("@everyone study") == "@everyone study"


def test_notice() -> None:
    assert validate_notice("") == ""
    assert validate_notice(None) == ""
    assert validate_notice("  \u200b ") == ""
    assert validate_notice("a" * NOTICE_MAX) == "a" * NOTICE_MAX
    assert validate_notice(" line 1\r\nline 2\rline 3\n ") == "line 1\nline 2\nline 3"
    with pytest.raises(ValidationError) as exc:
        validate_notice("a" * (NOTICE_MAX + 1))
    assert problem(exc) == ("notice", "too_long")
    with pytest.raises(ValidationError) as exc:
        validate_notice("bell\x07")
    assert problem(exc) == ("notice", "control_chars")


def test_notice_length_after_zero_width_removal() -> None:
    assert validate_notice("\u200b" * 600 + "hi") == "hi"


def test_notice_keeps_joiners_inside() -> None:
    notice = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645\n\U0001f469\u200d\U0001f4bb"
    assert validate_notice(f"\u200b{notice}\u200b ") == notice
    assert validate_notice("\u200b\n\u2060 \ufeff") == ""


# -- tags ----------------------------------------------------------------------------------


def test_tags_from_a_comma_string() -> None:
    assert validate_tags("Math, #Exam Prep ,reading") == ("math", "exam prep", "reading")


def test_tags_from_hashtags() -> None:
    assert validate_tags("#math #exam,   #c#") == ("math", "exam", "c#")


def test_tags_from_a_list() -> None:
    assert validate_tags(["#Math", "math", "  MATH  ", "Art"]) == ("math", "art")


def test_tags_empty() -> None:
    assert validate_tags(None) == ()
    assert validate_tags("") == ()
    assert validate_tags(" , ,#, \u200b") == ()
    assert validate_tags([]) == ()


def test_tags_dedupe_before_counting() -> None:
    assert validate_tags("a,b,c,d,e,A,#b") == ("a", "b", "c", "d", "e")


def test_too_many_tags() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_tags("a,b,c,d,e,f")
    assert problem(exc) == ("tags", "too_many")
    assert exc.value.params["max"] == TAGS_MAX


def test_tag_length() -> None:
    assert validate_tags(["x" * TAG_MAX]) == ("x" * TAG_MAX,)
    assert validate_tags(["#" + "x" * TAG_MAX]) == ("x" * TAG_MAX,)
    assert validate_tags(["\u200b" + "x" * TAG_MAX + "\u200b"]) == ("x" * TAG_MAX,)
    with pytest.raises(ValidationError) as exc:
        validate_tags(["x" * (TAG_MAX + 1)])
    assert problem(exc) == ("tags", "tag_too_long")


def test_tag_control_chars() -> None:
    with pytest.raises(ValidationError) as exc:
        validate_tags(["a\x00b"])
    assert problem(exc) == ("tags", "control_chars")


def test_tags_keep_joiners_inside_and_drop_them_around_the_hash() -> None:
    coder = "\U0001f469\u200d\U0001f4bb"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0646\u0645"
    assert validate_tags(f"#{coder} coding, {persian}") == (f"{coder} coding", persian)
    assert normalize_tag(f"\u200b#{persian}\u200b") == persian
    assert normalize_tag(f"#\u200b {persian}") == persian  # as "# x" is "x"
    assert validate_tag(f"#{coder}") == coder
    assert validate_tags("#\u200b, \u2060#\ufeff") == ()
    with pytest.raises(ValidationError) as exc:
        validate_tag("#\u200d")
    assert problem(exc) == ("tag", "empty")


def test_single_tag() -> None:
    assert normalize_tag("  #Exam   Prep ") == "exam prep"
    assert validate_tag("#MATH") == "math"
    with pytest.raises(ValidationError):
        validate_tag("#")
    with pytest.raises(ValidationError):
        validate_tag("y" * (TAG_MAX + 1))


# -- capacity ------------------------------------------------------------------------------


def test_capacity() -> None:
    assert validate_capacity(2, 25) == 2
    assert validate_capacity(25, 25) == 25
    assert validate_capacity(10) == 10
    assert validate_capacity(8, 8) == 8
    for bad, guild_max in ((1, 25), (0, 25), (26, 25), (9, 8), (-3, 25)):
        with pytest.raises(ValidationError) as exc:
            validate_capacity(bad, guild_max)
        assert problem(exc) == ("capacity", "out_of_range")
        assert exc.value.params["max"] == guild_max


def test_capacity_guild_max_must_be_sane() -> None:
    with pytest.raises(ValueError):
        validate_capacity(5, 26)
    with pytest.raises(ValueError):
        validate_capacity(2, 1)


# -- membership ----------------------------------------------------------------------------


def test_next_owner_is_the_longest_present() -> None:
    members = {1: 100, 2: 300, 3: 200, 4: 200}
    assert next_owner(members, 1) == 3  # tie at 200: smaller id
    assert next_owner({2: 300, 4: 200, 3: 200}, 99) == 3
    assert next_owner({1: 100, 5: 150}, 1) == 5


def test_next_owner_none_when_nobody_remains() -> None:
    assert next_owner({1: 100}, 1) is None
    assert next_owner({}, 1) is None


def test_can_join() -> None:
    can_join(0, 2)
    can_join(1, 2)
    with pytest.raises(RoomFull) as exc:
        can_join(2, 2)
    assert exc.value.params["capacity"] == 2

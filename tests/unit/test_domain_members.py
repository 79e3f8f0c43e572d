"""Which language a member may choose."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import ValidationError
from bot.domain.members import LOCALES, validate_locale
from bot.i18n import catalog


def test_only_languages_with_a_catalogue() -> None:
    shipped = {
        entry.name
        for entry in (resources.files("bot") / "locales").iterdir()
        if entry.is_dir() and not entry.name.startswith("_")
    }
    assert set(LOCALES) == shipped
    assert all(catalog(code) for code in LOCALES)


def test_codes_are_cleaned_and_folded() -> None:
    assert validate_locale("ko") == "ko"
    assert validate_locale(" KO\u200b") == "ko"
    assert validate_locale("En") == "en"


@pytest.mark.parametrize("text", ["", "fr", "kor", "ko-KR", "e n"])
def test_other_codes_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_locale(text)
    assert (refused.value.field, refused.value.problem) == ("locale", "unsupported_locale")


@given(st.text(max_size=40))
def test_anything_accepted_is_a_supported_code(text: str) -> None:
    try:
        value = validate_locale(text)
    except ValidationError as refused:
        assert len(refused.params["value"]) <= 16
    else:
        assert value in LOCALES

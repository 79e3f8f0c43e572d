"""Korean particles follow the sound before them: the catalog writes both forms, 은(는), and
the rendered message keeps the one that fits the word or number a placeholder brought."""

from __future__ import annotations

import pytest

from bot.i18n import korean_particles, t


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("점수은(는)", "점수는"),  # no final consonant
        ("내용이(가)", "내용이"),  # ㅇ
        ("날짜이(가)", "날짜가"),
        ("할 일을(를)", "할 일을"),
        ("사과과(와) 배", "사과와 배"),
        ("시간(으)로", "시간으로"),
        ("서울(으)로", "서울로"),  # after ㄹ, 로
        ("바다(으)로", "바다로"),
        # numbers read as Sino-Korean: 1 일, 2 이, 3 삼, 6 육, 10 십
        ("알람 #1을(를)", "알람 #1을"),
        ("알람 #2을(를)", "알람 #2를"),
        ("알람 #3은(는)", "알람 #3은"),
        ("알람 #4은(는)", "알람 #4는"),
        ("알람 #10을(를)", "알람 #10을"),
        ("**70**(으)로", "**70**으로"),  # markdown passed over
        ("**71**(으)로", "**71**로"),
        ("**76**(으)로", "**76**으로"),
        ("주간 목표(시간)은(는)", "주간 목표(시간)는"),  # an aside: the word before it
        # a date is read to its day (… 오 일), whatever its last digit; a time to its
        # minutes (… 오 분), or to the hour (… 시) when they are none
        ("`2026-12-05`을(를)", "`2026-12-05`을"),
        ("2026-12-02은(는)", "2026-12-02은"),
        ("2026-12-09(으)로", "2026-12-09로"),
        ("02:35은(는)", "02:35은"),
        ("14:09이(가)", "14:09이"),
        ("02:00은(는)", "02:00는"),
        ("**12-05**을(를)", "**12-05**를"),  # not a date: the number 5
        # the sound is not known: both forms stay
        ("`/timer stop`은(는)", "`/timer stop`은(는)"),
        ("<t:1767225600:R>이(가)", "<t:1767225600:R>이(가)"),
        ("은(는) 맨 앞", "은(는) 맨 앞"),
    ],
)
def test_a_paired_particle_takes_the_form_the_sound_before_it_needs(
    text: str, expected: str
) -> None:
    assert korean_particles(text) == expected


def test_messages_are_rendered_with_the_right_particle_in_korean_only() -> None:
    assert t("alarm.ack.on_time", "ko", alarm="알람 #3") == "알람 #3을 제시간에 껐어요. ✅"
    assert t("alarm.ack.on_time", "ko", alarm="알람 #2") == "알람 #2를 제시간에 껐어요. ✅"
    assert t("alarm.ack.already", "ko", alarm="2회차 · 알람 #4") == "2회차 · 알람 #4는 이미 껐어요."
    assert t("error.validation.empty", "ko", field_name="날짜") == "날짜가 비어 있어요."
    saved = t("alarms.rate.saved", "ko", day="2026-12-05", stars="★★★☆☆", score=3)
    assert saved.startswith("저장했어요: 2026-12-05을 ★★★☆☆ (3/5)로 평가했어요.")
    # English is left as it is, brackets and all
    assert korean_particles("a (b)") == "a (b)"
    assert (
        t("alarm.ack.on_time", "en", alarm="Alarm #3(가)") == "Alarm #3(가) dismissed, on time. ✅"
    )

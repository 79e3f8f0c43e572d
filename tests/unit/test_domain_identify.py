"""Discord's IDENTIFY limit: shards whose id is equal modulo max_concurrency share a bucket,
and a bucket IDENTIFYs at most once per 5 seconds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.identify import IDENTIFY_INTERVAL_MS, IdentifyLimit, identify_bucket


def test_the_window_is_discords_five_seconds() -> None:
    assert IDENTIFY_INTERVAL_MS == 5000 == IdentifyLimit().interval_ms


def test_with_max_concurrency_1_every_shard_is_in_one_bucket() -> None:
    assert {identify_bucket(shard, 1) for shard in range(64)} == {0}


def test_shards_share_a_bucket_when_their_ids_are_equal_modulo_max_concurrency() -> None:
    limit = IdentifyLimit(max_concurrency=16)
    assert [limit.bucket(s) for s in (0, 1, 15, 16, 17, 31, 32)] == [0, 1, 15, 0, 1, 15, 0]


@given(st.integers(0, 10_000), st.integers(1, 1024))
def test_a_bucket_is_one_of_max_concurrency(shard_id: int, max_concurrency: int) -> None:
    bucket = identify_bucket(shard_id, max_concurrency)
    assert 0 <= bucket < max_concurrency
    assert identify_bucket(shard_id + max_concurrency, max_concurrency) == bucket


def test_a_bucket_with_no_identify_in_its_window_may_identify_at_once() -> None:
    limit = IdentifyLimit()
    assert limit.next_identify_at(None, 1_000) == 1_000
    assert limit.wait_ms(None, 1_000) == 0


def test_the_next_identify_of_a_bucket_is_a_whole_window_after_its_last() -> None:
    limit = IdentifyLimit()
    assert limit.next_identify_at(10_000, 10_000) == 15_000
    assert limit.wait_ms(10_000, 12_500) == 2_500
    assert limit.wait_ms(10_000, 14_999) == 1
    # once the window has passed, at once
    assert limit.next_identify_at(10_000, 15_000) == 15_000
    assert limit.wait_ms(10_000, 60_000) == 0


@given(st.integers(0, 10**12), st.integers(0, 10**6), st.integers(1, 60_000))
def test_never_sooner_than_now_nor_than_a_window_after_the_last(
    last_ms: int, later_ms: int, interval_ms: int
) -> None:
    limit = IdentifyLimit(interval_ms=interval_ms)
    now_ms = last_ms + later_ms
    at = limit.next_identify_at(last_ms, now_ms)
    assert at >= now_ms and at >= last_ms + interval_ms
    assert at == now_ms or at == last_ms + interval_ms


def test_a_shorter_window_for_the_tests() -> None:
    assert IdentifyLimit(2, interval_ms=200).wait_ms(1_000, 1_050) == 150


@pytest.mark.parametrize(
    ("shard_id", "max_concurrency"), [(-1, 1), (0, 0), (3, -2)], ids=["shard", "zero", "neg"]
)
def test_a_bucket_needs_a_shard_id_and_a_max_concurrency(
    shard_id: int, max_concurrency: int
) -> None:
    with pytest.raises(ValueError):
        identify_bucket(shard_id, max_concurrency)


def test_a_limit_needs_a_bucket_and_a_window() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        IdentifyLimit(max_concurrency=0)
    with pytest.raises(ValueError, match="interval"):
        IdentifyLimit(interval_ms=0)

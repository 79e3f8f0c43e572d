"""Ranks in a ranking: places for rows already sorted best first.

Ties share a rank, the best among them, and the next different value skips the places the
tie took ("1, 2, 2, 4"): two members who studied exactly as long are equally placed, and the
one behind them is fourth, as in any competition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    rank: int
    user_id: int
    value: int  # ms studied, or kings


def ranked(rows: Iterable[tuple[int, int]]) -> list[Place]:
    """Places for ``(user id, value)`` rows sorted best first; equal values share the best
    rank among them."""
    places: list[Place] = []
    for i, (user, value) in enumerate(rows):
        rank = places[-1].rank if places and places[-1].value == value else i + 1
        places.append(Place(rank, user, value))
    return places

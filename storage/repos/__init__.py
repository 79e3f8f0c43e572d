"""Repositories: typed queries over a unit of work's session, returning ORM objects."""

from storage.repos.base import Repository
from storage.repos.ledger import LedgerRepository
from storage.repos.members import MemberRepository
from storage.repos.ratings import RatingRepository, month_bounds
from storage.repos.rooms import RoomRepository
from storage.repos.runs import RunRepository
from storage.repos.study import StudyRepository
from storage.repos.todos import TodoRepository

__all__ = [
    "LedgerRepository",
    "MemberRepository",
    "RatingRepository",
    "Repository",
    "RoomRepository",
    "RunRepository",
    "StudyRepository",
    "TodoRepository",
    "month_bounds",
]

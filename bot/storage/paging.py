"""Pages of query results, and the text filter the history and the gallery share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; ``number`` counts from 0 and is always a page that exists."""

    items: list[T]
    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        """How many pages the listing has (at least one, even when empty)."""
        return max(1, -(-self.total // self.size))

    @property
    def first_index(self) -> int:
        """Position of the page's first item in the whole listing, from 0."""
        return self.number * self.size


def clamp_page(number: int, size: int, total: int) -> int:
    """The requested page, or the last one when rows went away since the page was shown."""
    if size < 1:
        raise ValueError(f"page size must be at least 1, got {size}")
    last = max(0, -(-total // size) - 1)
    return min(max(0, number), last)


def like_pattern(text: str) -> str:
    """A ``LIKE ? ESCAPE '\\'`` pattern matching ``text`` anywhere, wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"

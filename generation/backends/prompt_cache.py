"""A bounded LRU cache of prompt encodings, shared by every family's prompt encoder.

Each (prompt or negative prompt) text is encoded on its own and kept: a reroll or a variation
of a known prompt skips the text encoders entirely, and encoding texts one at a time keeps a
request's conditioning independent of whatever else shares its batch.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class CachedEncoder(Generic[T]):
    """Encodes one text at a time through :meth:`_encode`, with an LRU cache of the results."""

    def __init__(self, cache_size: int = 64) -> None:
        self._cache_size = max(0, cache_size)
        self._cache: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def encode(self, text: str) -> T:
        """The encoding of ``text`` (a prompt or a negative prompt), from the cache if present."""
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return cached
            self.misses += 1
        result = self._encode(text)
        if self._cache_size:
            with self._lock:
                self._cache[text] = result
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return result

    def _encode(self, text: str) -> T:
        raise NotImplementedError

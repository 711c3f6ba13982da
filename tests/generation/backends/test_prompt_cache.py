"""The LRU cache of prompt encodings shared by every family."""

from __future__ import annotations

from generation.backends.prompt_cache import CachedEncoder


class _Lengths(CachedEncoder[int]):
    def __init__(self, cache_size: int) -> None:
        super().__init__(cache_size)
        self.encoded: list[str] = []

    def _encode(self, text: str) -> int:
        self.encoded.append(text)
        return len(text)


def test_hits_misses_and_least_recently_used_eviction() -> None:
    cache = _Lengths(2)
    assert [cache.encode(t) for t in ("rain", "wind", "rain", "fire", "wind")] == [4, 4, 4, 4, 4]
    # "rain" was used again before "fire" came, so "wind" was the one evicted.
    assert cache.encoded == ["rain", "wind", "fire", "wind"]
    assert (cache.hits, cache.misses) == (1, 4)
    cache.clear()
    cache.encode("rain")
    assert cache.misses == 5


def test_size_zero_encodes_every_time() -> None:
    cache = _Lengths(0)
    cache.encode("rain")
    cache.encode("rain")
    assert cache.encoded == ["rain", "rain"] and cache.hits == 0

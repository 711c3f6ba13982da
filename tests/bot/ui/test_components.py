"""Helpers of the paged screens: custom ids within Discord's limit, filters, modal values."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from bot.ui.components import MAX_CUSTOM_ID, custom_id_with_tail, listing_filters, submitted_values
from generation.errors import RequestError


def test_custom_ids_never_exceed_the_limit() -> None:
    assert custom_id_with_tail("a:b:", "rain") == "a:b:rain"
    long = custom_id_with_tail("x" * 90, "y" * 40)
    assert len(long) == MAX_CUSTOM_ID and long.endswith("y" * 10)


def test_listing_filters() -> None:
    assert listing_filters(None, None) == (None, None)
    assert listing_filters("  rain ", " ") == ("rain", None)
    assert listing_filters("   ", "Ocean") == (None, "ocean")
    with pytest.raises(RequestError, match="Unknown preset"):
        listing_filters(None, "lava")


def test_submitted_values_reads_labels_and_rows() -> None:
    data: dict[str, Any] = {
        "components": [
            {"type": 18, "component": {"type": 4, "custom_id": "prompt", "value": "rain"}},
            {"type": 1, "components": [{"type": 4, "custom_id": "seed", "value": ""}]},
            {"type": 10},
        ]
    }
    interaction = SimpleNamespace(data=data)
    assert submitted_values(interaction) == {"prompt": "rain", "seed": ""}  # type: ignore[arg-type]
    assert submitted_values(SimpleNamespace(data=None)) == {}  # type: ignore[arg-type]

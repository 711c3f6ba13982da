"""How a model is named to users: hub ids as they are, local folders by their own name only."""

from __future__ import annotations

import pytest

from generation.settings import model_display_name


@pytest.mark.parametrize(
    ("model_id", "shown"),
    [
        ("cvssp/audioldm2", "cvssp/audioldm2"),
        ("cvssp/audioldm2-large", "cvssp/audioldm2-large"),
        ("tiny", "tiny"),
        ("/srv/models/my-audioldm2", "my-audioldm2"),
        ("/srv/models/my-audioldm2/", "my-audioldm2"),
        ("~/models/audioldm2", "audioldm2"),
        ("./checkpoints/audioldm2", "audioldm2"),
        ("C:\\Users\\me\\models\\audioldm2", "audioldm2"),
        ("/", "local model"),
    ],
)
def test_model_display_name(model_id: str, shown: str) -> None:
    assert model_display_name(model_id) == shown
    assert model_display_name(shown) == shown  # naming a shown name again changes nothing

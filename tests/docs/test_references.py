"""The generated pages (command reference, configuration reference, example outputs) are what
the code generates now: regenerate them with ``python -m bot.reference``."""

from __future__ import annotations

from pathlib import Path

from bot.reference import config_reference
from bot.reference.pages import PAGES, ROOT, stale


def test_generated_pages_match_the_code() -> None:
    assert stale() == [], "stale generated docs: run python -m bot.reference"


def test_every_config_key_and_variable_is_in_the_reference() -> None:
    from bot.config.env import variable_name
    from bot.config.loading import SECTIONS

    text = config_reference.render()
    for section, model in SECTIONS.items():
        assert f"## `[{section}]`" in text
        for key in model.model_fields:
            assert f"| `{key}` |" in text and f"`{variable_name(section, key)}`" in text, (section, key)


def test_a_changed_page_is_reported_stale(tmp_path: Path) -> None:
    for page, make in PAGES.items():
        path = tmp_path / page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make(), encoding="utf-8")
    assert stale(tmp_path) == []
    edited = tmp_path / "docs/running/configuration.md"
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("`max_queue`", "`max_queues`"), encoding="utf-8"
    )
    assert stale(tmp_path) == ["docs/running/configuration.md"]
    assert ROOT.joinpath("mkdocs.yml").exists()

"""The studio's page: three tabs over one engine (``build_ui`` builds, :mod:`bot.studio.launch` serves).

Handlers only turn widgets into the render path's orders and call the engine; every render event
shares one concurrency slot (``concurrency_id="gpu"``, limit 1), so one render runs at a time
and the others wait in Gradio's queue, which shows each its place.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import gradio as gr

from bot.studio.compare_tab import build_compare_tab
from bot.studio.context import Studio
from bot.studio.create_tab import build_create_tab
from bot.studio.lab_tab import build_lab_tab

TITLE = "AmbientGen studio"
CSS = """
.lab-grid { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.lab-grid th, .lab-grid td { border-bottom: 1px solid var(--border-color-primary); padding: 4px 6px; }
.lab-grid audio { height: 32px; width: 220px; }
"""


def file_url(path: Path) -> str:
    """Where the page fetches a file of the studio's folder (served through ``allowed_paths``)."""
    return "gradio_api/file=" + quote(str(path))


def build_ui(studio: Studio) -> gr.Blocks:
    """The page for ``studio``'s engine (nothing is served until it is launched)."""
    age = int(studio.files.max_age_s)
    # Gradio copies what handlers return into its cache: pruned by the same age, emptied at exit.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(max(60, age // 8), age)) as page:
        gr.Markdown(f"## {TITLE}\nModels: {', '.join(studio.engine.models)}")
        with gr.Tabs():
            with gr.Tab("Create", id="create"):
                create = build_create_tab(studio)
            with gr.Tab("Compare", id="compare"):
                compare = build_compare_tab(studio)
            with gr.Tab("Prompt lab", id="lab"):
                lab = build_lab_tab(studio, file_url)

        # A preset saved in the lab is offered at once in the other tabs' dropdowns.
        def refresh() -> tuple[gr.Dropdown, gr.Dropdown]:
            return gr.Dropdown(choices=studio.preset_choices()), gr.Dropdown(choices=studio.preset_choices())

        lab["category"].change(refresh, None, [create["preset"], compare["preset"]], api_name=False)
    page.queue(default_concurrency_limit=1)
    return page

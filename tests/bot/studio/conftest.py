"""A running studio on the tiny models (``launch(prevent_thread_lock=True)``), for API tests
through ``gradio_client``; the hold file holds its renders where a test needs one in progress."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the studio needs the 'studio' extra (gradio)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningStudio:
    url: str
    studio: object
    hold_file: Path
    presets_file: Path

    def hold(self) -> None:
        self.hold_file.write_text("*\n", encoding="utf-8")

    def release(self) -> None:
        self.hold_file.unlink(missing_ok=True)

    def client(self) -> object:
        from gradio_client import Client

        return Client(self.url, verbose=False)


@pytest.fixture(scope="module")
def running_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    from bot.config import ModelConfig, load_config
    from bot.studio.context import Studio
    from bot.studio.engine import engine_from_config
    from bot.studio.files import StudioFiles
    from bot.studio.ui import CSS, build_ui
    from generation.preset_matching import install_extra_presets

    folder = tmp_path_factory.mktemp("studio")
    hold = folder / "hold.txt"
    model = ModelConfig(id="tiny", also=({"id": "tiny-sao"},), test_hold_file=hold)
    config = dataclasses.replace(load_config(None), model=model)
    engine = engine_from_config(config)
    engine.open()
    files = StudioFiles(folder)
    studio = Studio(engine, files, folder / "presets.json")
    page = build_ui(studio)
    port = free_port()
    page.launch(
        server_port=port, prevent_thread_lock=True, allowed_paths=[str(files.root)], css=CSS, quiet=True
    )
    try:
        yield RunningStudio(f"http://127.0.0.1:{port}/", studio, hold, studio.presets_file)
    finally:
        hold.unlink(missing_ok=True)
        page.close()
        engine.shutdown()
        files.cleanup()
        install_extra_presets([])

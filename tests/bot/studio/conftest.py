"""A running studio on the tiny models (``launch(prevent_thread_lock=True)``), for API tests
through ``gradio_client``; the hold file holds its renders where a test needs one in progress."""

from __future__ import annotations

import dataclasses
import gc
import socket
import warnings
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
    clients: list[object] = dataclasses.field(default_factory=list)

    def hold(self) -> None:
        self.hold_file.write_text("*\n", encoding="utf-8")

    def release(self) -> None:
        self.hold_file.unlink(missing_ok=True)

    def client(self) -> object:
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        self.clients.append(client)
        return client


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
    config = load_config(None).model_copy(update={"model": model})
    engine = engine_from_config(config)
    engine.open()
    files = StudioFiles(folder)
    studio = Studio(engine, files, folder / "presets.json")
    page = build_ui(studio)
    port = free_port()
    page.launch(
        server_port=port, prevent_thread_lock=True, allowed_paths=[str(files.root)], css=CSS, quiet=True
    )
    running = RunningStudio(f"http://127.0.0.1:{port}/", studio, hold, studio.presets_file)
    try:
        yield running
    finally:
        for client in running.clients:
            client.close()  # type: ignore[attr-defined]
        hold.unlink(missing_ok=True)
        page.close()
        engine.shutdown()
        files.cleanup()
        install_extra_presets([])
        # Gradio's server and clients leave event loops of their own for the collector; collected
        # here, where their ResourceWarnings are not this suite's to fix.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()

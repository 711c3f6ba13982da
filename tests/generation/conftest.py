"""Fixtures of the generation tests: every built-in tiny model, each loaded once per session."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from generation.backends.base import Backend

#: The built-in models, one per family: AudioLDM2, Stable Audio Open, Stable Audio 3.
TINY_IDS = ("tiny", "tiny-sao", "tiny-sa3")

_loaded: dict[str, Backend] = {}


def load_tiny(model_id: str) -> Backend:
    """The session's engine of a built-in model (deterministic; tests restore what they change)."""
    if model_id not in _loaded:
        # Imported here so the pure unit tests never pay for importing torch.
        from generation.backends.registry import load_backend
        from generation.settings import EngineSettings

        _loaded[model_id] = load_backend(EngineSettings(model_id=model_id, device="cpu"))
    return _loaded[model_id]


@pytest.fixture(params=TINY_IDS)
def tiny_backend(request: pytest.FixtureRequest) -> Backend:
    """Each family's tiny engine in turn."""
    return load_tiny(request.param)


@pytest.fixture
def tiny_sao_engine() -> Backend:
    return load_tiny("tiny-sao")


@pytest.fixture
def tiny_sa3_engine() -> Backend:
    return load_tiny("tiny-sa3")


class _GatedHub(http.server.BaseHTTPRequestHandler):
    """Answers every request as the Hugging Face hub answers for a gated repository: 401
    "GatedRepo" without a token, 403 "GatedRepo" with a token whose owner has not accepted."""

    def _refuse(self) -> None:
        self.send_response(403 if self.headers.get("Authorization") else 401)
        self.send_header("X-Error-Code", "GatedRepo")
        self.send_header("X-Error-Message", "Access to this model is restricted.")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gated_hub() -> Iterator[str]:
    """The address of a fake hub that refuses every gated download (give it as HF_ENDPOINT)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GatedHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

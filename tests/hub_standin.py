"""A stand-in for the Hugging Face hub that refuses every gated download (give it as HF_ENDPOINT)."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator


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


@contextlib.contextmanager
def gated_hub_server() -> Iterator[str]:
    """The fake hub's address while the block runs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GatedHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

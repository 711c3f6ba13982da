"""A throwaway certificate authority: the voice gateway speaks ``wss://`` on loopback with it.

discord.py dials voice servers over TLS only. The bot under test trusts the authority through
the ``SSL_CERT_FILE`` environment variable (its value: :attr:`TestAuthority.ca_file`); an
in-process client passes :meth:`TestAuthority.client_context` to its connector.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

import trustme


class TestAuthority:
    """A CA plus a server certificate for 127.0.0.1 and localhost."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._folder = Path(tempfile.mkdtemp(prefix="standin-ca-"))
        self.ca_file = self._folder / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    def remove(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

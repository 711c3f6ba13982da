"""Voice UDP packets: IP discovery, RTP headers, and ``aead_xchacha20_poly1305_rtpsize`` decryption."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.exceptions import CryptoError

#: The transport encryption the stand-in offers (the one Discord requires today).
ENCRYPTION_MODE = "aead_xchacha20_poly1305_rtpsize"
DISCOVERY_SIZE = 74
_DISCOVERY_REQUEST = 0x1
_DISCOVERY_RESPONSE = 0x2
_RTP_VERSION = 2
RTP_HEADER = 12
_NONCE_SUFFIX = 4


class BadPacket(ValueError):
    """A datagram that is neither discovery nor a decryptable RTP packet for this session."""


def is_discovery_request(data: bytes) -> bool:
    return len(data) == DISCOVERY_SIZE and struct.unpack_from(">HH", data) == (_DISCOVERY_REQUEST, 70)


def discovery_response(request: bytes, address: str, port: int) -> bytes:
    """The answer to an IP discovery request: the address and port the request came from."""
    (ssrc,) = struct.unpack_from(">I", request, 4)
    encoded = address.encode("ascii")
    if len(encoded) >= 64:
        raise ValueError(f"address too long for discovery: {address}")
    return struct.pack(">HHI64sH", _DISCOVERY_RESPONSE, 70, ssrc, encoded, port)


@dataclass(frozen=True)
class RtpPacket:
    sequence: int
    timestamp: int
    ssrc: int
    payload_type: int
    header: bytes
    """Everything that is authenticated but not encrypted (the AAD)."""
    body: bytes
    """Ciphertext and tag, without the trailing nonce counter."""
    nonce: bytes
    extension: bool


def parse_rtp(data: bytes) -> RtpPacket:
    if len(data) < RTP_HEADER + _NONCE_SUFFIX + 16 or data[0] >> 6 != _RTP_VERSION:
        raise BadPacket(f"not an RTP packet ({len(data)} bytes)")
    csrc_count = data[0] & 0x0F
    extension = bool(data[0] & 0x10)
    header_size = RTP_HEADER + 4 * csrc_count + (4 if extension else 0)
    if len(data) < header_size + _NONCE_SUFFIX + 16:
        raise BadPacket("RTP packet shorter than its header")
    sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
    return RtpPacket(
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload_type=data[1] & 0x7F,
        header=data[:header_size],
        body=data[header_size:-_NONCE_SUFFIX],
        nonce=data[-_NONCE_SUFFIX:] + bytes(20),
        extension=extension,
    )


def decrypt(packet: RtpPacket, key: bytes) -> bytes:
    """The Opus payload (with any header extension body removed); raises :class:`BadPacket`."""
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(packet.body, packet.header, packet.nonce, key)
    except CryptoError:
        raise BadPacket(f"packet {packet.sequence} does not decrypt with the session key") from None
    if packet.extension:
        (words,) = struct.unpack_from(">H", packet.header, len(packet.header) - 2)
        plain = plain[4 * words :]
    return plain

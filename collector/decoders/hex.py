"""`hex`: raw bytes -> lowercase hex text, byte by byte in memory order."""

from __future__ import annotations

from collector.decoders.base import Decoder


class HexDecoder(Decoder):
    name = "hex"

    def decode(self, value: bytes) -> bytes:
        return value.hex().encode()

"""`uint`: a 1, 2, 4 or 8-byte integer in host byte order -> decimal text (`0e 00 00 00` -> `14`)."""

from __future__ import annotations

from collector.decoders.base import Decoder, host_uint


class UintDecoder(Decoder):
    name = "uint"

    def decode(self, value: bytes) -> bytes:
        return str(host_uint(value, (1, 2, 4, 8), "uint")).encode()

"""`ifname`: a network interface index (u32 in the first 4 bytes) -> its name (`1` -> `lo`).

Names are cached; an index with no interface (deleted, or not yet created)
becomes `unknown:<index>` and is asked again next time, never cached."""

from __future__ import annotations

import socket
import sys

from collector.decoders.base import Decoder, DecoderContext, DecoderError
from collector.decoders.spec import DecoderSpec


class IfnameDecoder(Decoder):
    name = "ifname"
    pure = False

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        super().__init__(spec, ctx)
        self.cache: dict[int, bytes] = {}

    def decode(self, value: bytes) -> bytes:
        if len(value) < 4:
            raise DecoderError(f"ifname expects a 4-byte interface index, got {len(value)} bytes")
        index = int.from_bytes(value[:4], sys.byteorder)
        name = self.cache.get(index)
        if name is None:
            try:
                name = socket.if_indextoname(index).encode()
            except OSError:
                return f"unknown:{index}".encode()
            if len(self.cache) > 4096:  # interfaces come and go (veths): stay bounded
                self.cache.clear()
            self.cache[index] = name
        return name

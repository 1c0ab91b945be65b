"""`string`: a NUL-terminated C string (`char comm[16]`) -> the text before the first NUL."""

from __future__ import annotations

from collector.decoders.base import Decoder


class StringDecoder(Decoder):
    name = "string"

    def decode(self, value: bytes) -> bytes:
        end = value.find(b"\0")
        text = value if end < 0 else value[:end]
        # Label values must be valid UTF-8; kernel strings usually are.
        return text.decode("utf-8", "replace").encode()

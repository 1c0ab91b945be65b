"""`dname`: a DNS name in wire format (`\\x07example\\x03com\\x00`) -> `example.com`.

Usually after `string`, which cuts at the terminating zero length. A length that
runs past the end leaves the input as it is."""

from __future__ import annotations

from collector.decoders.base import Decoder


class DnameDecoder(Decoder):
    name = "dname"

    def decode(self, value: bytes) -> bytes:
        if not value:
            return b"."
        parts: list[bytes] = []
        off = 0
        while off < len(value):
            n = value[off]
            off += 1
            if n == 0:
                break
            if off + n > len(value):
                return value
            parts.append(value[off : off + n])
            off += n
        return b".".join(parts)

"""`errno`: an error number (after `uint`) -> its symbolic name (`2` -> `ENOENT`)."""

from __future__ import annotations

import errno as _errno

from collector.decoders.base import Decoder, parse_uint


class ErrnoDecoder(Decoder):
    name = "errno"

    def decode(self, value: bytes) -> bytes:
        number = parse_uint(value, "errno")
        name = _errno.errorcode.get(number)
        return (name or f"unknown:{number}").encode()

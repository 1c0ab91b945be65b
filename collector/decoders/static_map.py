"""`static_map`: look the value up in a fixed mapping (`1: read, 2: write`).

Values not in the map become `unknown:<value>`, or stay as they are with
`allow_unknown: true`. YAML keys are compared as text, so `0x1: read` in the
config matches the `uint` decoder's `1`."""

from __future__ import annotations

from collector.decoders.base import Decoder, DecoderContext
from collector.decoders.spec import DecoderSpec


class StaticMapDecoder(Decoder):
    name = "static_map"

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        super().__init__(spec, ctx)
        self.mapping = {k.encode(): v.encode() for k, v in (spec.static_map or {}).items()}

    def decode(self, value: bytes) -> bytes:
        found = self.mapping.get(value)
        if found is not None:
            return found
        return value if self.spec.allow_unknown else b"unknown:" + value

"""`regexp`: keep the series only if the value matches one of the patterns (searched
anywhere, like Go's MatchString; anchor with ^ and $). Otherwise the whole label
set is dropped."""

from __future__ import annotations

import re

from collector.decoders.base import Decoder, DecoderContext, DecoderError, SkipLabelSet
from collector.decoders.spec import DecoderSpec


class RegexpDecoder(Decoder):
    name = "regexp"

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        super().__init__(spec, ctx)
        try:
            self.patterns = [re.compile(p.encode()) for p in spec.regexps or ()]
        except re.error as exc:
            raise DecoderError(f"regexp: invalid pattern {exc.pattern!r}: {exc}") from None

    def decode(self, value: bytes) -> bytes:
        if any(p.search(value) for p in self.patterns):
            return value
        raise SkipLabelSet

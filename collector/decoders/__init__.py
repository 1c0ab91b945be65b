"""Decoders: map key bytes -> label values, chained as in ebpf_exporter's schema.

    from collector.decoders import LabelSetDecoder, LabelSpec
    decoder = LabelSetDecoder([LabelSpec(name="comm", size=16, decoders=[{"name": "string"}])])
    keep, rows = decoder.decode(keys)  # keys: (n, 16) uint8

One small module per decoder; the registry maps names to classes."""

from collector.decoders.base import Decoder, DecoderContext, DecoderError, SkipLabelSet
from collector.decoders.labels import LabelDecodeError, LabelSetDecoder
from collector.decoders.registry import DECODERS
from collector.decoders.spec import DecoderSpec, LabelSpec

__all__ = [
    "DECODERS",
    "Decoder",
    "DecoderContext",
    "DecoderError",
    "DecoderSpec",
    "LabelDecodeError",
    "LabelSetDecoder",
    "LabelSpec",
    "SkipLabelSet",
]

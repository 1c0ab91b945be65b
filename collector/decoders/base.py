"""What every decoder is: bytes in, bytes out, built from its DecoderSpec."""

from __future__ import annotations

import abc
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from collector.decoders.spec import DecoderSpec


class SkipLabelSet(Exception):
    """Raised by a decoder (regexp) to drop the whole series this value belongs to."""


class DecoderError(ValueError):
    """The input cannot be decoded (wrong size, not a number). The message says why."""


@dataclass(slots=True)
class DecoderContext:
    """What decoders may need from their surroundings.

    `lookup` reads one entry of another map of the same BPF object (kstack with a
    stack map); it returns None when the key is absent."""

    lookup: Callable[[str, bytes], bytes | None] | None = None


class Decoder(abc.ABC):
    name: ClassVar[str]
    # A pure decoder's output depends only on its input, so the chain's result
    # may be cached. Decoders that look at the live system (cgroup, ifname,
    # majorminor) keep their own caches with their own rules.
    pure: bool = True

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        self.spec = spec
        self.ctx = ctx

    @abc.abstractmethod
    def decode(self, value: bytes) -> bytes:
        """Decode one value; raise SkipLabelSet to drop the series, DecoderError on bad input."""


def parse_uint(value: bytes, what: str) -> int:
    """Decoders that take a number (syscall, errno, cgroup) read the decimal text
    the `uint` decoder produces, as in ebpf_exporter."""
    if value.isdigit():
        return int(value)
    raise DecoderError(f"{what} expects decimal digits (put the uint decoder before it), got {value!r}")


def host_uint(value: bytes, sizes: tuple[int, ...], what: str) -> int:
    """A raw integer of one of `sizes` bytes in host byte order (how the kernel wrote it)."""
    if len(value) not in sizes:
        raise DecoderError(f"{what} expects {' or '.join(map(str, sizes))} bytes, got {len(value)}")
    return int.from_bytes(value, sys.byteorder)


K = TypeVar("K")
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

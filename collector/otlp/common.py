"""Attributes, resources and scopes as OTLP messages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from collector import __version__

SCOPE_NAME = "ebpf-collector"


def any_value(value: Any) -> AnyValue:
    """A Python or numpy scalar as an AnyValue. bool is tested before int (bool is an int)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value) if -(2**63) <= value < 2**63 else AnyValue(string_value=str(value))
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if hasattr(value, "item"):  # numpy scalar
        return any_value(value.item())
    return AnyValue(string_value=str(value))


def set_value(target: AnyValue, value: Any) -> None:
    """Like any_value, but fills a message in place (cheaper inside repeated fields)."""
    if isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int) and -(2**63) <= value < 2**63:
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    else:
        target.CopyFrom(any_value(value))


def add_attributes(repeated: Any, items: Iterable[tuple[str, Any]]) -> None:
    """Append key/values to a repeated KeyValue field (e.g. `point.attributes`)."""
    add = repeated.add
    for key, value in items:
        kv = add()
        kv.key = key
        set_value(kv.value, value)


def key_values(attributes: Mapping[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def encode_resource(attributes: Mapping[str, Any]) -> Resource:
    return Resource(attributes=key_values(attributes))


def encode_scope(name: str = SCOPE_NAME) -> InstrumentationScope:
    return InstrumentationScope(name=name, version=__version__)


class AttributeCache:
    """Serialized attributes, so a point's attributes are parsed in C from cached
    bytes instead of being built KeyValue by KeyValue in Python.

    Two levels: whole attribute sets (the same series come back every interval and
    across metrics), and single key/value pairs (namespaces, nodes, containers
    repeat across series). Serialized messages of one type concatenate into their
    merge, so a set is the join of its pairs' bytes. Keys include the point type
    (attributes are a different field in each). Bounded: cleared when full."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._sets: dict[tuple[type[Message], tuple[tuple[str, Any], ...]], bytes] = {}
        self._pairs: dict[tuple[type[Message], str, type, Any], bytes] = {}

    def fill(self, point: Message, attributes: Mapping[str, Any]) -> None:
        """Set `point.attributes` (point must be new and empty) from `attributes`."""
        kind = type(point)
        items = tuple(attributes.items())
        cached = self._sets.get((kind, items))
        if cached is None:
            pairs = self._pairs
            cached = b"".join([pairs.get((kind, k, type(v), v)) or self._pair(kind, k, v) for k, v in items])
            # Only all-string sets are kept whole: 1, 1.0 and True are equal as dict keys
            # but encode differently; pairs are keyed by type too.
            if all(type(v) is str for _, v in items):
                if len(self._sets) >= self.max_entries:
                    self._sets.clear()
                self._sets[(kind, items)] = cached
        point.MergeFromString(cached)

    def _pair(self, kind: type[Message], key: str, value: Any) -> bytes:
        one = kind()
        add_attributes(one.attributes, ((key, value),))  # type: ignore[attr-defined]
        cached = one.SerializeToString()
        if len(self._pairs) >= self.max_entries:
            self._pairs.clear()
        self._pairs[(kind, key, type(value), value)] = cached
        return cached

Clock = Literal["monotonic", "boottime", "realtime"]


def clock_offset_ns(clock: Clock) -> int:
    """What to add to a timestamp on `clock` to get Unix time in ns. bpf_ktime_get_ns()
    is CLOCK_MONOTONIC (stops during suspend), bpf_ktime_get_boot_ns() CLOCK_BOOTTIME."""
    if clock == "realtime":
        return 0
    kernel = time.monotonic_ns() if clock == "monotonic" else time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    return time.time_ns() - kernel


def wall_clock_ns(values: np.ndarray[Any, Any], clock: Clock) -> list[int]:
    """A column of kernel timestamps (ns) as Unix times, vectorised."""
    return (values.astype(np.int64) + np.int64(clock_offset_ns(clock))).tolist()  # type: ignore[no-any-return]


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def render(template: str, row: Mapping[str, Any]) -> str:
    """`"{comm} opened {filename}"` with the row's values; names may hold dots
    (k8s.pod.name). An unknown name is left as written, so a typo shows."""
    return _PLACEHOLDER.sub(lambda m: str(row[m.group(1)]) if m.group(1) in row else m.group(0), template)

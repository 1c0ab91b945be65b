"""One pinned map: opened by path, typed from its own BTF, read into metrics.

bpf_obj_get opens the pin; bpf_obj_get_info_by_fd gives struct bpf_map_info
with the map's btf_id and key/value type ids; the kernel's copy of that BTF
(Btf.from_kernel) describes key and value. So a hash of `struct {u32 pid;
char comm[16];}` keys becomes series labelled pid and comm with no config.
A pin that is replaced (the other loader restarted) is reopened."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from collector.bpf import BpfMap
from collector.bpf.btf import Btf
from collector.bpf.info import map_info, obj_get
from collector.decoders import LabelSetDecoder
from collector.mapmetrics import btf_labels
from collector.mapmetrics.build import counter_points
from collector.model import Metric, MetricKind
from receivers.pinned_maps.config import PinnedMapConfig

Array = np.ndarray[Any, Any]


class PinnedMapError(Exception):
    """The pin or its types do not fit; the message names the path and the problem."""


class PinnedMap:
    def __init__(self, config: PinnedMapConfig) -> None:
        self.config = config
        self.map: BpfMap | None = None
        self._inode = 0
        self.open()

    def open(self) -> None:
        self.close()
        path = self.config.path
        try:
            fd = obj_get(path)
        except OSError as exc:
            raise PinnedMapError(f"{path}: cannot open pinned map: {exc.strerror}") from None
        try:
            self._inode = os.stat(path).st_ino
            info = map_info(fd)
            self.map = BpfMap(
                info.name, fd, info.type, info.key_size, info.value_size, info.max_entries,
                info.btf_key_type_id, info.btf_value_type_id,
            )  # fmt: skip
            self._types(info.btf_id)
        except BaseException:
            os.close(fd)
            self.map = None
            raise

    def _types(self, btf_id: int) -> None:
        assert self.map is not None
        m, path = self.map, self.config.path
        labels = self.config.labels
        value_dtype: np.dtype[Any] | None
        if btf_id and m.btf_key_type_id:
            with Btf.from_kernel(btf_id) as btf:
                if labels is None:
                    labels = btf_labels.auto_labels(btf, m.btf_key_type_id)
                else:
                    try:
                        labels = btf_labels.infer_sizes(btf, m.btf_key_type_id, labels)
                    except ValueError as exc:
                        raise PinnedMapError(f"{path}: {exc}") from None
                value_dtype = btf.dtype(m.btf_value_type_id) if m.btf_value_type_id else np.dtype("<u8")
                layout = btf_labels.describe(btf, m.btf_key_type_id)
        else:
            if labels is None or any(lb.size == 0 for lb in labels):
                raise PinnedMapError(
                    f"{path}: map {m.name!r} carries no BTF, so its key cannot be decoded automatically: "
                    "describe it with `labels` (each with a size)"
                )
            value_dtype = np.dtype(f"<u{m.value_size}") if m.value_size in (1, 2, 4, 8) else None
            layout = f"{m.key_size} bytes"
        total = sum(lb.size + lb.padding for lb in labels)
        if total != m.key_size:
            raise PinnedMapError(f"{path}: labels add up to {total} bytes but the key is {layout}")
        if value_dtype is None or value_dtype.itemsize != m.value_size:
            raise PinnedMapError(f"{path}: cannot read {m.value_size}-byte values without their BTF type")
        self.value_dtype: np.dtype[Any] = value_dtype
        self.fields = self._value_fields()
        self.labels = LabelSetDecoder(labels)

    def _value_fields(self) -> list[str | None]:
        names = self.value_dtype.names
        if names is None:
            if self.value_dtype.kind not in "uif" or self.value_dtype.shape:
                raise PinnedMapError(f"{self.config.path}: values of type {self.value_dtype} are not numbers")
            return [None]
        numeric = [n for n in names if self.value_dtype[n].kind in "uif" and not self.value_dtype[n].shape]
        if self.config.value_field is not None:
            if self.config.value_field not in numeric:
                raise PinnedMapError(
                    f"{self.config.path}: value_field {self.config.value_field!r} is not a numeric field of the "
                    f"value; numeric fields: {', '.join(numeric) or 'none'}"
                )
            return [self.config.value_field]
        if not numeric:
            raise PinnedMapError(f"{self.config.path}: the value struct has no numeric fields")
        return list(numeric)

    def reopen_if_replaced(self) -> None:
        try:
            inode = os.stat(self.config.path).st_ino
        except OSError:
            return  # unpinned for now: keep reading the map we hold
        if inode != self._inode:
            self.open()

    def collect(self, prefix: str, start_ns: int, now_ns: int) -> list[Metric]:
        self.reopen_if_replaced()
        assert self.map is not None
        m = self.map
        keys, values = m.read(np.dtype(f"V{m.key_size}"), self.value_dtype)
        keep, rows = self.labels.decode(keys.view(np.uint8).reshape(len(keys), m.key_size))
        values = values[keep]
        base = prefix + (self.config.name or m.name)
        counter = self.config.type == "counter"
        kind = MetricKind.SUM if counter else MetricKind.GAUGE
        out = []
        for field in self.fields:
            column = values if field is None else values[field]
            name = base if field is None or self.config.value_field else f"{base}_{field}"
            points = counter_points(self.labels.names, rows, column, start_ns, now_ns)
            out.append(Metric(name, kind, list(points), self.config.help, monotonic=counter))
        return out

    def close(self) -> None:
        if self.map is not None:
            os.close(self.map.fd)
            self.map = None

"""Reading BPF maps into numpy arrays in bulk.

Hash and array maps are read with BPF_MAP_LOOKUP_BATCH (one syscall per few
thousand entries) into preallocated buffers; kernels without batch support for a
map type fall back to get_next_key + lookup. Per-CPU values arrive as one slot
per possible CPU (each rounded up to 8 bytes) and are summed unless asked not to.
"""

from __future__ import annotations

import ctypes
import errno
from dataclasses import dataclass
from typing import Any

import numpy as np

from collector.bpf.libbpf import PERCPU_MAP_TYPES, BatchOpts, LibbpfError, lib, num_possible_cpus

Array = np.ndarray[Any, Any]


@dataclass(slots=True)
class BpfMap:
    name: str
    fd: int
    type: int
    key_size: int
    value_size: int
    max_entries: int
    # Key and value types in the object's BTF (0: none declared, e.g. BPF_MAP_TYPE_STACK_TRACE)
    btf_key_type_id: int = 0
    btf_value_type_id: int = 0

    @classmethod
    def from_libbpf(cls, ptr: int) -> BpfMap:
        from collector.bpf.btf import _declare

        L = _declare()
        return cls(
            name=L.bpf_map__name(ptr).decode(),
            fd=L.bpf_map__fd(ptr),
            type=L.bpf_map__type(ptr),
            key_size=L.bpf_map__key_size(ptr),
            value_size=L.bpf_map__value_size(ptr),
            max_entries=L.bpf_map__max_entries(ptr),
            btf_key_type_id=L.bpf_map__btf_key_type_id(ptr),
            btf_value_type_id=L.bpf_map__btf_value_type_id(ptr),
        )

    @property
    def percpu(self) -> bool:
        return self.type in PERCPU_MAP_TYPES

    def read(self, key_dtype: np.dtype[Any], value_dtype: np.dtype[Any], sum_cpus: bool = True) -> tuple[Array, Array]:
        """All (keys, values). For per-CPU maps values have shape (n, ncpus) unless summed.
        Summing structured values sums each numeric field."""
        if key_dtype.itemsize != self.key_size:
            raise ValueError(
                f"map {self.name}: key is {self.key_size} bytes, dtype {key_dtype} is {key_dtype.itemsize}"
            )
        if value_dtype.itemsize != self.value_size:
            raise ValueError(
                f"map {self.name}: value is {self.value_size} bytes, dtype {value_dtype} is {value_dtype.itemsize}"
            )
        raw_keys, raw_values = self.read_raw()
        keys = raw_keys.view(key_dtype).reshape(-1)
        if not self.percpu:
            return keys, raw_values.view(value_dtype).reshape(-1)
        ncpu = num_possible_cpus()
        slot = _round8(self.value_size)
        per_cpu = raw_values.reshape(len(keys), ncpu, slot)[:, :, : self.value_size]
        values = np.ascontiguousarray(per_cpu).view(value_dtype).reshape(len(keys), ncpu)
        return keys, (sum_fields(values, axis=1) if sum_cpus else values)

    def read_raw(self) -> tuple[Array, Array]:
        """Keys as (n, key_size) bytes and values as (n, value_bytes) bytes."""
        try:
            return self._read_batch()
        except LibbpfError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOTTY):
                raise
            return self._read_iter()

    def _value_bytes(self) -> int:
        return _round8(self.value_size) * num_possible_cpus() if self.percpu else self.value_size

    def _read_batch(self) -> tuple[Array, Array]:
        L = lib()
        vbytes = self._value_bytes()
        chunk = max(1, min(self.max_entries, 4096))
        keys_parts, values_parts = [], []
        token = ctypes.create_string_buffer(max(self.key_size, 8))
        in_batch: Any = None
        opts = BatchOpts(ctypes.sizeof(BatchOpts), 0, 0)
        while True:
            keys = np.empty((chunk, self.key_size), np.uint8)
            values = np.empty((chunk, vbytes), np.uint8)
            count = ctypes.c_uint32(chunk)
            rc = L.bpf_map_lookup_batch(
                self.fd,
                in_batch,
                token,
                keys.ctypes.data_as(ctypes.c_void_p),
                values.ctypes.data_as(ctypes.c_void_p),
                ctypes.byref(count),
                ctypes.byref(opts),
            )
            err = -rc if rc < 0 else 0
            if err and err != errno.ENOENT:
                if err == errno.ENOSPC:  # one hash bucket holds more than chunk entries
                    chunk *= 2
                    continue
                raise LibbpfError(err, f"read map {self.name}")
            n = count.value
            keys_parts.append(keys[:n])
            values_parts.append(values[:n])
            if err == errno.ENOENT:
                break
            in_batch = token
        return np.concatenate(keys_parts), np.concatenate(values_parts)

    def _read_iter(self) -> tuple[Array, Array]:
        L = lib()
        vbytes = self._value_bytes()
        key = ctypes.create_string_buffer(self.key_size)
        nxt = ctypes.create_string_buffer(self.key_size)
        value = ctypes.create_string_buffer(vbytes)
        keys: list[bytes] = []
        values: list[bytes] = []
        prev: Any = None
        while L.bpf_map_get_next_key(self.fd, prev, nxt) == 0:
            ctypes.memmove(key, nxt, self.key_size)
            prev = key
            if L.bpf_map_lookup_elem(self.fd, key, value) == 0:  # deleted meanwhile: skip
                keys.append(key.raw)
                values.append(value.raw)
        k = np.frombuffer(b"".join(keys), np.uint8).reshape(-1, self.key_size)
        v = np.frombuffer(b"".join(values), np.uint8).reshape(-1, vbytes)
        return k.copy(), v.copy()

    def lookup(self, key: bytes) -> bytes | None:
        value = ctypes.create_string_buffer(self._value_bytes())
        if lib().bpf_map_lookup_elem(self.fd, key, value) != 0:
            return None
        return value.raw

    def update(self, key: bytes, value: bytes) -> None:
        """Set one entry (BPF_ANY). For per-CPU maps `value` holds every CPU's slot."""
        rc = lib().bpf_map_update_elem(self.fd, key, value, 0)
        if rc < 0:
            raise LibbpfError(-rc, f"update map {self.name}")


def _round8(n: int) -> int:
    return (n + 7) & ~7


def sum_fields(values: Array, axis: int) -> Array:
    """Sum along `axis`, field by field for structured dtypes (numpy cannot sum records)."""
    if values.dtype.names is None:
        summed: Array = values.sum(axis=axis, dtype=values.dtype)
        return summed
    out = np.zeros(values.shape[:axis] + values.shape[axis + 1 :], values.dtype)
    for name in values.dtype.names:
        out[name] = values[name].sum(axis=axis, dtype=values.dtype[name].base)
    return out

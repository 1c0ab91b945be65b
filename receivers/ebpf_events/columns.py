"""Derived columns computed once per batch, vectorised (no Python per event):
C strings cleaned past their NUL, argv joined, codes mapped to names, addresses
formatted once per distinct value."""

from __future__ import annotations

import ipaddress
import os
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def clear_after_nul(records: Array) -> None:
    """Zero the bytes after the first NUL of every `char[N]` field, in place.
    Programs that build events in a reused per-CPU slot leave the previous
    event's tail there; numpy compares and hashes whole fields."""
    if not len(records):
        return
    assert records.flags.c_contiguous
    for name in records.dtype.names or ():
        field, offset = records.dtype.fields[name][:2]
        if field.kind != "S":
            continue
        raw = np.ndarray((len(records), field.itemsize), np.uint8, records, offset, (records.dtype.itemsize, 1))
        raw[np.cumsum(raw == 0, axis=1, dtype=np.int32) > 0] = 0


def join_args(args: Array, sizes: Array) -> Array:
    """argv laid out NUL-separated (`args_size` bytes used) -> one space-separated string per row."""
    width = args.dtype.itemsize
    raw = np.ascontiguousarray(args).view(np.uint8).reshape(len(args), width).copy()
    used = np.arange(width)[None, :] < np.minimum(sizes, width)[:, None]
    last = np.minimum(sizes, width)[:, None] - 1
    inner_nul = (raw == 0) & used & (np.arange(width)[None, :] < last)
    raw[inner_nul] = ord(" ")
    raw[~used] = 0
    return np.char.decode(raw.view(f"S{width}").reshape(-1), "utf-8", "replace")


def lookup(codes: Array, names: dict[int, str], default: str = "unknown") -> Array:
    """Map integer codes to names with one table lookup per distinct code."""
    distinct, inverse = np.unique(codes, return_inverse=True)
    table = np.array([names.get(int(c), default if default != "code" else str(int(c))) for c in distinct], object)
    return table[inverse.reshape(-1)] if len(distinct) else np.empty(0, object)


def errno_names(ret: Array) -> Array:
    """Negative return values -> errno names (ENOENT ...), others -> ''."""
    distinct, inverse = np.unique(np.minimum(ret, 0), return_inverse=True)
    table = np.array(
        ["" if c == 0 else _errno_name(-int(c)) for c in distinct],
        object,
    )
    return table[inverse.reshape(-1)] if len(distinct) else np.empty(0, object)


def _errno_name(code: int) -> str:
    import errno

    return errno.errorcode.get(code, f"E{code}")


def ip_text(addrs: Array, family: Array) -> Array:
    """16-byte address fields (any dtype; IPv4 in the first 4 bytes) -> text, formatted once per distinct value."""
    if not len(addrs):
        return np.empty(0, object)
    octets = np.ascontiguousarray(addrs).view(np.uint8).reshape(len(addrs), 16)
    keyed = np.concatenate([family.astype(np.uint8)[:, None], octets], axis=1)
    distinct, inverse = np.unique(keyed, axis=0, return_inverse=True)
    texts = []
    for row in distinct:
        raw = bytes(row[1:])
        texts.append(str(ipaddress.IPv4Address(raw[:4]) if row[0] == 2 else ipaddress.IPv6Address(raw)))
    return np.array(texts, object)[inverse.reshape(-1)]


def dev_numbers(dev: Array) -> tuple[Array, Array]:
    """Kernel dev_t (major << 20 | minor) -> (major, minor)."""
    return (dev >> 20).astype(np.uint32), (dev & ((1 << 20) - 1)).astype(np.uint32)


def device_names(dev: Array) -> Array:
    """dev_t -> block device name from /sys/dev/block, once per distinct device."""
    distinct, inverse = np.unique(dev, return_inverse=True)
    names = []
    for d in distinct:
        ma, mi = int(d) >> 20, int(d) & ((1 << 20) - 1)
        try:
            names.append(os.path.basename(os.readlink(f"/sys/dev/block/{ma}:{mi}")))
        except OSError:
            names.append(f"{ma}:{mi}")
    return np.array(names, object)[inverse.reshape(-1)] if len(distinct) else np.empty(0, object)

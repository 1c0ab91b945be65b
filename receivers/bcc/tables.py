"""BCC tables as numpy: dtypes from BCC's ctypes key/leaf types, bulk reads by fd."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from collector.bpf.maps import BpfMap

Array = np.ndarray[Any, Any]

_SIMPLE: dict[type[Any], str] = {
    ctypes.c_char: "S1",
    ctypes.c_byte: "i1",
    ctypes.c_ubyte: "u1",
    ctypes.c_bool: "u1",
    ctypes.c_short: "<i2",
    ctypes.c_ushort: "<u2",
    ctypes.c_int: "<i4",
    ctypes.c_uint: "<u4",
    ctypes.c_long: "<i8",
    ctypes.c_ulong: "<u8",
    ctypes.c_longlong: "<i8",
    ctypes.c_ulonglong: "<u8",
    ctypes.c_void_p: "<u8",
    ctypes.c_char_p: "<u8",
}


def dtype_of(ctype: type[Any]) -> np.dtype[Any]:
    """A numpy dtype with the exact layout (offsets, padding, size) of a ctypes type;
    char arrays become fixed-size byte strings ('S<n>')."""
    if issubclass(ctype, ctypes.Array):
        elem: Any = ctype._type_
        if elem is ctypes.c_char:
            return np.dtype(f"S{ctype._length_}")
        return np.dtype((dtype_of(elem), (ctype._length_,)))
    if issubclass(ctype, ctypes.Structure | ctypes.Union):
        names: list[str] = []
        formats: list[np.dtype[Any]] = []
        offsets: list[int] = []
        for spec in ctype._fields_:
            name, ftype = spec[0], spec[1]
            if len(spec) > 2:
                raise ValueError(f"bit-field {name!r} in {ctype.__name__} cannot be read as a column")
            names.append(name or f"_anon{len(names)}")
            formats.append(dtype_of(ftype))
            offsets.append(getattr(ctype, name).offset if name else 0)
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": ctypes.sizeof(ctype)})
    for base, code in _SIMPLE.items():
        if issubclass(ctype, base):
            return np.dtype(code)
    raise ValueError(f"unsupported C type {ctype!r}")


def as_bpf_map(table: Any, name: str) -> BpfMap:
    """Our bulk reader over a BCC table's file descriptor."""
    return BpfMap(
        name=name,
        fd=int(table.map_fd),
        type=int(table.ttype),
        key_size=ctypes.sizeof(table.Key),
        value_size=ctypes.sizeof(table.Leaf),
        max_entries=int(table.max_entries),
    )


def read_table(table: Any, name: str) -> tuple[Array, Array]:
    """(keys, values) as structured arrays; per-CPU values summed."""
    return as_bpf_map(table, name).read(dtype_of(table.Key), dtype_of(table.Leaf))

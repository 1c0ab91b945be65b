"""Settings written into an event program before it is loaded: the ring buffer
size, and the `.rodata` switches of bpf/events.bpf.h (`use_perf`, `wakeup_bytes`)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from collector.bpf.btf import DATASEC, Btf, BtfError
from collector.bpf.btf import _declare as _btf_lib
from collector.bpf.libbpf import check_int, lib

_declared = False


def _decl() -> ctypes.CDLL:
    global _declared
    L = lib()
    if not _declared:
        L.bpf_map__initial_value.restype = ctypes.c_void_p
        L.bpf_map__initial_value.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]
        _btf_lib()
        _declared = True
    return L


def find_map(obj: int, name: str) -> int | None:
    L = lib()
    m = L.bpf_object__next_map(obj, None)
    while m:
        if L.bpf_map__name(m).decode() == name:
            return int(m)
        m = L.bpf_object__next_map(obj, m)
    return None


def rodata_vars(obj: int) -> dict[str, tuple[int, int, int]]:
    """`.rodata` variables: name -> (map pointer, offset, size). Empty when there are none."""
    L = _decl()
    btf_ptr = L.bpf_object__btf(obj)
    m = L.bpf_object__next_map(obj, None)
    rodata = None
    while m:
        if L.bpf_map__name(m).decode().endswith(".rodata"):
            rodata = m
            break
        m = L.bpf_object__next_map(obj, m)
    if not rodata or not btf_ptr:
        return {}
    btf = Btf(btf_ptr, owned=False)
    try:
        sec = btf.type(btf.find(".rodata", DATASEC))
    except BtfError:
        return {}
    out = {}
    for i in range(sec.vlen):
        var_type, offset, size = sec.extra[3 * i : 3 * i + 3]
        out[btf.type(var_type).name] = (int(rodata), offset, size)
    return out


@dataclass(frozen=True, slots=True)
class EventSettings:
    ring_bytes: int = 0  # 0: leave the ring buffer size as compiled
    use_perf: bool = False
    wakeup_bytes: int = 256 * 1024
    ring_map: str = "events"
    rodata: dict[str, int] = field(default_factory=dict)  # other `const volatile` settings

    def __call__(self, obj: int) -> None:
        """The loader's `prepare` hook."""
        L = _decl()
        ring = find_map(obj, self.ring_map)
        if ring is not None and (self.ring_bytes or self.use_perf):
            # With the perf transport the ring is unused: keep it one page.
            size = 4096 if self.use_perf else self.ring_bytes
            check_int(L.bpf_map__set_max_entries(ring, size), f"set size of map {self.ring_map}")
        values = {"use_perf": int(self.use_perf), "wakeup_bytes": self.wakeup_bytes, **self.rodata}
        for name, (map_ptr, offset, size) in rodata_vars(obj).items():
            if name not in values:
                continue
            length = ctypes.c_size_t()
            base = L.bpf_map__initial_value(map_ptr, ctypes.byref(length))
            if not base or offset + size > length.value:
                continue
            ctypes.memmove(base + offset, values[name].to_bytes(size, "little"), size)

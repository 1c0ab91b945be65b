"""What the kernel says about loaded programs and maps (bpf_obj_get_info_by_fd),
pinned objects (bpf_obj_get), and run-time statistics (bpf_enable_stats).

`struct bpf_prog_info` and `struct bpf_map_info` are laid out from the running
kernel's own BTF, so fields the kernel added or moved are read where they are."""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from collector.bpf.btf import Btf
from collector.bpf.libbpf import LibbpfError, lib

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
BPF_STATS_RUN_TIME = 0


@functools.cache
def _info_dtype(struct: str) -> np.dtype[Any]:
    with Btf.from_file(VMLINUX_BTF) as btf:
        return btf.struct_dtype(struct)


def _get_info(fd: int, struct: str) -> np.void:
    dtype = _info_dtype(struct)
    buf = np.zeros(1, dtype)
    size = ctypes.c_uint32(dtype.itemsize)
    rc = lib().bpf_obj_get_info_by_fd(fd, buf.ctypes.data_as(ctypes.c_void_p), ctypes.byref(size))
    if rc < 0:
        raise LibbpfError(-rc, f"bpf_obj_get_info_by_fd ({struct})")
    record: np.void = buf[0]
    return record


@dataclass(frozen=True, slots=True)
class ProgInfo:
    id: int
    name: str
    type: int
    run_time_ns: int  # 0 unless run-time statistics are enabled
    run_cnt: int


def prog_info(fd: int) -> ProgInfo:
    info = _get_info(fd, "bpf_prog_info")
    return ProgInfo(
        id=int(info["id"]),
        name=bytes(info["name"]).decode(errors="replace"),
        type=int(info["type"]),
        run_time_ns=int(info["run_time_ns"]),
        run_cnt=int(info["run_cnt"]),
    )


@dataclass(frozen=True, slots=True)
class MapInfo:
    id: int
    name: str
    type: int
    key_size: int
    value_size: int
    max_entries: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int


def map_info(fd: int) -> MapInfo:
    info = _get_info(fd, "bpf_map_info")
    return MapInfo(
        id=int(info["id"]),
        name=bytes(info["name"]).decode(errors="replace"),
        type=int(info["type"]),
        key_size=int(info["key_size"]),
        value_size=int(info["value_size"]),
        max_entries=int(info["max_entries"]),
        btf_id=int(info["btf_id"]),
        btf_key_type_id=int(info["btf_key_type_id"]),
        btf_value_type_id=int(info["btf_value_type_id"]),
    )


def obj_get(path: str | Path) -> int:
    """A new fd for an object pinned on bpffs (close it with os.close)."""
    L = lib()
    fn = L.bpf_obj_get
    fn.restype, fn.argtypes = ctypes.c_int, [ctypes.c_char_p]
    fd = int(fn(os.fsencode(str(path))))
    if fd < 0:
        raise LibbpfError(-fd, f"open pinned object {path}")
    return fd


def enable_run_time_stats() -> int:
    """Turn on the kernel's per-program run time and run count accounting for as
    long as the returned fd stays open (the same switch as kernel.bpf_stats_enabled;
    it costs a few nanoseconds per program run, hence opt-in)."""
    fd = int(lib().bpf_enable_stats(BPF_STATS_RUN_TIME))
    if fd < 0:
        raise LibbpfError(-fd, "bpf_enable_stats(BPF_STATS_RUN_TIME)")
    return fd

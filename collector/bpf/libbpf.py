"""Thin ctypes binding to the system libbpf (Debian `libbpf1`).

Only what the loader and map readers need. libbpf >= 1.0 semantics: pointer
functions return NULL and set errno; int functions return -errno. Every message
libbpf prints (including verifier logs) is captured so errors can quote them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)


class LibbpfError(OSError):
    """A libbpf call failed; `log` holds what libbpf printed meanwhile."""

    def __init__(self, errno: int, what: str, log: list[str] | None = None) -> None:
        super().__init__(errno, f"{what}: {os.strerror(errno)}")
        self.what = what
        self.log = log or []


class BatchOpts(Structure):
    _fields_ = [("sz", c_size_t), ("elem_flags", c_uint64), ("flags", c_uint64)]


class UprobeOpts(Structure):
    """struct bpf_uprobe_opts as of libbpf 1.1 (sz first, so newer libbpfs accept it)."""

    _fields_ = [
        ("sz", c_size_t),
        ("ref_ctr_offset", c_size_t),
        ("bpf_cookie", c_uint64),
        ("retprobe", c_bool),
        ("func_name", c_char_p),
    ]


_PRINT_FN = CFUNCTYPE(c_int, c_int, c_char_p, c_void_p)


def _load() -> ctypes.CDLL:
    for name in ("libbpf.so.1", ctypes.util.find_library("bpf") or ""):
        if not name:
            continue
        try:
            return ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
    raise OSError("libbpf.so.1 not found: install Debian's libbpf1 (make setup does)")


_lib: ctypes.CDLL | None = None
_libc = ctypes.CDLL(None, use_errno=True)
_libc.vsnprintf.argtypes = [c_char_p, c_size_t, c_char_p, c_void_p]
_lock = threading.Lock()
_captured: list[str] = []


@_PRINT_FN  # type: ignore[untyped-decorator]
def _print(level: int, fmt: bytes, args: int) -> int:
    buf = ctypes.create_string_buffer(4096)
    _libc.vsnprintf(buf, len(buf), fmt, args)
    _captured.append(buf.value.decode("utf-8", "replace"))
    return 0


def _sig(name: str, restype: object, *argtypes: object) -> None:
    assert _lib is not None
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


def lib() -> ctypes.CDLL:
    """The loaded library, with prototypes declared (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    _lib = _load()
    P = c_void_p
    _sig("libbpf_set_print", P, _PRINT_FN)
    _sig("bpf_object__open_file", P, c_char_p, P)
    _sig("bpf_object__load", c_int, P)
    _sig("bpf_object__close", None, P)
    _sig("bpf_object__next_program", P, P, P)
    _sig("bpf_object__next_map", P, P, P)
    _sig("bpf_object__find_map_by_name", P, P, c_char_p)
    _sig("bpf_program__name", c_char_p, P)
    _sig("bpf_program__section_name", c_char_p, P)
    _sig("bpf_program__set_autoload", c_int, P, c_bool)
    _sig("bpf_program__autoload", c_bool, P)
    _sig("bpf_program__fd", c_int, P)
    _sig("bpf_program__attach", P, P)
    _sig("bpf_program__attach_perf_event", P, P, c_int)
    _sig("bpf_program__attach_uprobe_opts", P, P, c_int, c_char_p, c_size_t, POINTER(UprobeOpts))
    _sig("bpf_link__destroy", c_int, P)
    _sig("bpf_map__name", c_char_p, P)
    _sig("bpf_map__fd", c_int, P)
    _sig("bpf_map__type", c_int, P)
    _sig("bpf_map__key_size", c_uint32, P)
    _sig("bpf_map__value_size", c_uint32, P)
    _sig("bpf_map__max_entries", c_uint32, P)
    _sig("bpf_map__set_max_entries", c_int, P, c_uint32)
    _sig("bpf_map_get_next_key", c_int, c_int, P, P)
    _sig("bpf_map_lookup_elem", c_int, c_int, P, P)
    _sig("bpf_map_update_elem", c_int, c_int, P, P, c_uint64)
    _sig("bpf_map_delete_elem", c_int, c_int, P)
    _sig("bpf_map_lookup_batch", c_int, c_int, P, P, P, P, POINTER(c_uint32), POINTER(BatchOpts))
    _sig("libbpf_num_possible_cpus", c_int)
    _sig("bpf_enable_stats", c_int, c_int)
    _sig("bpf_obj_get_info_by_fd", c_int, c_int, P, POINTER(c_uint32))
    _lib.libbpf_set_print(_print)
    return _lib


class capture_log:
    """Collect libbpf's messages for the duration of a `with` block (serialised,
    since libbpf's print hook is process-global)."""

    def __enter__(self) -> list[str]:
        _lock.acquire()
        _captured.clear()
        self.lines: list[str] = []
        return self.lines

    def __exit__(self, *exc: object) -> None:
        for message in _captured:
            self.lines.extend(message.rstrip("\n").split("\n"))
        _captured.clear()
        _lock.release()


def check_ptr(ptr: int | None, what: str, log: list[str] | None = None) -> int:
    if not ptr:
        raise LibbpfError(ctypes.get_errno() or 22, what, log)
    return ptr


def check_int(rc: int, what: str, log: list[str] | None = None) -> int:
    if rc < 0:
        raise LibbpfError(-rc, what, log)
    return rc


def num_possible_cpus() -> int:
    return int(check_int(lib().libbpf_num_possible_cpus(), "libbpf_num_possible_cpus"))


# enum bpf_map_type values used by map readers
MAP_HASH, MAP_ARRAY, MAP_PROG_ARRAY, MAP_PERF_EVENT_ARRAY = 1, 2, 3, 4
MAP_PERCPU_HASH, MAP_PERCPU_ARRAY = 5, 6
MAP_LRU_HASH, MAP_LRU_PERCPU_HASH = 9, 10
MAP_RINGBUF = 27
PERCPU_MAP_TYPES = frozenset({MAP_PERCPU_HASH, MAP_PERCPU_ARRAY, MAP_LRU_PERCPU_HASH})

__all__ = [
    "MAP_ARRAY",
    "MAP_HASH",
    "MAP_PERCPU_ARRAY",
    "MAP_PERCPU_HASH",
    "MAP_RINGBUF",
    "PERCPU_MAP_TYPES",
    "BatchOpts",
    "LibbpfError",
    "UprobeOpts",
    "c_uint32",
    "capture_log",
    "check_int",
    "check_ptr",
    "lib",
    "num_possible_cpus",
]

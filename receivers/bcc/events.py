"""BPF_PERF_OUTPUT tables read in batches, as columns.

BCC's perf reader calls a Python function per event; that call only copies the
raw bytes into a preallocated numpy buffer (no dict, no object per event), and
each poll turns what arrived into one structured array.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

from receivers.bcc.config import EventsConfig
from receivers.bcc.tables import dtype_of

Array = np.ndarray[Any, Any]

_TYPES = {
    "u8": "u1",
    "u16": "<u2",
    "u32": "<u4",
    "u64": "<u8",
    "s8": "i1",
    "s16": "<i2",
    "s32": "<i4",
    "s64": "<i8",
}
# Ask the kernel to wake us only every so many events; the poll timeout bounds
# the latency of a quiet stream (a consume after each timeout reads the rest).
WAKEUP_EVENTS = 32
INITIAL_ROWS = 1024


def declared_dtype(config: EventsConfig) -> np.dtype[Any]:
    """The event struct from the declared fields, with C alignment and padding."""
    assert config.fields is not None
    formats: list[Any] = []
    for f in config.fields:
        if f.type == "char":
            formats.append(f"S{f.count}")
        else:
            formats.append(np.dtype(_TYPES[f.type]) if f.count == 1 else (np.dtype(_TYPES[f.type]), (f.count,)))
    return np.dtype({"names": [f.name for f in config.fields], "formats": formats}, align=True)


def learnt_dtype(table: Any) -> np.dtype[Any]:
    """The struct BCC saw passed to perf_submit() in the program."""
    from bcc.table import _get_event_class  # BCC's own parser of the program's event struct

    return dtype_of(_get_event_class(table))


class PerfReader:
    """Collects one BPF_PERF_OUTPUT table's events between drains (poll thread only)."""

    def __init__(self, bpf: Any, config: EventsConfig, on_lost: Callable[[int], None]) -> None:
        table = bpf[config.table.encode()]
        self.table = config.table
        self.dtype = declared_dtype(config) if config.fields else learnt_dtype(table)
        self._size = self.dtype.itemsize
        self._rows = np.zeros(INITIAL_ROWS, self.dtype)
        self._base = self._rows.ctypes.data
        self._n = 0
        self._on_lost = on_lost
        # BCC keeps a reference to the callbacks it wraps.
        table.open_perf_buffer(self._on_event, page_cnt=config.page_count, lost_cb=on_lost, wakeup_events=WAKEUP_EVENTS)

    def _on_event(self, cpu: int, data: int, size: int) -> None:
        if self._n == len(self._rows):
            self._grow()
        dest = self._base + self._n * self._size
        if size < self._size:
            ctypes.memset(dest, 0, self._size)
        # The kernel pads raw samples to 8 bytes, so `size` may exceed the struct a little.
        ctypes.memmove(dest, data, min(size, self._size))
        self._n += 1

    def _grow(self) -> None:
        bigger = np.zeros(len(self._rows) * 2, self.dtype)
        bigger[: self._n] = self._rows[: self._n]
        self._rows, self._base = bigger, bigger.ctypes.data

    def drain(self) -> Array | None:
        """The events since the last drain, as one array (a copy: the buffer is reused)."""
        if self._n == 0:
            return None
        out = self._rows[: self._n].copy()
        self._n = 0
        return out

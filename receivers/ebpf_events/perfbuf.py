"""Reading a perf buffer (BPF_MAP_TYPE_PERF_EVENT_ARRAY) in batches, one ring per CPU.

For each online CPU we open a PERF_COUNT_SW_BPF_OUTPUT event, mmap its ring
(one metadata page, then 2^n data pages), and store the fd in the map at that
CPU's index, where bpf_perf_event_output(BPF_F_CURRENT_CPU) finds it. The kernel
wakes a poller only when `wakeup_bytes` are waiting (watermark), and a timer
drains the rest, so there is no wakeup per event.

Records (struct perf_event_header: u32 type, u16 misc, u16 size):
  PERF_RECORD_SAMPLE (9) with PERF_SAMPLE_RAW: u32 raw size, then the raw bytes
      (the event, padded so the record stays 8-byte aligned)
  PERF_RECORD_LOST (2): u64 id, u64 number of samples the kernel had to drop
The ring does not wrap contiguously, so the ready span is copied out first (two
slices at most), then parsed like the ring buffer: fixed-size samples at a
constant stride are checked and decoded with one numpy gather.
"""

from __future__ import annotations

import ctypes
import mmap
import os
from typing import Any

import numpy as np

from collector.bpf.libbpf import lib
from receivers.ebpf_events import perf_event as pe

RECORD_LOST, RECORD_SAMPLE = 2, 9
Array = np.ndarray[Any, Any]
# struct perf_event_mmap_page: data_head at 1024, data_tail at 1032
_HEAD, _TAIL = 1024 // 8, 1032 // 8


class _CpuRing:
    def __init__(self, cpu: int, pages: int, wakeup_bytes: int) -> None:
        attr = pe.PerfEventAttr()
        attr.type = pe.PERF_TYPE_SOFTWARE
        attr.config = pe.PERF_COUNT_SW_BPF_OUTPUT
        attr.sample_type = pe.PERF_SAMPLE_RAW
        attr.sample_period_or_freq = 1
        attr.flags = pe.FLAG_WATERMARK
        attr.wakeup_events_or_watermark = wakeup_bytes
        self.cpu = cpu
        self.fd = pe.perf_event_open(attr, -1, cpu)
        page = mmap.PAGESIZE
        self.size = pages * page
        try:
            self._map = mmap.mmap(self.fd, page + self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError:
            os.close(self.fd)
            raise
        self._meta = np.frombuffer(self._map, np.uint64, page // 8)
        self._data = np.frombuffer(self._map, np.uint8, self.size, page)
        pe.enable(self.fd)

    def take(self) -> Array:
        """Copy out everything ready and release it to the kernel."""
        head = int(self._meta[_HEAD])
        tail = int(self._meta[_TAIL])
        if head == tail:
            return np.empty(0, np.uint8)
        start, end = tail % self.size, head % self.size
        wrapped = start >= end  # the ring is not mapped twice: a wrapped span comes in two pieces
        span = np.concatenate((self._data[start:], self._data[:end])) if wrapped else self._data[start:end].copy()
        self._meta[_TAIL] = head  # after the copy
        return span

    def close(self) -> None:
        self._meta = self._data = None  # type: ignore[assignment]
        self._map.close()
        os.close(self.fd)


class PerfBuffer:
    def __init__(self, map_fd: int, dtype: np.dtype[Any], pages_per_cpu: int, wakeup_bytes: int) -> None:
        if pages_per_cpu <= 0 or pages_per_cpu & (pages_per_cpu - 1):
            raise ValueError(f"perf buffer pages per CPU ({pages_per_cpu}) must be a power of 2")
        self.dtype = dtype
        self.lost = 0
        self.malformed = 0
        self.rings: list[_CpuRing] = []
        wakeup = min(wakeup_bytes, pages_per_cpu * mmap.PAGESIZE // 2)
        try:
            for cpu in pe.online_cpus():
                ring = _CpuRing(cpu, pages_per_cpu, wakeup)
                self.rings.append(ring)
                key, value = ctypes.c_uint32(cpu), ctypes.c_uint32(ring.fd)
                rc = lib().bpf_map_update_elem(map_fd, ctypes.byref(key), ctypes.byref(value), 0)
                if rc < 0:
                    raise OSError(-rc, f"storing the perf event of CPU {cpu} in the map: {os.strerror(-rc)}")
        except OSError:
            self.close()
            raise

    @property
    def fds(self) -> list[int]:
        return [r.fd for r in self.rings]

    def read(self) -> Array:
        chunks = []
        for ring in self.rings:
            records, lost, malformed = parse(ring.take(), self.dtype)
            self.lost += lost
            self.malformed += malformed
            if len(records):
                chunks.append(records)
        if not chunks:
            return np.empty(0, self.dtype)
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def close(self) -> None:
        for ring in self.rings:
            ring.close()
        self.rings.clear()


def parse(span: Array, dtype: np.dtype[Any]) -> tuple[Array, int, int]:
    """Decode the records in `span` (a copy of the ready part of one CPU's ring).
    Returns (samples, samples the kernel reported lost, records skipped as malformed)."""
    out: list[Array] = []
    pos, total, lost, malformed = 0, len(span), 0, 0
    # header + u32 raw size + raw data, padded to 8 bytes (the kernel pads raw data)
    stride = 8 + ((4 + dtype.itemsize + 7) & ~7)
    raw_size = stride - 12
    expected = np.uint64(RECORD_SAMPLE | (stride << 48))  # type, misc (ignored), size
    while pos + 8 <= total:
        n = (total - pos) // stride
        if n:
            headers = np.ndarray((n,), np.uint64, span, pos, (stride,))
            raw = np.ndarray((n,), np.uint32, span, pos + 8, (stride,))
            ok = ((headers & ~np.uint64(0xFFFF << 32)) == expected) & (raw == raw_size)
            good = n if ok.all() else int((~ok).argmax())
            if good:
                out.append(np.ndarray((good,), dtype, span, pos + 12, (stride,)).copy())
                pos += good * stride
            if good == n:
                continue
        kind = int(np.ndarray((1,), np.uint32, span, pos)[0])
        size = int(np.ndarray((1,), np.uint16, span, pos + 6)[0])
        if size < 8:
            malformed += 1
            break  # cannot happen with a sane kernel; do not loop forever
        if kind == RECORD_LOST and pos + 24 <= total:
            lost += int(np.ndarray((1,), np.uint64, span, pos + 16)[0])
        else:
            malformed += 1
        pos += size
    if not out:
        return np.empty(0, dtype), lost, malformed
    return (out[0] if len(out) == 1 else np.concatenate(out)), lost, malformed

"""Reading a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) in batches, without a callback per event.

The map fd is mmapped as the kernel lays it out:

    offset 0          consumer page (read-write): u64 consumer position
    offset page_size  producer page (read-only): u64 producer position,
                      then the data area mapped twice back to back, so a record
                      that wraps past the end is still contiguous

Each record is an 8-byte header (u32 length with BUSY bit 31 and DISCARD bit 30,
u32 page offset) followed by the sample, padded to 8 bytes. For fixed-size events
the stride is constant, so the headers of a whole batch are checked with one
numpy gather and the samples are copied out as one structured array. A record
still BUSY ends the batch; DISCARDed ones are dropped; a record of another size
(a foreign producer) is skipped and counted in `malformed`.

Ordering: headers are read before the samples they cover (the kernel commits a
record by clearing BUSY with a release store after writing it), and the consumer
position is written only after the samples were copied. On x86-64 plain loads
and stores give exactly that order (TSO); weaker architectures would need fences.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

BUSY = 1 << 31
DISCARD = 1 << 30
HEADER = 8
Array = np.ndarray[Any, Any]


def _round8(n: int) -> int:
    return (n + 7) & ~7


class RingBuffer:
    def __init__(self, fd: int, size: int, dtype: np.dtype[Any]) -> None:
        if size <= 0 or size & (size - 1) or size % mmap.PAGESIZE:
            raise ValueError(f"ring buffer size {size} is not a power of 2 multiple of the page size")
        page = mmap.PAGESIZE
        self.fd = fd
        self.size = size
        self.dtype = dtype
        self.stride = _round8(HEADER + dtype.itemsize)
        self.malformed = 0
        self._cons_map = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._prod_map = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        self._consumer = np.frombuffer(self._cons_map, np.uint64, 1)
        self._producer = np.frombuffer(self._prod_map, np.uint64, 1)
        self._data = np.frombuffer(self._prod_map, np.uint8, offset=page)

    def pending_bytes(self) -> int:
        return int(self._producer[0]) - int(self._consumer[0])

    def read(self) -> Array:
        """Every committed record as one structured array (possibly empty)."""
        consumer = int(self._consumer[0])
        available = int(self._producer[0]) - consumer
        if available <= 0:
            return np.empty(0, self.dtype)
        start = consumer & (self.size - 1)
        records, consumed, malformed = parse(self._data[start : start + available], self.dtype)
        self.malformed += malformed
        self._consumer[0] = consumer + consumed  # after the copies: the kernel may now reuse the space
        return records

    def close(self) -> None:
        for name in ("_consumer", "_producer", "_data"):
            setattr(self, name, None)
        self._cons_map.close()
        self._prod_map.close()


def parse(span: Array, dtype: np.dtype[Any]) -> tuple[Array, int, int]:
    """Decode ring buffer records from the start of `span` (live memory is fine:
    each header is read before the sample it covers, and samples are copied).
    Returns (records, bytes consumed, records skipped as malformed)."""
    chunks: list[Array] = []
    pos, malformed, available = 0, 0, len(span)
    itemsize, stride = dtype.itemsize, _round8(HEADER + dtype.itemsize)
    while pos + HEADER <= available:
        n = (available - pos) // stride
        if n:
            lengths = np.ndarray((n,), np.uint32, span, pos, (stride,)).copy()
            busy = (lengths & BUSY) != 0
            stop = int(busy.argmax()) if busy.any() else n
            wrong = (lengths[:stop] & ~np.uint32(BUSY | DISCARD)) != itemsize
            good = int(wrong.argmax()) if wrong.any() else stop
            if good:
                records = np.ndarray((good,), dtype, span, pos + HEADER, (stride,))
                keep = (lengths[:good] & DISCARD) == 0
                chunks.append(records.copy() if keep.all() else records[keep])
                pos += good * stride
            if good == stop and stop < n:
                break  # a record still being written: the rest waits for the next read
            if good == n:
                continue
        # One record that is not a fixed-size sample of ours (or a short tail).
        length = int(np.ndarray((1,), np.uint32, span, pos)[0])
        if length & BUSY:
            break
        if not length & DISCARD:
            malformed += 1
        pos += _round8(HEADER + (length & ~(BUSY | DISCARD)))
    if not chunks:
        return np.empty(0, dtype), pos, malformed
    return (chunks[0] if len(chunks) == 1 else np.concatenate(chunks)), pos, malformed

"""The sending queue between the pipeline and the network.

Holds encoded requests (serialized protobuf), bounded by items and bytes; a
request counts against the bound until it is sent (or given up), so memory and
disk use stay within the bound while a backend is down. `DiskQueue` keeps each
request in a file until it is sent: after a crash or `kill -9` the next start
sends what was left (at least once)."""

from __future__ import annotations

import asyncio
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from collector.model import SIGNALS, Signal


@dataclass(frozen=True, slots=True)
class Request:
    signal: Signal
    payload: bytes  # a serialized Export{Metrics,Logs,Trace}ServiceRequest
    items: int  # datapoints, log records or spans in it


@dataclass(slots=True)
class Entry:
    signal: Signal
    items: int
    size: int
    payload: bytes | None  # None: still on disk
    path: Path | None = None


class SendQueue:
    """In memory. put() refuses (returns False) what does not fit; the caller counts it."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.items = 0  # held: waiting or being sent
        self.bytes = 0
        self._ready: asyncio.Queue[Entry] = asyncio.Queue()
        self._empty = asyncio.Event()
        self._empty.set()

    def _fits(self, items: int, size: int) -> bool:
        if self.items == 0:  # one request larger than the bound still goes through an empty queue
            return True
        return self.items + items <= self.max_items and self.bytes + size <= self.max_bytes

    def _hold(self, entry: Entry) -> None:
        self.items += entry.items
        self.bytes += entry.size
        self._empty.clear()
        self._ready.put_nowait(entry)

    async def put(self, request: Request) -> bool:
        if not self._fits(request.items, len(request.payload)):
            return False
        self._hold(Entry(request.signal, request.items, len(request.payload), request.payload))
        return True

    async def take(self) -> tuple[Entry, bytes]:
        entry = await self._ready.get()
        return entry, entry.payload if entry.payload is not None else await self._load(entry)

    async def _load(self, entry: Entry) -> bytes:
        raise NotImplementedError

    def done(self, entry: Entry) -> None:
        """The entry was sent or given up: release its place."""
        self.items -= entry.items
        self.bytes -= entry.size
        if self.items <= 0:
            self._empty.set()

    def waiting(self) -> int:
        """Requests not yet taken by a sender."""
        return self._ready.qsize()

    async def wait_empty(self) -> None:
        await self._empty.wait()

    def close(self) -> None:
        """Stop; what is held in memory is lost (the caller counts it)."""


class DiskQueue(SendQueue):
    """One file per request, `<seq>.<signal>.<items>.otlp`, written to a temporary name
    and renamed, so a crash never leaves a half request behind. Deleted once sent."""

    SUFFIX = ".otlp"

    def __init__(self, directory: Path, max_items: int, max_bytes: int) -> None:
        super().__init__(max_items, max_bytes)
        self.directory = directory
        self._seq = 0
        self._lock: IO[bytes] | None = None

    def open(self) -> int:
        """Lock the directory and queue what a previous run left. Returns that count.
        Raises OSError (unwritable) or BlockingIOError (another collector uses it)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = open(self.directory / "lock", "wb")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise
        self._lock = lock
        found = []
        for path in self.directory.iterdir():
            if path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)  # a write that a crash interrupted: never acknowledged
                continue
            parts = path.name.removesuffix(self.SUFFIX).split(".")
            if not path.name.endswith(self.SUFFIX) or len(parts) != 3 or parts[1] not in SIGNALS:
                continue
            if parts[0].isdigit() and parts[2].isdigit():
                found.append((int(parts[0]), parts[1], int(parts[2]), path))
        for seq, signal, items, path in sorted(found):
            self._hold(Entry(signal, items, path.stat().st_size, None, path))
            self._seq = seq + 1
        return len(found)

    async def put(self, request: Request) -> bool:
        size = len(request.payload)
        if not self._fits(request.items, size):
            return False
        path = self.directory / f"{self._seq:016d}.{request.signal}.{request.items}{self.SUFFIX}"
        self._seq += 1
        await asyncio.to_thread(_write_atomically, path, request.payload)
        self._hold(Entry(request.signal, request.items, size, None, path))
        return True

    async def _load(self, entry: Entry) -> bytes:
        assert entry.path is not None
        return await asyncio.to_thread(entry.path.read_bytes)

    def done(self, entry: Entry) -> None:
        if entry.path is not None:
            entry.path.unlink(missing_ok=True)
        super().done(entry)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    # No fsync: the page cache survives a killed process; a power cut may lose the last writes.
    os.replace(tmp, path)

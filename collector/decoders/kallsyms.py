"""Kernel text symbols from /proc/kallsyms, shared by ksym and kstack.

Addresses resolve to the symbol whose range contains them (a probe's instruction
pointer may be a few bytes into the function). The table is re-read when older
than MAX_AGE_S, so modules and BPF programs loaded later get their names (until
then their addresses resolve to the nearest older symbol). Reading addresses
needs root (kptr_restrict shows zeros otherwise), which is reported."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from collector.decoders.base import DecoderError

KALLSYMS = Path("/proc/kallsyms")
_TEXT_TYPES = frozenset(b"tTwW")
MAX_AGE_S = 300.0


class Kallsyms:
    def __init__(self, path: Path = KALLSYMS) -> None:
        addrs: list[int] = []
        names: list[str] = []
        with open(path, "rb") as f:
            for line in f:
                parts = line.split(None, 3)
                if len(parts) < 3 or parts[1][0] not in _TEXT_TYPES:
                    continue
                addrs.append(int(parts[0], 16))
                names.append(parts[2].decode("utf-8", "replace"))
        if addrs and not any(addrs):
            raise DecoderError(f"{path} shows only zero addresses: run as root (or with CAP_SYSLOG)")
        order = np.argsort(np.array(addrs, np.uint64), kind="stable")
        self.addrs = np.array(addrs, np.uint64)[order]
        self.names = [names[i] for i in order.tolist()]
        self.loaded_at = time.monotonic()

    def lookup(self, addr: int) -> str | None:
        """The symbol containing `addr`, or None below the first symbol."""
        i = int(np.searchsorted(self.addrs, np.uint64(addr), side="right")) - 1
        return self.names[i] if i >= 0 else None

    def lookup_many(self, addrs: list[int]) -> list[str | None]:
        idx = np.searchsorted(self.addrs, np.array(addrs, np.uint64), side="right") - 1
        return [self.names[i] if i >= 0 else None for i in idx.tolist()]


_shared: Kallsyms | None = None
_lock = threading.Lock()


def shared() -> Kallsyms:
    global _shared
    with _lock:
        if _shared is None or time.monotonic() - _shared.loaded_at > MAX_AGE_S:
            _shared = Kallsyms()
        return _shared

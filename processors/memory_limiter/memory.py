"""How much memory the collector uses and may use (Linux /proc and cgroup files)."""

from __future__ import annotations

import os
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process: what the OOM killer counts."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def available_bytes() -> int:
    """The cgroup v2 memory.max of this process when set (a container's limit),
    else the machine's MemTotal."""
    total = _mem_total()
    try:
        rel = Path("/proc/self/cgroup").read_text().strip().rpartition("::")[2]
        value = Path("/sys/fs/cgroup", rel.lstrip("/"), "memory.max").read_text().strip()
        if value != "max":
            return min(int(value), total)
    except (OSError, ValueError):
        pass
    return total


def _mem_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise OSError("MemTotal missing from /proc/meminfo")

"""Syscall names by number for the running architecture (or a named one)."""

from __future__ import annotations

import platform

from collector.syscall_tables import ARM64, X86_64

TABLES: dict[str, dict[int, str]] = {
    "x86_64": X86_64,
    "amd64": X86_64,
    "aarch64": ARM64,
    "arm64": ARM64,
}


def syscall_name(nr: int, arch: str | None = None) -> str:
    """`getppid` for 110 on x86-64; unknown numbers become `syscall_<nr>`."""
    table = TABLES.get(arch or platform.machine(), X86_64)
    return table.get(nr, f"syscall_{nr}")

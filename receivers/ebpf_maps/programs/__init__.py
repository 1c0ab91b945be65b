"""Built-in programs that aggregate in the kernel: name -> how to read its maps."""

from __future__ import annotations

from receivers.ebpf_maps.programs.base import MapProgram
from receivers.ebpf_maps.programs.runqlat import RUNQLAT
from receivers.ebpf_maps.programs.syscalls import SYSCALLS

CATALOG: dict[str, MapProgram] = {p.name: p for p in (RUNQLAT, SYSCALLS)}

__all__ = ["CATALOG", "MapProgram"]

"""Addresses -> function names, for folded stacks.

Kernel: /proc/kallsyms, read once, looked up with one searchsorted per batch.
User: the process's executable mappings from /proc/<pid>/maps; each mapped ELF
file (opened through /proc/<pid>/root, so binaries inside containers resolve
too) has its function symbols (.symtab, else .dynsym) loaded once with
pyelftools. A runtime address becomes a file offset through its mapping, then a
virtual address through the PT_LOAD segment that holds that offset.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

Array = np.ndarray[Any, Any]


class KernelSymbols:
    def __init__(self, path: str = "/proc/kallsyms") -> None:
        addrs: list[int] = []
        names: list[str] = []
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    addrs.append(int(parts[0], 16))
                    names.append(parts[2])
        order = np.argsort(np.array(addrs, np.uint64), kind="stable")
        self.addrs = np.array(addrs, np.uint64)[order]
        self.names = np.array(names, object)[order]
        # kallsyms shows zeros without CAP_SYSLOG: then nothing resolves
        self.usable = bool(len(self.addrs) and self.addrs[-1] != 0)

    def resolve(self, addrs: Array) -> list[str]:
        if not self.usable or not len(addrs):
            return ["[unknown]"] * len(addrs)
        idx = np.searchsorted(self.addrs, addrs.astype(np.uint64), side="right") - 1
        return [str(self.names[i]) if i >= 0 else "[unknown]" for i in idx.tolist()]


@dataclass(slots=True)
class _ElfSymbols:
    starts: list[int]
    ends: list[int]
    names: list[str]
    loads: list[tuple[int, int, int]]  # (p_offset, p_filesz, p_vaddr) of PT_LOAD segments

    @classmethod
    def load(cls, path: str) -> _ElfSymbols:
        syms: list[tuple[int, int, str]] = []
        loads: list[tuple[int, int, int]] = []
        with open(path, "rb") as f:
            elf = ELFFile(f)
            loads = [
                (seg["p_offset"], seg["p_filesz"], seg["p_vaddr"])
                for seg in elf.iter_segments()
                if seg["p_type"] == "PT_LOAD"
            ]
            for section_name in (".symtab", ".dynsym"):
                section = elf.get_section_by_name(section_name)
                if not isinstance(section, SymbolTableSection):
                    continue
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"] and sym.name:
                        syms.append((sym["st_value"], max(sym["st_size"], 1), sym.name))
                if syms:
                    break  # .symtab is a superset of .dynsym
        syms.sort()
        return cls([s[0] for s in syms], [s[0] + s[1] for s in syms], [s[2] for s in syms], loads)

    def name(self, file_offset: int) -> str | None:
        vaddr = None
        for p_offset, p_filesz, p_vaddr in self.loads:
            if p_offset <= file_offset < p_offset + p_filesz:
                vaddr = file_offset - p_offset + p_vaddr
                break
        if vaddr is None:
            return None
        i = bisect.bisect_right(self.starts, vaddr) - 1
        if i >= 0 and vaddr < self.ends[i]:
            return self.names[i]
        return None


@dataclass(slots=True)
class _Mapping:
    start: int
    end: int
    offset: int
    path: str


class UserSymbols:
    """Per-process resolution; ELF files are cached across processes by (device, inode)."""

    def __init__(self) -> None:
        self._files: dict[tuple[int, int], _ElfSymbols | None] = {}

    def resolver(self, pid: int) -> _ProcessResolver:
        return _ProcessResolver(pid, _read_maps(pid), self)

    def elf(self, pid: int, path: str) -> _ElfSymbols | None:
        full = f"/proc/{pid}/root{path}"
        try:
            st = os.stat(full)
        except OSError:
            return None
        key = (st.st_dev, st.st_ino)
        if key not in self._files:
            try:
                self._files[key] = _ElfSymbols.load(full)
            except (OSError, ELFError):
                self._files[key] = None
        return self._files[key]


class _ProcessResolver:
    def __init__(self, pid: int, maps: list[_Mapping], symbols: UserSymbols) -> None:
        self.pid, self.maps, self.symbols = pid, maps, symbols
        self._starts = [m.start for m in maps]

    def name(self, addr: int) -> str:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i < 0 or addr >= self.maps[i].end:
            return "[unknown]"
        m = self.maps[i]
        elf = self.symbols.elf(self.pid, m.path) if m.path.startswith("/") else None
        found = elf.name(addr - m.start + m.offset) if elf is not None else None
        return found or f"[{os.path.basename(m.path) or 'anon'}]"


def _read_maps(pid: int) -> list[_Mapping]:
    out = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            for line in f:
                parts = line.split(maxsplit=5)
                if len(parts) < 5 or "x" not in parts[1]:
                    continue
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                path = parts[5].strip() if len(parts) == 6 else ""
                out.append(_Mapping(lo, hi, int(parts[2], 16), path.removesuffix(" (deleted)")))
    except OSError:
        pass  # the process is gone: its frames show as [unknown]
    return sorted(out, key=lambda m: m.start)

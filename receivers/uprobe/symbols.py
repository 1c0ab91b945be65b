"""Finding the function to probe in an ELF binary, by the name a user knows it by.

libbpf resolves exact symbol names itself (symtab, then dynsym); this module
finds the exact name first, so users may also write what they see in source or
in a profiler: a demangled C++ name (`triangle::area` or with its parameter
list), a Rust path without its hash (`triangle::area`), or a Fortran name
without gfortran's trailing underscore (`area` for `area_`). It also tells Go
binaries apart, whose moving stacks make uretprobes unsafe.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")
_FUNC_TYPES = ("STT_FUNC", "STT_GNU_IFUNC")


class SymbolError(Exception):
    """The function cannot be found or is ambiguous; the message is for users."""


@dataclass(frozen=True, slots=True)
class BinaryInfo:
    path: Path
    functions: frozenset[str]  # defined function symbols (symtab and dynsym)
    is_go: bool


def inspect_binary(path: Path) -> BinaryInfo:
    try:
        with path.open("rb") as f:
            elf = ELFFile(f)
            names: set[str] = set()
            for section in elf.iter_sections():
                if not isinstance(section, SymbolTableSection):
                    continue
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] in _FUNC_TYPES and sym["st_shndx"] != "SHN_UNDEF" and sym.name:
                        names.add(sym.name.partition("@")[0])
            is_go = any(elf.get_section_by_name(s) is not None for s in (".go.buildinfo", ".gopclntab"))
    except FileNotFoundError:
        raise SymbolError(f"{path}: no such file") from None
    except PermissionError:
        raise SymbolError(f"{path}: permission denied") from None
    except (ELFError, OSError) as exc:
        raise SymbolError(f"{path}: not a readable ELF binary ({exc})") from None
    return BinaryInfo(path, frozenset(names), is_go)


def resolve(info: BinaryInfo, function: str) -> str:
    """The symbol name to hand to libbpf for `function`."""
    if function in info.functions:
        return function
    matches = sorted(name for name in info.functions if _matches(name, function))
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = "\n".join(f"  {m}  ({demangle(m) or m})" for m in matches[:10])
        raise SymbolError(
            f"{info.path}: {function!r} matches {len(matches)} functions; "
            f"name one by its mangled symbol or full signature:\n{shown}"
        )
    if not info.functions:
        raise SymbolError(f"{info.path}: has no function symbols (stripped?); give the function's `offset` instead")
    raise SymbolError(f"{info.path}: no function {function!r}" + _suggest(info, function))


def _matches(symbol: str, wanted: str) -> bool:
    # gfortran: `area_` for a function, `__<module>_MOD_area` for a module procedure.
    if symbol == wanted + "_" or symbol.endswith("_MOD_" + wanted):
        return True
    pretty = demangle(symbol)
    if pretty is None:
        return False
    pretty = _RUST_HASH.sub("", pretty)
    return pretty == wanted or pretty.partition("(")[0] == wanted


def _suggest(info: BinaryInfo, function: str) -> str:
    needle = function.lower().rstrip("_")
    close = sorted(n for n in info.functions if needle in (demangle(n) or n).lower())[:5]
    return ("; similar: " + ", ".join(close)) if close else ""


@cache
def demangle(symbol: str) -> str | None:
    """Itanium C++ (and Rust legacy) demangling through libstdc++'s own demangler."""
    if not symbol.startswith("_Z"):
        return None
    lib = _cxxabi()
    if lib is None:
        return None
    status = ctypes.c_int()
    out = lib.__cxa_demangle(symbol.encode(), None, None, ctypes.byref(status))
    if not out or status.value != 0:
        return None
    try:
        return ctypes.string_at(out).decode("utf-8", "replace")
    finally:
        _libc().free(out)


@cache
def _cxxabi() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("stdc++") or "libstdc++.so.6"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    fn = lib.__cxa_demangle
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    return lib


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    libc.free.restype = None
    return libc

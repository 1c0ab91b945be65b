"""Attaching the shared uprobe programs to one function, by hand, with a cookie."""

from __future__ import annotations

import ctypes
from pathlib import Path

from collector.bpf.libbpf import LibbpfError, UprobeOpts, capture_log, lib

ALL_PROCESSES = -1


def attach_uprobe(
    prog: int, path: Path, symbol: str | None, offset: int, cookie: int, retprobe: bool, pid: int = ALL_PROCESSES
) -> int:
    """A bpf_link for `prog` on `symbol`+`offset` (or file `offset`) in `path`; `pid` -1 means every process."""
    opts = UprobeOpts(
        sz=ctypes.sizeof(UprobeOpts),
        ref_ctr_offset=0,
        bpf_cookie=cookie,
        retprobe=retprobe,
        func_name=symbol.encode() if symbol else None,
    )
    with capture_log() as lines:
        link = lib().bpf_program__attach_uprobe_opts(prog, pid, str(path).encode(), offset, ctypes.byref(opts))
    if not link:
        kind = "uretprobe" if retprobe else "uprobe"
        where = f"{symbol}+{offset:#x}" if symbol and offset else (symbol or f"offset {offset:#x}")
        detail = [ln.removeprefix("libbpf: ") for ln in lines if ln.strip()]
        raise LibbpfError(
            ctypes.get_errno() or 22, f"{kind} on {where} in {path}" + (f" ({detail[-1]})" if detail else ""), lines
        )
    return int(link)


def destroy(link: int) -> None:
    lib().bpf_link__destroy(link)

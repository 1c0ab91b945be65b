"""BTF from real compiled objects and the running kernel becomes numpy dtypes with the C layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from collector.bpf.btf import Btf, BtfError
from tests.conftest import BPF_OUTPUT, unavailable


@pytest.fixture
def objects() -> Path:
    if not (BPF_OUTPUT / "syscalls.bpf.o").exists():
        unavailable("built BPF objects (make -C bpf)")
    return BPF_OUTPUT


def test_struct_with_char_array_is_bytes_column(objects: Path) -> None:
    with Btf.from_file(objects / "syscalls.bpf.o") as btf:
        dtype = btf.struct_dtype("syscall_key")
    assert dtype == np.dtype([("syscall_id", "<u4"), ("comm", "S16")])
    assert dtype.itemsize == 20


def test_struct_with_numeric_array_is_subarray(objects: Path) -> None:
    with Btf.from_file(objects / "runqlat.bpf.o") as btf:
        dtype = btf.struct_dtype("runq_hist")
    assert dtype["slots"].shape == (64,)
    assert dtype.fields is not None and dtype.fields["sum_ns"][1] == 512
    assert dtype.itemsize == 520


def test_kernel_struct_layout_matches_offsets() -> None:
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if not vmlinux.exists():
        unavailable("kernel BTF")
    with Btf.from_file(vmlinux) as btf:
        dtype = btf.struct_dtype("trace_event_raw_sched_switch")
    assert dtype["prev_comm"] == np.dtype("S16")
    assert dtype.fields is not None
    assert dtype.fields["prev_comm"][1] == 8  # after struct trace_entry
    assert "__data" not in dtype.names  # flexible array member has no bytes


def test_unknown_struct_is_a_clear_error(objects: Path) -> None:
    with Btf.from_file(objects / "syscalls.bpf.o") as btf, pytest.raises(BtfError, match="no_such_struct"):
        btf.struct_dtype("no_such_struct")


def test_file_without_btf_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"not an ELF")
    with pytest.raises(BtfError, match="no BTF"):
        Btf.from_file(junk)

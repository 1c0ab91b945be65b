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


BYTE_ARRAYS = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct addresses {
    char name[8];
    __u8 mac[6];
    unsigned char addr6[16];
    signed char deltas[2];
    __u16 port;
};
struct addresses dummy SEC(".data");
char LICENSE[] SEC("license") = "GPL";
"""


def test_unsigned_char_arrays_are_numbers_not_strings(objects: Path, tmp_path: Path) -> None:
    """`char[N]` is a C string; `__u8[N]`, `unsigned char[N]` and `signed char[N]` are numbers
    whose bytes after a NUL still matter (an IPv6 address, a MAC)."""
    from tests.programs import compile_bpf

    source = tmp_path / "byte_arrays.bpf.c"
    source.write_text(BYTE_ARRAYS)
    obj = compile_bpf(source, tmp_path / "byte_arrays.bpf.o")
    with Btf.from_file(obj) as btf:
        dtype = btf.struct_dtype("addresses")
    assert dtype["name"] == np.dtype("S8")
    assert dtype["mac"] == np.dtype(("u1", (6,)))
    assert dtype["addr6"] == np.dtype(("u1", (16,)))
    assert dtype["deltas"] == np.dtype(("i1", (2,)))
    raw = bytearray(dtype.itemsize)
    raw[8:14] = b"\x02\x00\x00\x00\x00\x01"  # a MAC with NULs in the middle
    raw[14:30] = bytes([0xFE, 0x80] + [0] * 13 + [1])  # fe80::1
    row = np.frombuffer(bytes(raw), dtype)[0]
    assert bytes(row["mac"]) == b"\x02\x00\x00\x00\x00\x01"
    assert bytes(row["addr6"]).hex() == "fe80" + "00" * 13 + "01"


def test_kernel_in6_addr_bytes_are_a_uint8_array() -> None:
    vmlinux = Path("/sys/kernel/btf/vmlinux")
    if not vmlinux.exists():
        unavailable("kernel BTF")
    with Btf.from_file(vmlinux) as btf:
        in6 = btf.struct_dtype("in6_addr")
        eth = btf.struct_dtype("ethhdr")
        task = btf.struct_dtype("task_struct")
    assert in6["in6_u"]["u6_addr8"] == np.dtype(("u1", (16,)))
    assert eth["h_dest"] == np.dtype(("u1", (6,)))  # unsigned char h_dest[ETH_ALEN]
    assert task["comm"] == np.dtype("S16")  # char comm[16] stays a string

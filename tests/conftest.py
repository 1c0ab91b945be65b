"""Shared test fixtures.

Tests that need root and a BPF-capable kernel use the `bpf` fixture (or the
`require_bpf()` helper). Under CI=true such a test FAILS when eBPF is not
available; elsewhere it is skipped with the reason."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BPF_OUTPUT = ROOT / "bpf" / ".output"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere: a test that needs something it cannot get."""
    if IN_CI:
        pytest.fail(f"required for this test under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require_bpf() -> None:
    if os.geteuid() != 0:
        unavailable("root (to load eBPF)")
    if not Path("/sys/kernel/btf/vmlinux").exists():
        unavailable("kernel BTF at /sys/kernel/btf/vmlinux")
    if not (BPF_OUTPUT / "syscalls.bpf.o").exists():
        unavailable("built BPF objects (make -C bpf)")


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"the {name} command (installed by make setup)")
    assert path is not None
    return path


@pytest.fixture
def bpf() -> None:
    require_bpf()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


def compile_c(source: str, out: Path, *flags: str) -> Path:
    """Build a small C helper program for a test with the system compiler."""
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run([require_tool("cc"), "-O1", "-o", str(out), str(src), *flags], check=True)
    return out


@pytest.fixture
def collector_cmd() -> list[str]:
    return [sys.executable, "-m", "collector"]


@pytest.fixture
def tmp(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path

"""Attach points are probed, not assumed: the loader takes the first alternative
this kernel accepts, and says what is missing when none works."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from collector.bpf import BpfLoadError, BpfObject
from tests.conftest import BPF_OUTPUT, ROOT, require_tool
from tests.integration.workloads import build, make_getppid_calls

pytestmark = pytest.mark.usefixtures("bpf")
SOURCES = Path(__file__).parent / "bpf"


def compile_bpf(name: str, out_dir: Path, *defines: str) -> Path:
    out = out_dir / f"{name}{'_'.join(defines)}.bpf.o"
    subprocess.run(
        [require_tool("clang"), "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", *(f"-D{d}" for d in defines),
         f"-I{BPF_OUTPUT}", f"-I{ROOT / 'bpf'}", "-c", str(SOURCES / f"{name}.bpf.c"), "-o", str(out)],
        check=True,
    )  # fmt: skip
    return out


def kernel_has_kprobes() -> bool:
    return Path("/sys/kernel/tracing/kprobe_events").exists() or Path("/sys/kernel/debug/kprobes").exists()


def test_first_accepted_alternative_is_used_and_counts(tmp_path: Path) -> None:
    obj_path = compile_bpf("fallback", tmp_path)
    getppid = build(tmp_path, "getppid")
    with BpfObject.load(obj_path) as obj:
        chosen = obj.attached["getppid"].kind
        make_getppid_calls(getppid, "fallbacktest", 500)
        _, values = obj.map("hits").read(np.dtype("<u4"), np.dtype("<u8"))
    # Whatever this kernel accepts first in preference order, the program works.
    assert chosen in ("fentry", "kprobe", "tracepoint")
    assert int(values[0]) >= 500
    if not kernel_has_kprobes():
        assert chosen in ("fentry", "tracepoint")


def test_no_alternative_names_what_the_kernel_lacks(tmp_path: Path) -> None:
    """Only fentry and kprobe variants: a kernel that refuses both (this machine's)
    gets an error naming each; a kernel that takes one must attach and count with it."""
    obj_path = compile_bpf("fallback", tmp_path, "ONLY_UNSUPPORTED")
    getppid = build(tmp_path, "getppid")
    try:
        with BpfObject.load(obj_path) as obj:
            chosen = obj.attached["getppid"].kind
            make_getppid_calls(getppid, "fallbackonly", 300)
            _, values = obj.map("hits").read(np.dtype("<u4"), np.dtype("<u8"))
    except BpfLoadError as exc:
        message = str(exc)
        assert "cannot attach 'getppid'" in message
        assert "fentry (fentry/__do_sys_getppid), needs fentry/fexit trampolines" in message
        assert "kprobe (kprobe/__do_sys_getppid), needs kprobes (CONFIG_KPROBES)" in message
        return
    assert chosen in ("fentry", "kprobe")
    assert chosen != "kprobe" or kernel_has_kprobes()
    assert int(values[0]) >= 300


def test_allowed_kinds_restrict_the_choice(tmp_path: Path) -> None:
    obj_path = compile_bpf("fallback", tmp_path)
    with BpfObject.load(obj_path, allowed_kinds=["tracepoint"]) as obj:
        assert obj.attached["getppid"].kind == "tracepoint"


def test_verifier_rejection_quotes_the_verifier(tmp_path: Path) -> None:
    obj_path = compile_bpf("rejected", tmp_path)
    with pytest.raises(BpfLoadError) as exc:
        BpfObject.load(obj_path)
    message = str(exc.value)
    assert "cannot attach 'getppid'" in message
    assert "rejected by the verifier" in message
    assert "invalid access to map value" in message  # the verifier's own words
    assert "rejected.bpf.c:17" in message  # with the source line, from BTF line info


def test_missing_object_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BpfLoadError, match="cannot open"):
        BpfObject.load(tmp_path / "nope.bpf.o")

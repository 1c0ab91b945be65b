"""ebpf_exporter-style test programs (`<name>.bpf.c` + `<name>.yaml`) and a
workload helper, built into a directory laid out like ebpf_exporter's
--config.dir: `<name>.bpf.o` next to `<name>.yaml`."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

from tests.conftest import BPF_OUTPUT, ROOT, compile_c, require_tool

HERE = Path(__file__).resolve().parent
NAMES = ("exp_syscalls", "exp_comm", "exp_cgroup", "exp_runqlat")
_ARCH = {"x86_64": "x86", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def compile_bpf(source: Path, out: Path) -> Path:
    """clang -target bpf against the vmlinux.h that `make -C bpf` generated."""
    clang = require_tool("clang")
    done = subprocess.run(
        [clang, "-g", "-O2", "-Wall", "-target", "bpf", f"-D__TARGET_ARCH_{_ARCH}",
         "-I", str(BPF_OUTPUT), "-I", str(ROOT / "bpf"), "-I", str(HERE), "-c", str(source), "-o", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, f"clang failed on {source.name}:\n{done.stderr}"
    return out


def build_config_dir(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        compile_bpf(HERE / f"{name}.bpf.c", dest / f"{name}.bpf.o")
        shutil.copy(HERE / f"{name}.yaml", dest / f"{name}.yaml")
    return dest


def build_workload(dest: Path) -> Path:
    return compile_c((HERE / "workload.c").read_text(), dest / "workload")

"""Where the built-in `.bpf.o` files live: `bpf/.output/` in the source tree
(built by `make -C bpf`), or $EBPF_COLLECTOR_BPF_DIR when installed elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

from collector.bpf.loader import BpfLoadError

SOURCE_TREE_OUTPUT = Path(__file__).resolve().parents[2] / "bpf" / ".output"


def builtin_object_dir() -> Path:
    env = os.environ.get("EBPF_COLLECTOR_BPF_DIR")
    return Path(env) if env else SOURCE_TREE_OUTPUT


def builtin_object(name: str) -> Path:
    path = builtin_object_dir() / f"{name}.bpf.o"
    if not path.is_file():
        raise BpfLoadError(
            f"built-in BPF object {path} is missing: build it with `make -C bpf` "
            "(or set EBPF_COLLECTOR_BPF_DIR to where the .bpf.o files are)"
        )
    return path

"""Real cgroups for tests: created under a unique top directory, with processes
placed in them, removed afterwards."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

from processors.k8s_metadata.cgroups import cgroup2_mount
from tests.conftest import unavailable


def container_id() -> str:
    """A random 64-hex container id, as runtimes name them."""
    return uuid.uuid4().hex + uuid.uuid4().hex


def _v1_memory_mount() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup" and "memory" in fields[sep + 3].split(","):
                return fields[4]
    return None


class CgroupLab:
    """Creates cgroups under a unique top directory, puts `sleep` processes in them,
    and removes everything afterwards."""

    def __init__(self) -> None:
        mount = cgroup2_mount()
        if os.geteuid() != 0 or mount is None or not os.access(mount, os.W_OK):
            unavailable("root and a writable cgroup v2 hierarchy (to create test cgroups)")
        assert mount is not None
        self.v2 = mount
        self.v1 = _v1_memory_mount()
        self.top = f"/ebpf-collector-test-{uuid.uuid4().hex[:8]}"
        self.dirs: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def cgroup(self, rel: str, mount: str | None = None) -> tuple[str, int]:
        """Create `top + rel` in a hierarchy; returns (path within the hierarchy, cgroup id)."""
        mount = mount or self.v2
        path = self.top + rel
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = os.path.join(mount, *parts[:i])
            if not os.path.isdir(d):
                os.mkdir(d)
                self.dirs.append(d)
        return path, os.stat(os.path.join(mount, *parts)).st_ino

    def spawn(self, *cgroups: tuple[str, str]) -> subprocess.Popen[bytes]:
        """A process placed in the given (mount, path) cgroups."""
        proc = subprocess.Popen(["sleep", "300"])
        self.procs.append(proc)
        for mount, path in cgroups:
            Path(mount + path, "cgroup.procs").write_text(str(proc.pid))
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
        for d in reversed(self.dirs):
            with contextlib.suppress(OSError):
                os.rmdir(d)

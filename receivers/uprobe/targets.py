"""Which file to probe and which processes to watch, from what the config names:
a path, a process name, a pid, or a path inside a container.

A container's files are reached through /proc/<pid>/root of one of its
processes, so the collector (in its own mount namespace) probes the same inode
the container runs. Uprobes stick to the inode: calls from any process that
maps that file are seen, across restarts, until the file is replaced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


class TargetError(Exception):
    """The target cannot be found right now; the message is for users."""


@dataclass(frozen=True, slots=True)
class Resolved:
    path: Path  # the file to open, reachable from the collector's mount namespace
    shown: str  # how to name it in messages and labels
    pids: tuple[int, ...]  # processes to filter on; () = every process using the file
    inode: tuple[int, int]  # (st_dev, st_ino): a new inode means the file was replaced


def pids_named(name: str) -> list[int]:
    """Processes whose comm (truncated to 15 chars by the kernel) or executable basename is `name`."""
    out = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().rstrip("\n")
            if comm == name[:15] or os.path.basename(os.readlink(entry / "exe")).removesuffix(" (deleted)") == name:
                out.append(int(entry.name))
        except OSError:  # exited meanwhile, or a kernel thread without exe
            continue
    return sorted(out)


def container_pid(container_id: str) -> int:
    """A process of the container whose id (or id prefix, >= 12 chars) appears in its cgroup path."""
    if len(container_id) < 12:
        raise TargetError(f"container id {container_id!r} is too short: give at least 12 characters")
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if container_id in (entry / "cgroup").read_text():
                return int(entry.name)
        except OSError:
            continue
    raise TargetError(f"no running process belongs to container {container_id}")


def executable_of(pid: int) -> Path:
    """The process's executable as a path the collector can open."""
    try:
        exe = os.readlink(PROC / str(pid) / "exe")
    except FileNotFoundError:
        raise TargetError(f"process {pid} does not exist") from None
    except OSError as exc:
        raise TargetError(f"cannot read the executable of process {pid}: {exc.strerror}") from None
    if exe.endswith(" (deleted)"):  # replaced on disk while running: only the magic link reaches it
        return PROC / str(pid) / "exe"
    return in_root_of(pid, exe)


def in_root_of(pid: int, path: str) -> Path:
    """`path` as seen by process `pid` (its mount namespace), reachable from ours."""
    own_root = os.stat("/")
    root = PROC / str(pid) / "root"
    try:
        st = os.stat(root)
    except OSError as exc:
        raise TargetError(f"cannot reach the root of process {pid}: {exc.strerror}") from None
    if (st.st_dev, st.st_ino) == (own_root.st_dev, own_root.st_ino):
        return Path(path)
    return root / path.lstrip("/")


def inode_of(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise TargetError(f"{path}: no such file") from None
    except OSError as exc:
        raise TargetError(f"{path}: {exc.strerror}") from None
    return st.st_dev, st.st_ino


def resolve_target(binary: str | None, process: str | None, pid: int | None, container: str | None) -> Resolved:
    """Exactly one of binary / process / pid is set (the config validates it);
    `container` qualifies `binary` or `process`."""
    scope = container_pid(container) if container else None
    if process is not None:
        pids = pids_named(process)
        if scope is not None:
            pids = [p for p in pids if _same_cgroup(p, scope)]
        if not pids:
            where = f" in container {container}" if container else ""
            raise TargetError(f"no running process named {process!r}{where}")
        exe = Path(binary) if binary else None
        path = in_root_of(pids[0], str(exe)) if exe else executable_of(pids[0])
        return Resolved(path, f"{process} ({path})", tuple(pids), inode_of(path))
    if pid is not None:
        path = in_root_of(pid, binary) if binary else executable_of(pid)
        return Resolved(path, f"{path} (pid {pid})", (pid,), inode_of(path))
    assert binary is not None
    path = in_root_of(scope, binary) if scope is not None else Path(binary)
    shown = f"{binary} in container {container}" if container else binary
    return Resolved(path, shown, (), inode_of(path))


def _same_cgroup(a: int, b: int) -> bool:
    try:
        return (PROC / str(a) / "cgroup").read_text() == (PROC / str(b) / "cgroup").read_text()
    except OSError:
        return False

"""From a process or a cgroup to its container: /proc/<pid>/cgroup, cgroup ids and
the path forms that container runtimes and kubelet cgroup drivers create.

Path forms recognised (cgroup v2 and v1 alike, the container is the last segment
that names one):

    systemd driver  /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/
                        cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
    cgroupfs driver /kubepods/burstable/pod<uid>/<id>   (containerd, Docker)
                    /kubepods/pod<uid>/crio-<id>         (CRI-O)
    plain Docker    /docker/<id>, /system.slice/docker-<id>.scope
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import struct
import time
from dataclasses import dataclass

# A container segment: a runtime prefix (or none, under the cgroupfs driver) and
# the 64-hex container id. `crio-conmon-<id>` is CRI-O's monitor process, not the container.
_CONTAINER = re.compile(r"^(?:cri-containerd-|crio-|docker-|containerd-|libpod-)?([0-9a-f]{64})(?:\.scope)?$")
# A pod segment: `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd).
_POD = re.compile(r"(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$")
_RUNTIME_PREFIX = re.compile(r"^[a-z0-9-]+://")


@dataclass(frozen=True, slots=True)
class CgroupInfo:
    """What a cgroup path says about its container. Either part may be unknown."""

    path: str
    pod_uid: str | None
    container_id: str | None


def parse_cgroup_path(path: str) -> CgroupInfo:
    pod_uid: str | None = None
    container_id: str | None = None
    for segment in path.split("/"):
        if (m := _CONTAINER.match(segment)) is not None:
            container_id = m.group(1)
        elif (m := _POD.search(segment)) is not None:
            pod_uid = m.group(1).replace("_", "-")
    return CgroupInfo(path, pod_uid, container_id)


def normalize_container_id(value: str) -> str:
    """`containerd://<id>` (as in a pod's containerStatuses) or a bare id -> the bare id."""
    return _RUNTIME_PREFIX.sub("", value.strip()).lower()


def parse_proc_cgroup(text: str) -> CgroupInfo | None:
    """The most specific line of /proc/<pid>/cgroup: the one naming a container
    (cgroup v2 `0::` first, then v1 controllers), else the v2 path."""
    best: CgroupInfo | None = None
    best_rank = (False, False, False)
    for line in text.splitlines():
        hierarchy, _, rest = line.partition(":")
        path = rest.partition(":")[2]
        info = parse_cgroup_path(path)
        rank = (info.container_id is not None, info.pod_uid is not None, hierarchy == "0")
        if best is None or rank > best_rank:
            best, best_rank = info, rank
    return best


def read_proc_cgroup(pid: int, proc: str = "/proc") -> CgroupInfo | None:
    """None when the process is gone."""
    try:
        with open(f"{proc}/{pid}/cgroup") as f:
            return parse_proc_cgroup(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return None


def process_start_time(pid: int, proc: str = "/proc") -> int | None:
    """Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): tells a
    process from a later one that reused its pid. None when the process is gone."""
    try:
        with open(f"{proc}/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after its last ')'.
    return int(stat[stat.rindex(b")") + 2 :].split()[19])


def executable_name(pid: int, proc: str = "/proc") -> str | None:
    """Base name of the executable (OTel process.executable.name); comm when exe is unreadable."""
    try:
        return os.path.basename(os.readlink(f"{proc}/{pid}/exe")).removesuffix(" (deleted)")
    except OSError:
        pass
    try:
        with open(f"{proc}/{pid}/comm") as f:
            return f.read().strip() or None
    except OSError:
        return None


def cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified
    on hybrid hosts). Cgroup ids from BPF (bpf_get_current_cgroup_id) name its directories."""
    try:
        with open(mountinfo) as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                if fields[sep + 1] == "cgroup2":
                    return fields[4]
    except (OSError, ValueError, IndexError):
        return None
    return None


_FILEID_KERNFS = 0xFE  # file handle type of kernfs (cgroupfs): the handle is the 64-bit node id
_O_PATH = getattr(os, "O_PATH", 0o10000000)


class CgroupPaths:
    """cgroup id -> path relative to the cgroup v2 mount.

    The id is the inode number of the cgroup's directory. With CAP_DAC_READ_SEARCH
    (the DaemonSet runs privileged) open_by_handle_at turns it into the directory in
    one syscall, whatever the size of the tree. Without it, an index of the tree is
    built by one walk and rebuilt on a miss at most every `rescan_interval` seconds,
    so a stream of unknown ids cannot turn into a stream of tree walks."""

    def __init__(self, mount: str | None, rescan_interval: float = 5.0) -> None:
        self.mount = mount
        self.rescan_interval = rescan_interval
        self.scans = 0
        self._mount_fd: int | None = None
        self._by_handle = mount is not None
        self._index: dict[int, str] = {}
        self._scanned_at = -float("inf")
        self._libc = ctypes.CDLL(None, use_errno=True)

    def path(self, cgroup_id: int) -> str | None:
        if self.mount is None:
            return None
        if self._by_handle:
            path = self._open_by_handle(cgroup_id)
            if path is not None or self._by_handle:
                return path
        found = self._index.get(cgroup_id)
        if found is None and time.monotonic() - self._scanned_at >= self.rescan_interval:
            self._rescan()
            found = self._index.get(cgroup_id)
        return found

    def _open_by_handle(self, cgroup_id: int) -> str | None:
        assert self.mount is not None
        if self._mount_fd is None:
            try:
                self._mount_fd = os.open(self.mount, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                self._by_handle = False
                return None
        handle = ctypes.create_string_buffer(struct.pack("=IiQ", 8, _FILEID_KERNFS, cgroup_id))
        fd = self._libc.open_by_handle_at(self._mount_fd, handle, _O_PATH | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            if err in (errno.EPERM, errno.ENOSYS, errno.EOPNOTSUPP, errno.EACCES):
                self._by_handle = False  # no capability or no kernel support: use the index
            return None  # ESTALE/ENOENT: the cgroup is gone (or never existed)
        try:
            full = os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        return "/" + os.path.relpath(full, self.mount).removeprefix(".")

    def _rescan(self) -> None:
        assert self.mount is not None
        self.scans += 1
        self._scanned_at = time.monotonic()
        index: dict[int, str] = {}
        stack = [self.mount]
        while stack:
            top = stack.pop()
            try:
                with os.scandir(top) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            index[entry.inode()] = "/" + os.path.relpath(entry.path, self.mount)
                            stack.append(entry.path)
            except OSError:
                continue  # removed while walking
        index[os.stat(self.mount).st_ino] = "/"
        self._index = index

    def exists(self, path: str) -> bool:
        return self.mount is not None and os.path.isdir(self.mount + path)

    def close(self) -> None:
        if self._mount_fd is not None:
            os.close(self._mount_fd)
            self._mount_fd = None

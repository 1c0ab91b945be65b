"""cgroup v2 id -> path, one syscall per new id, never a rescan of the tree.

On cgroup v2 a cgroup's id (bpf_get_current_cgroup_id) is its kernfs inode
number, which is also the payload of its file handle. So open_by_handle_at on
the cgroup2 mount with that id as an 8-byte handle opens the cgroup directory,
and /proc/self/fd/<fd> names its path. Ids are never reused, so an id that
does not resolve (ESTALE: the cgroup is gone) stays unknown; both caches are
bounded LRUs. Without CAP_DAC_READ_SEARCH, open_by_handle_at is refused and we
fall back to walking the tree, at most once per `rescan_interval`."""

from __future__ import annotations

import ctypes
import errno
import os
import sys
import threading
import time
from pathlib import Path

from collector.decoders.base import LruCache

_libc = ctypes.CDLL(None, use_errno=True)
MAX_HANDLE_SZ = 128


class _FileHandle(ctypes.Structure):
    _fields_ = [
        ("handle_bytes", ctypes.c_uint),
        ("handle_type", ctypes.c_int),
        ("f_handle", ctypes.c_ubyte * MAX_HANDLE_SZ),
    ]


def cgroup2_mount(mountinfo: Path = Path("/proc/self/mountinfo")) -> Path | None:
    """Where the unified (v2) hierarchy is mounted: /sys/fs/cgroup, or
    /sys/fs/cgroup/unified on hybrid systems."""
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        pre, _, post = line.partition(" - ")
        if post.split(" ", 1)[0] == "cgroup2":
            return Path(pre.split()[4])
    return None


def handle_of(path: str) -> tuple[int, bytes]:
    """name_to_handle_at: (handle type, handle bytes) of a path."""
    fh = _FileHandle(MAX_HANDLE_SZ, 0)
    mount_id = ctypes.c_int()
    if _libc.name_to_handle_at(-100, os.fsencode(path), ctypes.byref(fh), ctypes.byref(mount_id), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"name_to_handle_at {path}: {os.strerror(err)}")
    return fh.handle_type, bytes(fh.f_handle[: fh.handle_bytes])


def cgroup_id(path: str | Path) -> int:
    """The id the kernel reports for a cgroup v2 directory (its kernfs file handle)."""
    _, raw = handle_of(str(path))
    return int.from_bytes(raw[:8], sys.byteorder)


class CgroupPaths:
    def __init__(self, mount: Path | None = None, cache_size: int = 16384, rescan_interval: float = 10.0) -> None:
        self.mount = mount or cgroup2_mount()
        self.known: LruCache[int, str] = LruCache(cache_size)
        self.unknown: LruCache[int, bool] = LruCache(cache_size)
        self.rescan_interval = rescan_interval
        self._lock = threading.Lock()
        self._mount_fd = -1
        self._handle_type = 0
        self._by_handle = False
        self._last_scan = 0.0
        self.scans = 0  # tree walks done (fallback only): visible to tests and telemetry
        if self.mount is None:
            return
        try:
            self._handle_type, raw = handle_of(str(self.mount))
            self._mount_fd = os.open(self.mount, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self._by_handle = len(raw) == 8
        except OSError:
            self._by_handle = False

    def path(self, cgid: int) -> str | None:
        """The cgroup's path (e.g. /sys/fs/cgroup/system.slice/ssh.service), or None if unknown."""
        with self._lock:
            found = self.known.get(cgid)
            if found is not None:
                return found
            if cgid in self.unknown or self.mount is None:
                return None
            resolved = self._open_by_handle(cgid) if self._by_handle else None
            if resolved is None and not self._by_handle:
                resolved = self._scan_for(cgid)
            if resolved is None:
                self.unknown.put(cgid, True)
                return None
            self.known.put(cgid, resolved)
            return resolved

    def _open_by_handle(self, cgid: int) -> str | None:
        fh = _FileHandle(8, self._handle_type)
        ctypes.memmove(fh.f_handle, cgid.to_bytes(8, sys.byteorder), 8)
        fd = _libc.open_by_handle_at(self._mount_fd, ctypes.byref(fh), os.O_PATH | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            if err in (errno.EPERM, errno.EACCES, errno.ENOSYS, errno.EOPNOTSUPP):
                self._by_handle = False  # not allowed here: fall back to walking the tree
                return self._scan_for(cgid)
            return None  # ESTALE / ENOENT: the cgroup is gone
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)

    def _scan_for(self, cgid: int) -> str | None:
        now = time.monotonic()
        if self.mount is None or (self.scans and now - self._last_scan < self.rescan_interval):
            return None
        self._last_scan = now
        self.scans += 1
        found = None
        for root, _, _ in os.walk(self.mount):
            try:
                this = cgroup_id(root)
            except OSError:
                continue
            if this == cgid:
                found = root
            elif this not in self.known:
                self.known.put(this, root)
        return found

    def close(self) -> None:
        if self._mount_fd >= 0:
            os.close(self._mount_fd)
            self._mount_fd = -1

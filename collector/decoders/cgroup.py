"""`cgroup`: a cgroup v2 id (after `uint`, from bpf_get_current_cgroup_id) -> its path,
like `/sys/fs/cgroup/system.slice/ssh.service`; gone or unknown ids become
`unknown_cgroup_id:<id>`. Resolution: collector.decoders.cgroup_paths."""

from __future__ import annotations

import threading

from collector.decoders.base import Decoder, parse_uint
from collector.decoders.cgroup_paths import CgroupPaths

_shared: CgroupPaths | None = None
_lock = threading.Lock()


def shared_paths() -> CgroupPaths:
    global _shared
    with _lock:
        if _shared is None:
            _shared = CgroupPaths()
        return _shared


class CgroupDecoder(Decoder):
    name = "cgroup"
    pure = False  # a new cgroup may appear; an unknown id is remembered by CgroupPaths

    def decode(self, value: bytes) -> bytes:
        cgid = parse_uint(value, "cgroup")
        path = shared_paths().path(cgid)
        return (path or f"unknown_cgroup_id:{cgid}").encode()

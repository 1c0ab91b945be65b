"""Keys (pid, cgroup id, cgroup path, container id) -> container -> attributes.

Everything here is per distinct key: a batch's keys are made distinct first
(numpy.unique) and each is resolved once, from a bounded LRU cache or, on a miss,
from /proc and the cgroup filesystem. Caches keep an entry for `grace_period`
after its process or cgroup is gone, so late events still resolve."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from processors.k8s_metadata.cgroups import (
    CgroupInfo,
    CgroupPaths,
    executable_name,
    normalize_container_id,
    parse_cgroup_path,
    process_start_time,
    read_proc_cgroup,
)
from processors.k8s_metadata.config import KeySource
from processors.k8s_metadata.entities import EntityGone
from processors.k8s_metadata.pods import PodStore

Target = tuple[str | None, str | None]  # (pod uid, container id): what a key leads to
NO_TARGET: Target = (None, None)

K = TypeVar("K")
V = TypeVar("V")


class LRU(OrderedDict[K, V], Generic[K, V]):
    """A dict bounded to `size` entries, least recently used evicted first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.evictions = 0

    def lookup(self, key: K) -> V | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
            self.evictions += 1


@dataclass(slots=True)
class _Process:
    start_time: int | None  # None: no such process when we looked
    target: Target
    exe: str | None
    checked: float
    gone_at: float | None = None


@dataclass(slots=True)
class _Cgroup:
    path: str | None  # None: the id did not resolve when we looked
    target: Target
    checked: float
    gone_at: float | None = None


def _target(info: CgroupInfo | None) -> Target:
    return NO_TARGET if info is None else (info.pod_uid, info.container_id)


class Resolver:
    def __init__(
        self,
        store: PodStore,
        cgroup_paths: CgroupPaths,
        *,
        cache_size: int,
        process_ttl: float,
        grace_period: float,
        publish: Callable[[EntityGone], None],
        proc: str = "/proc",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cgroup_paths = cgroup_paths
        self.process_ttl = process_ttl
        self.grace_period = grace_period
        self.publish = publish
        self.proc = proc
        self.clock = clock
        self.processes: LRU[int, _Process] = LRU(cache_size)
        self.cgroups: LRU[int, _Cgroup] = LRU(cache_size)
        self.paths: LRU[str, Target] = LRU(cache_size)
        self._attrs: dict[Target, dict[str, str] | None] = {}
        self._attrs_version = -1

    # --- keys -> target -------------------------------------------------------

    def target(self, source: KeySource, key: object) -> Target:
        if source in ("pid", "cgroup_id"):
            number = int(key)  # type: ignore[call-overload]
            if number <= 0:  # 0: the program did not know (or the idle task): no key
                return NO_TARGET
            return self.process(number).target if source == "pid" else self.cgroup(number).target
        text = _text(key)
        if not text:
            return NO_TARGET
        if source == "container_id":
            return (None, normalize_container_id(text))
        target = self.paths.lookup(text)
        if target is None:
            target = _target(parse_cgroup_path(text))
            self.paths.put(text, target)
        return target

    def process(self, pid: int) -> _Process:
        now = self.clock()
        entry = self.processes.lookup(pid)
        if entry is not None and now - entry.checked < self.process_ttl:
            return entry
        start = process_start_time(pid, self.proc)
        if start is None:  # exited (or never seen): keep what we knew for the grace period
            if entry is None:
                entry = _Process(None, NO_TARGET, None, now, gone_at=now)
                self.processes.put(pid, entry)
            else:
                entry.checked = now
                self._process_gone(pid, entry, now)
            return entry
        if entry is not None and entry.start_time == start:
            entry.checked = now
            return entry
        if entry is not None:  # the pid now belongs to another process
            self._process_gone(pid, entry, now)
        entry = _Process(start, _target(read_proc_cgroup(pid, self.proc)), executable_name(pid, self.proc), now)
        self.processes.put(pid, entry)
        return entry

    def cgroup(self, cgroup_id: int) -> _Cgroup:
        now = self.clock()
        entry = self.cgroups.lookup(cgroup_id)
        if entry is not None and (entry.path is not None or now - entry.checked < self.process_ttl):
            return entry
        path = self.cgroup_paths.path(cgroup_id)
        if path is None:
            entry = _Cgroup(None, NO_TARGET, now, gone_at=now)
        else:
            entry = _Cgroup(path, _target(parse_cgroup_path(path)), now)
        self.cgroups.put(cgroup_id, entry)
        return entry

    def executable(self, pid: int) -> str | None:
        return self.process(pid).exe if pid > 0 else None

    # --- target -> attributes --------------------------------------------------

    def attributes(self, target: Target) -> dict[str, str] | None:
        """Attributes for a target, None when nothing is known. Cached until the pod
        store changes."""
        if self._attrs_version != self.store.version or len(self._attrs) > self.processes.size:
            self._attrs.clear()
            self._attrs_version = self.store.version
        if target in self._attrs:
            return self._attrs[target]
        uid, cid = target
        attrs: dict[str, str] | None = None
        found = self.store.by_container(cid) if cid else None
        if found is not None:
            pod, name = found
            attrs = {**pod.attributes, "k8s.container.name": name, "container.id": cid or ""}
        elif uid and (pod_info := self.store.get(uid)) is not None:
            attrs = dict(pod_info.attributes)
            if cid:
                attrs["container.id"] = cid
        elif cid:
            attrs = {"container.id": cid}
        self._attrs[target] = attrs
        return attrs

    # --- housekeeping ------------------------------------------------------------

    def sweep(self) -> None:
        """Notice exited processes and removed cgroups (announce them), and forget
        entries whose grace period is over."""
        now = self.clock()
        for pid, proc_entry in list(self.processes.items()):
            if proc_entry.gone_at is None and process_start_time(pid, self.proc) != proc_entry.start_time:
                self._process_gone(pid, proc_entry, now)
            if proc_entry.gone_at is not None and now - proc_entry.gone_at >= self.grace_period:
                del self.processes[pid]
        for cgroup_id, cg in list(self.cgroups.items()):
            if cg.gone_at is None and cg.path is not None and not self.cgroup_paths.exists(cg.path):
                cg.gone_at = now
                if cg.target[1]:
                    self.publish(EntityGone("container", {"container.id": cg.target[1]}))
            if cg.gone_at is not None and now - cg.gone_at >= self.grace_period:
                del self.cgroups[cgroup_id]
        self.store.expire(now)

    def _process_gone(self, pid: int, entry: _Process, now: float) -> None:
        if entry.gone_at is None:
            entry.gone_at = now
            if entry.start_time is not None:
                self.publish(EntityGone("process", {"process.pid": pid}))


def _text(key: object) -> str:
    if isinstance(key, bytes):
        return key.split(b"\0", 1)[0].decode("utf-8", "replace")
    return str(key)

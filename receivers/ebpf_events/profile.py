"""The `profile` program: on-CPU stack sampling at a fixed frequency on every CPU,
counted in the kernel (bpf/profile.bpf.c), turned into folded stacks
(`comm;outer;...;inner count`, flame graph input) once per interval."""

from __future__ import annotations

import ctypes
import errno
import os
from typing import Any

import numpy as np

from collector.bpf import BpfLoadError, BpfObject
from collector.bpf.btf import Btf
from collector.bpf.libbpf import BatchOpts, lib
from collector.bpf.maps import BpfMap
from collector.bpf.objects import builtin_object
from collector.model import EventBatch, now_ns
from receivers.ebpf_events import perf_event as pe
from receivers.ebpf_events.config import ProfileConfig
from receivers.ebpf_events.objsetup import EventSettings
from receivers.ebpf_events.symbols import KernelSymbols, UserSymbols

Array = np.ndarray[Any, Any]
RECORD = np.dtype([("pid", "<u4"), ("count", "<u8"), ("comm", "S16")])


class Profiler:
    name = "profile"

    def __init__(self, config: ProfileConfig) -> None:
        path = builtin_object("profile")
        with Btf.from_file(path) as btf:
            self.key_dtype = btf.struct_dtype("stack_key")
        settings = EventSettings(
            rodata={
                "include_idle": int(config.include_idle),
                "kernel_stacks": int(config.kernel_stacks),
                "user_stacks": int(config.user_stacks),
            }
        )
        self.obj = BpfObject.load(path, "profile", autoattach=False, prepare=settings)
        try:
            prog = self.obj.program("sample")
            for cpu in pe.online_cpus():
                attr = pe.PerfEventAttr()
                attr.type = pe.PERF_TYPE_SOFTWARE
                attr.config = pe.PERF_COUNT_SW_CPU_CLOCK
                attr.sample_period_or_freq = config.frequency
                attr.flags = pe.FLAG_FREQ
                fd = pe.perf_event_open(attr, -1, cpu)
                link = lib().bpf_program__attach_perf_event(prog, fd)
                if not link:
                    err = ctypes.get_errno() or errno.EINVAL
                    os.close(fd)
                    raise BpfLoadError(f"profile: attaching to the CPU clock of CPU {cpu}: {os.strerror(err)}")
                self.obj.add_link(link)  # the link owns the perf event fd from here on
        except (OSError, BpfLoadError):
            self.obj.close()
            raise
        self.kernel = KernelSymbols()
        self.user = UserSymbols()
        self.samples = 0
        self._folded: dict[tuple[int, bytes, str], int] = {}

    def take(self) -> EventBatch | None:
        """Everything sampled since the last take, as one batch of folded stacks
        (blocking: run off the loop)."""
        self.resolve()
        folded, self._folded = self._folded, {}
        if not folded:
            return None
        records = np.array([(pid, n, comm) for (pid, comm, _), n in folded.items()], RECORD)
        stacks = np.array([stack for (_, _, stack) in folded], object)
        lines = np.array([f"{s} {n}" for s, n in zip(stacks.tolist(), records["count"].tolist(), strict=True)], object)
        return EventBatch(self.name, records, now_ns(), columns={"stack": stacks, "folded": lines})

    def resolve(self) -> None:
        """Drain the kernel's counts and symbolise them now, while the sampled
        processes (and their /proc/<pid>/maps) most likely still exist."""
        keys, counts = _drain(self.obj.map("counts"), self.key_dtype)
        if not len(keys):
            return
        stacks_map = self.obj.map("stacks")
        ids = np.unique(np.concatenate([keys["kstack_id"], keys["ustack_id"]]))
        frames: dict[int, Array] = {}
        for sid in ids.tolist():
            if sid < 0:
                continue
            raw = stacks_map.lookup(int(sid).to_bytes(4, "little"))
            if raw is not None:
                addrs = np.frombuffer(raw, np.uint64)
                frames[sid] = addrs[addrs != 0]
        kernel_names = self._kernel_names(frames, keys["kstack_id"])
        resolvers: dict[int, Any] = {}
        folded = self._folded
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            pid, kid, uid, comm = key
            parts: list[str] = [comm.decode("utf-8", "replace") or "[unknown]"]
            if uid >= 0 and uid in frames:
                if pid not in resolvers:
                    resolvers[pid] = self.user.resolver(pid)
                parts.extend(resolvers[pid].name(int(a)) for a in frames[uid][::-1])
            if kid >= 0 and kid in kernel_names:
                parts.extend(kernel_names[kid])
            stack = ";".join(parts)
            folded[(pid, comm, stack)] = folded.get((pid, comm, stack), 0) + int(count)
        for sid in frames:  # free the slots, or the stack map fills up and new stacks are dropped
            lib().bpf_map_delete_elem(stacks_map.fd, ctypes.byref(ctypes.c_uint32(sid)))
        self.samples += int(counts.sum())

    def _kernel_names(self, frames: dict[int, Array], kstack_ids: Array) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for sid in np.unique(kstack_ids).tolist():
            if sid in frames:
                out[sid] = [f"{n}_[k]" for n in self.kernel.resolve(frames[sid][::-1])]
        return out

    def close(self) -> None:
        self.obj.close()


def _drain(m: BpfMap, key_dtype: np.dtype[Any]) -> tuple[Array, Array]:
    """Read and delete every entry atomically per bucket (samples arriving meanwhile
    land in the next interval), falling back to read-then-delete."""
    L = lib()
    fn = L.bpf_map_lookup_and_delete_batch
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                   ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(BatchOpts)]  # fmt: skip
    chunk = max(1, min(m.max_entries, 4096))
    keys_parts, values_parts = [], []
    token = ctypes.create_string_buffer(max(m.key_size, 8))
    in_batch: Any = None
    opts = BatchOpts(ctypes.sizeof(BatchOpts), 0, 0)
    while True:
        keys = np.empty(chunk, key_dtype)
        values = np.empty(chunk, np.uint64)
        count = ctypes.c_uint32(chunk)
        rc = fn(m.fd, in_batch, token, keys.ctypes.data, values.ctypes.data, ctypes.byref(count), ctypes.byref(opts))
        err = -rc if rc < 0 else 0
        if err and err != errno.ENOENT:
            if err == errno.ENOSPC:
                chunk *= 2
                continue
            raise OSError(err, f"draining map {m.name}")
        keys_parts.append(keys[: count.value])
        values_parts.append(values[: count.value])
        if err == errno.ENOENT:
            break
        in_batch = token
    return np.concatenate(keys_parts), np.concatenate(values_parts)

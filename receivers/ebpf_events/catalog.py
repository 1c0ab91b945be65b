"""The built-in event programs: name -> object, event struct, and the derived
columns added to each batch (see docs/programs.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from receivers.ebpf_events import columns as col

if TYPE_CHECKING:
    from receivers.ebpf_events.config import EbpfEventsConfig

Array = np.ndarray[Any, Any]
Enrich = Callable[[Array], dict[str, Array]]


@dataclass(frozen=True, slots=True)
class EventProgram:
    name: str
    description: str
    object: str  # bpf/<object>.bpf.c
    struct: str = "event"
    enrich: Enrich | None = None
    # `.rodata` settings written before load, from the receiver's config
    rodata: Callable[[EbpfEventsConfig], dict[str, int]] | None = None


def _exec(r: Array) -> dict[str, Array]:
    return {"cmdline": col.join_args(r["args"], r["args_size"])}


def _open(r: Array) -> dict[str, Array]:
    return {"errno": col.errno_names(r["ret"])}


TCP_TYPES = {1: "connect", 2: "accept", 3: "retransmit"}
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
    7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
}  # fmt: skip


def _tcp(r: Array) -> dict[str, Array]:
    return {
        "event": col.lookup(r["type"], TCP_TYPES),
        "saddr_text": col.ip_text(r["saddr"], r["family"]),
        "daddr_text": col.ip_text(r["daddr"], r["family"]),
        "state_name": col.lookup(r["state"], TCP_STATES),
    }


def _proclife(r: Array) -> dict[str, Array]:
    return {"duration_ns": r["end_ns"] - r["start_ns"]}


BLOCK_OPS = {0: "read", 1: "write", 2: "flush", 3: "discard", 5: "secure_erase", 9: "write_zeroes"}


def _bio(r: Array) -> dict[str, Array]:
    major, minor = col.dev_numbers(r["dev"])
    return {
        "device": col.device_names(r["dev"]),
        "major": major,
        "minor": minor,
        "operation": col.lookup(r["op"], BLOCK_OPS, "other"),
    }


def _runqlat_rodata(config: EbpfEventsConfig) -> dict[str, int]:
    return {"min_latency_ns": round(config.runqlat.min_latency * 1e9)}


STREAMS = (
    EventProgram("exec", "process executions: pid, ppid, uid, comm, filename, args, cgroup", "exec", enrich=_exec),
    EventProgram("open", "openat() calls: pid, comm, filename, flags, result and errno, cgroup", "open", enrich=_open),
    EventProgram("tcp", "TCP connect/accept latency and retransmits with addresses and ports", "tcp", enrich=_tcp),
    EventProgram("biolatency", "block I/O requests: latency, device, operation, size", "biolatency", enrich=_bio),
    EventProgram(
        "proclife",
        "process lifetimes, exec to exit: pid, ppid, uid, comm, filename, exit code",
        "proclife",
        enrich=_proclife,
    ),
    EventProgram("oomkill", "OOM kills: victim pid, comm, memory; the triggering task", "oomkill"),
    EventProgram(
        "runqlat",
        "run-queue waits: latency from runnable to running, pid, comm, cgroup",
        "runqlat_events",
        rodata=_runqlat_rodata,
    ),
)
CATALOG: dict[str, EventProgram] = {p.name: p for p in STREAMS}
# `profile` is sampled, not streamed: see receivers/ebpf_events/profile.py.
BUILTIN_NAMES = (*CATALOG, "profile")

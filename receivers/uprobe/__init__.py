"""Receiver `uprobe`: count and time calls of functions in binaries you cannot change."""

from collector.component import Factory
from receivers.uprobe.config import UprobeConfig
from receivers.uprobe.receiver import UprobeReceiver

factory = Factory(
    type="uprobe",
    kind="receiver",
    description="calls of a function in any binary (C, C++, Rust, Go, Fortran) as a counter, "
    "optionally timed into a histogram, without writing eBPF",
    config_model=UprobeConfig,
    create=UprobeReceiver,
    signals=frozenset({"metrics"}),
)

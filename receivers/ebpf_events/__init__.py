"""Receiver `ebpf_events`: kernel event streams (ring buffer or perf buffer) decoded
as columns, plus the built-in event catalog (exec, open, tcp, biolatency, oomkill, runqlat,
profile)."""

from collector.component import Factory
from receivers.ebpf_events.config import EbpfEventsConfig
from receivers.ebpf_events.receiver import EbpfEventsReceiver

factory = Factory(
    type="ebpf_events",
    kind="receiver",
    description="eBPF event streams (ring/perf buffer) as columns: exec, open, tcp, biolatency, oomkill, runqlat, "
    "profile",
    config_model=EbpfEventsConfig,
    create=EbpfEventsReceiver,
    signals=frozenset({"metrics", "logs", "traces"}),
)

"""Receiver `ebpf_maps`: built-in programs aggregating in the kernel, polled on an interval."""

from collector.component import Factory
from receivers.ebpf_maps.config import EbpfMapsConfig
from receivers.ebpf_maps.receiver import EbpfMapsReceiver

factory = Factory(
    type="ebpf_maps",
    kind="receiver",
    description="built-in eBPF programs that aggregate in the kernel (runqlat, syscalls), maps read on an interval",
    config_model=EbpfMapsConfig,
    create=EbpfMapsReceiver,
    signals=frozenset({"metrics"}),
)

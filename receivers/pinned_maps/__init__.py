"""Receiver `pinned_maps`: maps pinned on bpffs by other loaders, decoded from their own BTF."""

from collector.component import Factory
from receivers.pinned_maps.config import PinnedMapsConfig
from receivers.pinned_maps.receiver import PinnedMapsReceiver

factory = Factory(
    type="pinned_maps",
    kind="receiver",
    description="maps pinned on bpffs by other loaders; labels and values typed from the maps' own BTF",
    config_model=PinnedMapsConfig,
    create=PinnedMapsReceiver,
    signals=frozenset({"metrics"}),
)

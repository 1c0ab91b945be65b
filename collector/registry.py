"""Where component types come from: the built-in table below, plus entry points
(`ebpf_collector.receivers`, `.processors`, `.exporters`) from other packages.

Built-ins are named by import path and imported on first use, so `validate`
never imports BCC or loads anything it does not need.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from collector.component import Factory, Kind

# One line per built-in component: type -> "module:attribute" of its Factory.
BUILTIN: dict[Kind, dict[str, str]] = {
    "receiver": {
        "ebpf_maps": "receivers.ebpf_maps:factory",
        "ebpf_events": "receivers.ebpf_events:factory",
        "ebpf_programs": "receivers.ebpf_programs:factory",
        "pinned_maps": "receivers.pinned_maps:factory",
        "uprobe": "receivers.uprobe:factory",
        "bcc": "receivers.bcc:factory",
    },
    "processor": {
        "aggregate": "processors.aggregate:factory",
        "attributes": "processors.attributes:factory",
        "batch": "processors.batch:factory",
        "cardinality_limit": "processors.cardinality_limit:factory",
        "filter": "processors.filter:factory",
        "k8s_metadata": "processors.k8s_metadata:factory",
        "memory_limiter": "processors.memory_limiter:factory",
    },
    "exporter": {
        "prometheus": "exporters.prometheus:factory",
        "json": "exporters.json:factory",
        "prometheus_remote_write": "exporters.prometheus_remote_write:factory",
        "otlp": "exporters.otlp:factory",
    },
}

ENTRY_POINT_GROUPS: dict[Kind, str] = {
    "receiver": "ebpf_collector.receivers",
    "processor": "ebpf_collector.processors",
    "exporter": "ebpf_collector.exporters",
}


class Registry:
    def __init__(self) -> None:
        self._paths: dict[Kind, dict[str, str]] = {k: dict(v) for k, v in BUILTIN.items()}
        self._loaded: dict[tuple[Kind, str], Factory[Any]] = {}
        for kind, group in ENTRY_POINT_GROUPS.items():
            for ep in entry_points(group=group):
                self._paths[kind].setdefault(ep.name, ep.value)

    def types(self, kind: Kind) -> list[str]:
        return sorted(self._paths[kind])

    def has(self, kind: Kind, type_: str) -> bool:
        return type_ in self._paths[kind]

    def get(self, kind: Kind, type_: str) -> Factory[Any]:
        key = (kind, type_)
        if key not in self._loaded:
            module_name, _, attr = self._paths[kind][type_].partition(":")
            factory = getattr(importlib.import_module(module_name), attr or "factory")
            if not isinstance(factory, Factory) or factory.kind != kind:
                raise TypeError(f"{self._paths[kind][type_]} is not a {kind} Factory")
            self._loaded[key] = factory
        return self._loaded[key]

    def register(self, factory: Factory[Any]) -> None:
        """Add a factory directly (tests, embedding)."""
        self._paths[factory.kind][factory.type] = f"<registered {factory.type}>"
        self._loaded[(factory.kind, factory.type)] = factory


default_registry = Registry()

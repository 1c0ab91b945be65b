"""Entity lifecycle notifications between processors.

An enrichment processor knows when a pod, container or process is gone; a
processor holding per-series state (cardinality_limit) wants to free those
series at once rather than wait for them to go stale. The enricher publishes
`EntityGone` here; anyone subscribes:

    unsubscribe = entity_events.subscribe(lambda gone: ...)

Callbacks run synchronously on the event loop, in the publisher's task: keep
them short (mark state; do the work on the next batch). A failing callback is
logged and does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from collector.model import AttrValue

log = logging.getLogger("ebpf_collector")

EntityKind = Literal["pod", "container", "process"]


@dataclass(frozen=True, slots=True)
class EntityGone:
    """`attributes` identify the entity by the attribute names it carried on data:
    a pod by k8s.pod.uid (plus k8s.pod.name, k8s.namespace.name), a process by
    process.pid, a container by container.id."""

    kind: EntityKind
    attributes: dict[str, AttrValue] = field(default_factory=dict)


Subscriber = Callable[[EntityGone], None]


class EntityEvents:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Returns a function that unsubscribes (call it in shutdown)."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def publish(self, event: EntityGone) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("entity event subscriber failed")


# One hub per collector process: every enricher publishes here.
entity_events = EntityEvents()

"""What k8s_metadata announces when a pod, container or process ends.

The announcement goes out on the collector-wide `ctx.notices.gone(attribute,
value)` with the one attribute that identifies the entity on data (a pod's
k8s.pod.uid, a container's container.id, a process's process.pid), so stateful
processors such as cardinality_limit free that entity's series at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from collector.model import AttrValue

EntityKind = Literal["pod", "container", "process"]


@dataclass(frozen=True, slots=True)
class EntityGone:
    """`attributes` identify the entity by the attribute names it carried on data:
    a pod by k8s.pod.uid (plus k8s.pod.name, k8s.namespace.name), a process by
    process.pid, a container by container.id."""

    kind: EntityKind
    attributes: dict[str, AttrValue] = field(default_factory=dict)


# The attribute that identifies each kind of entity on data.
IDENTITY: dict[EntityKind, str] = {"pod": "k8s.pod.uid", "container": "container.id", "process": "process.pid"}

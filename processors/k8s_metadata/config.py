from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from collector.component import ComponentConfig
from collector.config import Duration

KeySource = Literal["pid", "cgroup_id", "cgroup_path", "container_id"]

DEFAULT_FIELDS: dict[KeySource, str] = {
    "cgroup_id": "cgroup_id",
    "pid": "pid",
    "container_id": "container_id",
    "cgroup_path": "cgroup",
}


class Association(ComponentConfig):
    """How rows/points name their process or container: `source` says what the value
    is, `field` which event field or metric attribute holds it."""

    source: KeySource = Field(description="what the field holds: pid, cgroup_id, cgroup_path or container_id")
    field: str = Field(
        min_length=1, description="event field or metric attribute name (default: cgroup_id, pid, container_id, cgroup)"
    )

    @model_validator(mode="before")
    @classmethod
    def _default_field(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("field"):
            # an unknown source is reported on `source` alone, not also as a missing field
            return {**data, "field": DEFAULT_FIELDS.get(data.get("source"), "?")}  # type: ignore[arg-type]
        return data


STANDARD_ATTRIBUTES = (
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.pod.uid",
    "k8s.container.name",
    "container.id",
    "k8s.node.name",
    "k8s.deployment.name",
    "k8s.replicaset.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.job.name",
    "process.pid",
    "process.executable.name",
)


class K8sMetadataConfig(ComponentConfig):
    """Adds pod, container and workload attributes to events and metrics."""

    associations: list[Association] = Field(
        default_factory=lambda: [Association(source=s, field=f) for s, f in DEFAULT_FIELDS.items()],
        min_length=1,
        description="keys to associate data with its container, tried in order per row/point; "
        "keys a batch does not carry are skipped",
    )
    auth: Literal["auto", "serviceaccount", "kubeconfig", "none"] = Field(
        "auto",
        description="how to reach the API server: auto (service account in a pod, else kubeconfig, else none), "
        "serviceaccount, kubeconfig, or none (host metadata and container ids only)",
    )
    kubeconfig: str | None = Field(None, description="kubeconfig path (default $KUBECONFIG, then ~/.kube/config)")
    context: str | None = Field(None, description="kubeconfig context (default: its current context)")
    node_name: str | None = Field(
        None,
        description="this node's name, for the pod watch's field selector (default $KUBE_NODE_NAME, then hostname)",
    )
    attributes: list[str] | None = Field(
        None,
        description="which standard attributes to add (default all); fewer columns, faster batches. "
        "Selected labels and annotations are always added",
    )
    labels: list[str] = Field(default_factory=list, description="pod label keys to add as k8s.pod.label.<key>")
    annotations: list[str] = Field(
        default_factory=list, description="pod annotation keys to add as k8s.pod.annotation.<key>"
    )
    proc_path: str = Field(
        "/proc", description="the host's /proc (the DaemonSet needs hostPID, or the host's /proc mounted here)"
    )
    cgroup_root: str | None = Field(
        None, description="where the host's cgroup v2 hierarchy is mounted (default: found in /proc/self/mountinfo)"
    )
    process_attributes: bool = Field(
        True, description="add process.pid and process.executable.name where a pid is known"
    )
    grace_period: Duration = Field(
        60.0, ge=0, description="how long a deleted pod or exited process stays resolvable for late data"
    )
    process_ttl: Duration = Field(
        10.0, gt=0, description="how long a pid's container is trusted before /proc is read again (pid reuse)"
    )
    cache_size: int = Field(16384, ge=16, description="processes and cgroups remembered, each (bounded LRU)")
    sweep_interval: Duration = Field(
        5.0, gt=0, description="how often exited processes and deleted cgroups are noticed"
    )
    watch_timeout: Duration = Field(300.0, ge=1, description="server-side timeout of one pod watch request")
    max_backoff: Duration = Field(30.0, gt=0, description="longest wait between retries while the API server is down")
    wait_for_sync: Duration = Field(
        5.0, ge=0, description="at start, wait up to this long for the first pod list before data flows"
    )

    @field_validator("attributes")
    @classmethod
    def _known_attributes(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            if name not in STANDARD_ATTRIBUTES:
                raise ValueError(f"unknown attribute {name!r}; known: {', '.join(STANDARD_ATTRIBUTES)}")
        return value

    @model_validator(mode="after")
    def _distinct_fields(self) -> K8sMetadataConfig:
        seen = [(a.source, a.field) for a in self.associations]
        if len(set(seen)) != len(seen):
            raise ValueError("an association is listed twice")
        return self

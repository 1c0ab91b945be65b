"""The pods of this node, as the API server reports them, indexed for enrichment.

Pods are kept as the few attributes we emit (not the whole API object), so memory
is a few hundred bytes per pod. A deleted pod stays resolvable for a grace period:
events of a short-lived pod are often read after the pod is gone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from processors.k8s_metadata.cgroups import normalize_container_id

# Owner kinds with a semantic-convention attribute of their own.
_OWNER_ATTRIBUTES = {
    "StatefulSet": "k8s.statefulset.name",
    "DaemonSet": "k8s.daemonset.name",
    "Job": "k8s.job.name",
    "ReplicaSet": "k8s.replicaset.name",
}


@dataclass(frozen=True, slots=True)
class PodInfo:
    uid: str
    namespace: str
    name: str
    attributes: dict[str, str]  # pod-level attributes, ready to emit
    containers: dict[str, str] = field(default_factory=dict)  # container id -> container name


def workload_attributes(metadata: Mapping[str, Any]) -> dict[str, str]:
    """The controller owner as semantic-convention attributes. A Deployment is found
    through its ReplicaSet's name, `<deployment>-<pod-template-hash>`, with the hash
    taken from the pod's own label: no ReplicaSet is fetched or watched."""
    attrs: dict[str, str] = {}
    for owner in metadata.get("ownerReferences") or ():
        if not owner.get("controller"):
            continue
        kind, name = owner.get("kind", ""), owner.get("name", "")
        if kind in _OWNER_ATTRIBUTES:
            attrs[_OWNER_ATTRIBUTES[kind]] = name
        if kind == "ReplicaSet":
            template_hash = (metadata.get("labels") or {}).get("pod-template-hash")
            if template_hash and name.endswith("-" + template_hash):
                attrs["k8s.deployment.name"] = name[: -len(template_hash) - 1]
    return attrs


def pod_from_object(obj: Mapping[str, Any], labels: Iterable[str], annotations: Iterable[str]) -> PodInfo:
    """A pod API object (as JSON) -> PodInfo with the configured labels and annotations."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    attrs = {
        "k8s.namespace.name": metadata.get("namespace", ""),
        "k8s.pod.name": metadata.get("name", ""),
        "k8s.pod.uid": metadata.get("uid", ""),
    }
    if spec.get("nodeName"):
        attrs["k8s.node.name"] = spec["nodeName"]
    attrs.update(workload_attributes(metadata))
    pod_labels = metadata.get("labels") or {}
    for key in labels:
        if key in pod_labels:
            attrs[f"k8s.pod.label.{key}"] = str(pod_labels[key])
    pod_annotations = metadata.get("annotations") or {}
    for key in annotations:
        if key in pod_annotations:
            attrs[f"k8s.pod.annotation.{key}"] = str(pod_annotations[key])
    containers: dict[str, str] = {}
    for kind in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(kind) or ():
            if cs.get("containerID"):
                containers[normalize_container_id(cs["containerID"])] = cs.get("name", "")
            # The previous instance of a restarted container may still have events in flight.
            last = ((cs.get("lastState") or {}).get("terminated") or {}).get("containerID")
            if last:
                containers.setdefault(normalize_container_id(last), cs.get("name", ""))
    return PodInfo(attrs["k8s.pod.uid"], attrs["k8s.namespace.name"], attrs["k8s.pod.name"], attrs, containers)


class PodStore:
    """Pods by uid and by container id. `version` changes whenever what a lookup
    would answer changes, so callers can cache derived attributes per version."""

    def __init__(self, grace_period: float, on_gone: Callable[[PodInfo], None] | None = None) -> None:
        self.grace_period = grace_period
        self.on_gone = on_gone
        self.version = 0
        self._pods: dict[str, PodInfo] = {}
        self._by_container: dict[str, str] = {}
        self._deleted: dict[str, float] = {}  # uid -> when it stops being resolvable

    def __len__(self) -> int:
        return len(self._pods)

    @property
    def deleted_count(self) -> int:
        return len(self._deleted)

    def get(self, uid: str) -> PodInfo | None:
        return self._pods.get(uid)

    def by_container(self, container_id: str) -> tuple[PodInfo, str] | None:
        uid = self._by_container.get(container_id)
        if uid is None:
            return None
        pod = self._pods[uid]
        return pod, pod.containers[container_id]

    def upsert(self, pod: PodInfo) -> None:
        old = self._pods.get(pod.uid)
        if old == pod and pod.uid not in self._deleted:
            return
        if old is not None:
            for cid in old.containers.keys() - pod.containers.keys():
                self._by_container.pop(cid, None)
        self._pods[pod.uid] = pod
        self._deleted.pop(pod.uid, None)
        for cid in pod.containers:
            self._by_container[cid] = pod.uid
        self.version += 1

    def delete(self, uid: str, now: float) -> None:
        """The pod is gone: announce it, keep it resolvable for the grace period."""
        pod = self._pods.get(uid)
        if pod is None or uid in self._deleted:
            return
        self._deleted[uid] = now + self.grace_period
        if self.on_gone is not None:
            self.on_gone(pod)

    def replace_all(self, pods: Iterable[PodInfo], now: float) -> None:
        """After a (re-)list: pods missing from it were deleted while we were not watching."""
        fresh = {p.uid: p for p in pods}
        for uid in list(self._pods):
            if uid not in fresh:
                self.delete(uid, now)
        for pod in fresh.values():
            self.upsert(pod)

    def expire(self, now: float) -> int:
        """Forget deleted pods whose grace period is over; returns how many."""
        done = [uid for uid, deadline in self._deleted.items() if deadline <= now]
        for uid in done:
            del self._deleted[uid]
            pod = self._pods.pop(uid)
            for cid in pod.containers:
                if self._by_container.get(cid) == uid:
                    del self._by_container[cid]
        if done:
            self.version += 1
        return len(done)

"""Processor `k8s_metadata`: pod, container and workload attributes on events and metrics.

Events get dictionary-encoded columns (EventBatch.with_columns): each distinct key
of the batch is resolved once, then every attribute column is one numpy gather.
Metrics get the attributes merged into each point's attributes (a point is a series,
so per-point work is bounded by the series count, not the event rate).

Pods, containers and processes that go away are announced on ctx.notices
(`gone("k8s.pod.uid", uid)`, see entities.py) so stateful processors downstream
(cardinality_limit) can free their series at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
from collections.abc import Mapping
from typing import Any

import numpy as np

from collector.component import ComponentContext, ComponentError, Processor
from collector.model import AttrValue, Data, EventBatch, Metric, MetricBatch
from processors.k8s_metadata.cgroups import CgroupPaths, cgroup2_mount
from processors.k8s_metadata.config import K8sMetadataConfig, KeySource
from processors.k8s_metadata.entities import IDENTITY, EntityGone
from processors.k8s_metadata.pods import PodInfo, PodStore
from processors.k8s_metadata.resolver import Resolver, Target
from processors.k8s_metadata.watcher import PodWatcher, load_client_configuration

_INT_SOURCES: frozenset[KeySource] = frozenset({"pid", "cgroup_id"})


class K8sMetadataProcessor(Processor[K8sMetadataConfig]):
    def __init__(self, config: K8sMetadataConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.host_name = socket.gethostname()
        self.node_name = config.node_name or os.environ.get("KUBE_NODE_NAME") or ""
        self.store = PodStore(config.grace_period, on_gone=self._pod_gone)
        self.cgroup_paths = CgroupPaths(config.cgroup_root or cgroup2_mount())
        self.resolver = Resolver(
            self.store,
            self.cgroup_paths,
            cache_size=config.cache_size,
            process_ttl=config.process_ttl,
            grace_period=config.grace_period,
            publish=self._publish,
            proc=config.proc_path,
        )
        self.watcher: PodWatcher | None = None
        self._core_columns: tuple[str, ...] = ("container.id",)
        self._tasks: list[asyncio.Task[None]] = []
        self._resource: dict[str, AttrValue] = {"host.name": self.host_name}
        labels = {"processor": str(ctx.id)}
        self._labels = labels
        tel = ctx.telemetry
        self._enriched = tel.counter("k8s_metadata_enriched_items", "Events or datapoints given pod attributes")
        self._unenriched = tel.counter(
            "k8s_metadata_unenriched_items", "Events or datapoints that passed without pod attributes"
        )
        self._watch_events = tel.counter(
            "k8s_metadata_watch_events", "Pod list/watch lifecycle: list, watch_restart, relist_410, error"
        )
        self._gone = tel.counter("k8s_metadata_gone_entities", "Pods, containers and processes announced as gone")
        pods = tel.gauge("k8s_metadata_pods", "Pods of this node known to the enrichment (incl. deleted, in grace)")
        cache = tel.gauge("k8s_metadata_cache_entries", "Entries in the enrichment caches")
        connected = tel.gauge("k8s_metadata_api_connected", "1 while the pod list/watch is healthy")

        def collect() -> None:
            pods.set(len(self.store), **labels)
            cache.set(len(self.resolver.processes), cache="process", **labels)
            cache.set(len(self.resolver.cgroups), cache="cgroup", **labels)
            cache.set(len(self.resolver.paths), cache="cgroup_path", **labels)
            connected.set(1 if self.watcher is not None and self.watcher.connected else 0, **labels)

        tel.on_collect(collect)

    # --- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        for what, path in (("proc_path", self.config.proc_path), ("cgroup_root", self.config.cgroup_root)):
            if path is not None and not os.path.isdir(path):
                raise ComponentError(f"{what}: {path} is not a directory")
        cfg = await load_client_configuration(self.config.auth, self.config.kubeconfig, self.config.context)
        if cfg is None:
            self.log.info(
                "no Kubernetes API access (auth %s): adding host metadata and container ids", self.config.auth
            )
        else:
            if not self.node_name:
                self.node_name = self.host_name
                self.log.warning(
                    "KUBE_NODE_NAME is not set (downward API spec.nodeName); watching pods of node %r", self.node_name
                )
            self._resource["k8s.node.name"] = self.node_name
            self._core_columns = (
                "k8s.namespace.name",
                "k8s.pod.name",
                "k8s.pod.uid",
                "k8s.container.name",
                "container.id",
            )
            self.watcher = PodWatcher(
                cfg,
                self.node_name,
                self.store,
                self.config.labels,
                self.config.annotations,
                self.log,
                watch_timeout=self.config.watch_timeout,
                max_backoff=self.config.max_backoff,
                on_event=lambda kind: self._watch_events.add(1, event=kind, **self._labels),
            )
            self._tasks.append(asyncio.create_task(self.watcher.run(), name=f"{self.ctx.id}:pod-watch"))
            if self.config.wait_for_sync:
                try:
                    await asyncio.wait_for(self.watcher.synced.wait(), self.config.wait_for_sync)
                except TimeoutError:
                    self.log.warning(
                        "no pod list from %s within %.1fs: data flows unenriched until it answers",
                        cfg.host,
                        self.config.wait_for_sync,
                    )
        self._tasks.append(asyncio.create_task(self._sweep(), name=f"{self.ctx.id}:sweep"))

    async def shutdown(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.cgroup_paths.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            self.resolver.sweep()

    def _pod_gone(self, pod: PodInfo) -> None:
        self._publish(
            EntityGone(
                "pod",
                {"k8s.pod.uid": pod.uid, "k8s.pod.name": pod.name, "k8s.namespace.name": pod.namespace},
            )
        )

    def _publish(self, event: EntityGone) -> None:
        self._gone.add(1, kind=event.kind, **self._labels)
        key = IDENTITY[event.kind]
        if key in event.attributes:
            self.ctx.notices.gone(key, event.attributes[key])

    # --- data --------------------------------------------------------------------

    async def consume(self, data: Data) -> None:
        if isinstance(data, EventBatch):
            await self.next.consume(self.enrich_events(data))
        else:
            await self.next.consume(self.enrich_metrics(data))

    def enrich_events(self, batch: EventBatch) -> EventBatch:
        """Returns a new batch with the attribute columns; `batch` is not modified."""
        n = len(batch)
        present = set(batch.field_names())
        targets: dict[Target, int] = {}
        found: list[dict[str, str]] = []
        rows: np.ndarray[Any, Any] | None = None  # per row: index into `found`, -1 unresolved
        pids: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None
        for assoc in self.config.associations:
            if assoc.field not in present or n == 0:
                continue
            column = batch.column(assoc.field)
            pending = None if rows is None else np.flatnonzero(rows < 0)
            if pending is not None and len(pending) == 0:
                break
            keys, inverse = distinct(column if pending is None else column[pending])
            if pending is None and assoc.source == "pid":
                pids = (keys, inverse)
            codes = np.fromiter(
                (self._code(assoc.source, key, targets, found) for key in keys.tolist()), np.int32, len(keys)
            )
            if rows is None:
                rows = codes[inverse]
            else:
                rows[pending] = codes[inverse]

        coded: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
        if rows is not None:
            # The core columns are always there (empty for unresolved rows), so a batch's
            # shape does not depend on what happened to resolve; the rest when some row has them.
            names = [
                name
                for name in dict.fromkeys([*self._core_columns, *(name for attrs in found for name in attrs)])
                if self._wanted(name)
            ]
            for name in names:
                # One slot per resolved target plus a last one for unresolved rows (index -1).
                values = np.array([attrs.get(name, "") for attrs in found] + [""], dtype=object)
                uniq, slot = np.unique(values, return_inverse=True)
                coded[name] = (slot.astype(np.int32)[rows], uniq)
            with_pod = np.array(["k8s.pod.uid" in attrs for attrs in found] + [False])
            enriched = int(np.count_nonzero(with_pod[rows]))
        else:
            enriched = 0
        if self.config.process_attributes:
            coded.update((k, v) for k, v in self._process_columns(batch, present, pids).items() if self._wanted(k))
        self._enriched.add(enriched, **self._labels)
        self._unenriched.add(n - enriched, **self._labels)
        out = batch.with_columns(coded)
        for key, value in self._resource.items():
            out.resource.setdefault(key, value)
        return out

    def _wanted(self, name: str) -> bool:
        chosen = self.config.attributes
        return chosen is None or name in chosen or name.startswith(("k8s.pod.label.", "k8s.pod.annotation."))

    def _code(self, source: KeySource, key: object, targets: dict[Target, int], found: list[dict[str, str]]) -> int:
        target = self.resolver.target(source, key)
        code = targets.get(target)
        if code is None:
            attrs = self.resolver.attributes(target)
            code = -1
            if attrs is not None:
                code = len(found)
                found.append(attrs)
            targets[target] = code
        return code

    def _process_columns(
        self,
        batch: EventBatch,
        present: set[str],
        pids: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None,
    ) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
        """process.pid and process.executable.name from the first pid field of the batch."""
        field = next((a.field for a in self.config.associations if a.source == "pid" and a.field in present), None)
        if field is None or len(batch) == 0:
            return {}
        keys, inverse = pids if pids is not None else distinct(batch.column(field))
        exes = [self.resolver.executable(int(pid)) or "" for pid in keys.tolist()]
        uniq, slot = np.unique(np.array(exes, dtype=object), return_inverse=True)
        return {
            "process.pid": (inverse, keys.astype(np.int64)),
            "process.executable.name": (slot.astype(np.int32)[inverse], uniq),
        }

    def enrich_metrics(self, batch: MetricBatch) -> MetricBatch:
        """Returns a new batch; points gain attributes (a point's own attributes win).
        Each distinct key value is resolved once per batch."""
        cache: dict[tuple[str, AttrValue], dict[str, str] | None] = {}
        enriched = unenriched = 0
        metrics: list[Metric] = []
        for metric in batch.metrics:
            points = []
            for point in metric.points:
                found = self._point_lookup(point.attributes, cache)
                if found is not None and "k8s.pod.uid" in found:
                    enriched += 1
                else:
                    unenriched += 1
                extra: dict[str, AttrValue] = {k: v for k, v in (found or {}).items() if self._wanted(k)}
                if self.config.process_attributes:
                    extra.update(self._process_attributes(point.attributes))
                if extra:
                    point = dataclasses.replace(point, attributes={**extra, **point.attributes})
                points.append(point)
            metrics.append(dataclasses.replace(metric, points=points))
        self._enriched.add(enriched, **self._labels)
        self._unenriched.add(unenriched, **self._labels)
        resource = dict(batch.resource)
        for key, value in self._resource.items():
            resource.setdefault(key, value)
        return MetricBatch(metrics, resource, batch.scope)

    def _point_lookup(
        self, attributes: Mapping[str, AttrValue], cache: dict[tuple[str, AttrValue], dict[str, str] | None]
    ) -> dict[str, str] | None:
        """The first association whose attribute the point carries and that resolves."""
        for assoc in self.config.associations:
            value = attributes.get(assoc.field)
            if value is None:
                continue
            key = (assoc.field, value)
            if key not in cache:
                number = _as_int(value) if assoc.source in _INT_SOURCES else None
                if assoc.source in _INT_SOURCES and number is None:
                    cache[key] = None
                else:
                    target = self.resolver.target(assoc.source, value if number is None else number)
                    cache[key] = self.resolver.attributes(target)
            if cache[key] is not None:
                return cache[key]
        return None

    def _process_attributes(self, attributes: Mapping[str, AttrValue]) -> dict[str, AttrValue]:
        field = next((a.field for a in self.config.associations if a.source == "pid" and a.field in attributes), None)
        pid = _as_int(attributes[field]) if field else None
        if pid is None or pid <= 0:
            return {}
        extra: dict[str, AttrValue] = {}
        if self._wanted("process.pid"):
            extra["process.pid"] = pid
        exe = self.resolver.executable(pid)
        if exe and self._wanted("process.executable.name"):
            extra["process.executable.name"] = exe
        return extra


def distinct(column: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(distinct keys, index of each row's key): numpy.unique with return_inverse, or,
    for small non-negative integers such as pids (pid_max <= 2**22), a dense lookup
    table that does the same without sorting a million rows."""
    if column.dtype.kind in "ui" and column.dtype.itemsize <= 4 and len(column) > 65536:
        low, high = int(column.min()), int(column.max())
        if low >= 0 and high < 1 << 23:
            present = np.zeros(high + 1, np.bool_)
            present[column] = True
            keys = np.flatnonzero(present).astype(column.dtype)
            table = np.empty(high + 1, np.int32)
            table[keys] = np.arange(len(keys), dtype=np.int32)
            return keys, table[column]
    keys, inverse = np.unique(column, return_inverse=True)
    return keys, inverse.reshape(-1)


def _as_int(value: AttrValue) -> int | None:
    with contextlib.suppress(TypeError, ValueError):
        return int(value)
    return None

"""k8s_metadata throughput: 1 million events per batch from 5 000 processes in
1 000 pods, enriched column-wise, against the per-event path (one dict lookup and
one attribute dict per event) measured in the same run.

    .venv/bin/python -m bench.k8s_metadata [--events N] [--pods N] [--processes N]

`build_enricher()` is the recipe other benchmarks use: a processor whose pod store
is filled directly and whose /proc is a generated tree, so no cluster and no
thousands of real processes are needed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from typing import Any

import numpy as np

from collector.component import ComponentContext, ComponentId
from collector.model import EventBatch
from collector.telemetry import Telemetry
from processors.k8s_metadata import factory
from processors.k8s_metadata.pods import pod_from_object
from processors.k8s_metadata.processor import K8sMetadataProcessor

EVENT_DTYPE = np.dtype([("ts", np.uint64), ("pid", np.uint32), ("cgroup_id", np.uint64), ("comm", "S16")])


def _fake_proc(root: str, pids: np.ndarray[Any, Any], cgroups: list[str]) -> None:
    """/proc/<pid>/{stat,cgroup,comm} for each pid, as the kernel writes them."""
    for pid, cgroup in zip(pids.tolist(), cgroups, strict=True):
        d = os.path.join(root, str(pid))
        os.mkdir(d)
        with open(os.path.join(d, "stat"), "w") as f:
            f.write(f"{pid} (worker) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {1000 + pid} 0 0\n")
        with open(os.path.join(d, "cgroup"), "w") as f:
            f.write(f"0::{cgroup}\n")
        with open(os.path.join(d, "comm"), "w") as f:
            f.write(f"worker-{pid % 97}\n")


def build_enricher(
    pods: int = 1000, processes: int = 5000, proc_root: str | None = None
) -> tuple[K8sMetadataProcessor, np.ndarray[Any, Any]]:
    """A k8s_metadata processor (associations: pid) knowing `pods` pods whose containers
    hold `processes` processes; returns it and the pids. Call inside a running loop."""
    proc_root = proc_root or tempfile.mkdtemp(prefix="bench-proc-")
    config = factory.config_model.model_validate({"auth": "none", "associations": [{"source": "pid"}]})
    processor = factory.create(config, ComponentContext(ComponentId("k8s_metadata"), "processor", Telemetry()))
    assert isinstance(processor, K8sMetadataProcessor)
    rng = np.random.default_rng(1)
    pids = rng.choice(np.arange(1000, 4_000_000, dtype=np.uint32), processes, replace=False)
    cgroups = []
    containers = []
    for i in range(pods):
        uid, cid = str(uuid.UUID(int=i + 1)), f"{i + 1:064x}"
        containers.append((uid, cid))
        owner = {"kind": "ReplicaSet", "name": f"svc-{i // 10}-5d8f7c9b4", "controller": True}
        processor.store.upsert(
            pod_from_object(
                {
                    "metadata": {
                        "name": f"svc-{i // 10}-5d8f7c9b4-{i:05d}",
                        "namespace": f"ns-{i % 20}",
                        "uid": uid,
                        "labels": {"pod-template-hash": "5d8f7c9b4", "app": f"svc-{i // 10}"},
                        "ownerReferences": [owner],
                    },
                    "spec": {"nodeName": "node-a"},
                    "status": {"containerStatuses": [{"name": "app", "containerID": f"containerd://{cid}"}]},
                },
                labels=["app"],
                annotations=[],
            )
        )
    for p in range(processes):
        uid, cid = containers[p % pods]
        cgroups.append(
            "/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope"
        )
    _fake_proc(proc_root, pids, cgroups)
    processor.resolver.proc = proc_root
    processor.resolver.process_ttl = 3600.0  # a benchmark run is one TTL window
    return processor, pids


def make_events(pids: np.ndarray[Any, Any], n: int, seed: int = 2) -> EventBatch:
    rng = np.random.default_rng(seed)
    records = np.zeros(n, EVENT_DTYPE)
    records["ts"] = np.arange(n, dtype=np.uint64)
    records["pid"] = pids[rng.integers(0, len(pids), n)]
    records["comm"] = b"worker"
    return EventBatch("bench", records, time.time_ns())


def per_event_baseline(processor: K8sMetadataProcessor, batch: EventBatch) -> float:
    """The path without columns: for each event, look its pid up in a dict of
    already-resolved attributes and build the event's attribute dict."""
    by_pid: dict[int, dict[str, str]] = {}
    for pid in np.unique(batch.column("pid")).tolist():
        attrs = processor.resolver.attributes(processor.resolver.target("pid", pid)) or {}
        by_pid[pid] = attrs
    start = time.perf_counter()
    out = []
    for pid in batch.column("pid").tolist():
        out.append({"pid": pid, **by_pid[pid]})
    return time.perf_counter() - start


def _line(label: str, seconds: float, events: int) -> str:
    return f"  {label:<44} {seconds * 1e3:8.1f} ms  {events / seconds / 1e6:6.2f} M events/s"


def _warm(processor: K8sMetadataProcessor, batch: EventBatch, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        processor.enrich_events(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _filter_time(config: dict[str, Any], batch: EventBatch, rounds: int) -> float:
    from processors.filter import factory as filter_factory
    from processors.filter.processor import FilterProcessor

    cfg = filter_factory.config_model.model_validate(config)
    proc = filter_factory.create(cfg, ComponentContext(ComponentId("filter"), "processor", Telemetry()))
    assert isinstance(proc, FilterProcessor)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        proc.filter_events(batch)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.events

    with tempfile.TemporaryDirectory(prefix="bench-proc-") as root:
        processor, pids = build_enricher(args.pods, args.processes, root)
        batch = make_events(pids, n)
        start = time.perf_counter()
        out = processor.enrich_events(batch)  # cold: every pid read from /proc once
        cold = time.perf_counter() - start
        assert out.column("k8s.pod.name")[0] != ""
        warm = _warm(processor, batch, args.rounds)
        few = ["k8s.namespace.name", "k8s.pod.name", "k8s.container.name"]
        processor.config = processor.config.model_copy(update={"attributes": few})
        warm_few = _warm(processor, batch, args.rounds)
        base = per_event_baseline(processor, batch)
        filters = {
            "filter k8s.namespace.name == ns-3 (coded)": {"include": {"k8s.namespace.name": "ns-3"}},
            "filter comm in [worker] (C string column)": {"include": {"comm": ["worker"]}},
            "filter comm regex ^work (C string column)": {"include": {"comm": {"regex": "^work"}}},
        }
        filter_times = {label: _filter_time(cfg, out, args.rounds) for label, cfg in filters.items()}
        print(f"k8s_metadata: {n:,} events/batch, {args.processes:,} processes, {args.pods:,} pods, one core")
        print(f"  all attributes: {len(out.columns)} columns ({', '.join(sorted(out.columns))})")
        print(_line("cold batch (each pid read from /proc once)", cold, n))
        print(_line(f"warm batch, all attributes (median of {args.rounds})", warm, n))
        print(_line("warm batch, namespace+pod+container only", warm_few, n))
        print(_line("baseline: per-event dict lookup + merge", base, n))
        print(f"  column-wise / per-event: {base / warm:.1f}x (all attributes), {base / warm_few:.1f}x (three)")
        for label, seconds in filter_times.items():
            print(_line(label, seconds, n))
        await processor.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

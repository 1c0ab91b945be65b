"""User scenarios with Kubernetes pods, run as shipped: the collector is a
subprocess reading the example YAML, the kernel is real (built-in eBPF event
programs), pods come from the in-test API server and their containers are real
cgroups with processes in them; Prometheus is scraped like a user would."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.cgroup_lab import CgroupLab
from tests.cgroup_lab import container_id as _hex
from tests.conftest import ROOT, free_port
from tests.k8s_api import FakeKubeApi, make_pod

EXAMPLES = ROOT / "configs" / "examples"
NODE = "node-a"

pytestmark = pytest.mark.usefixtures("bpf")


def add_pod(api: FakeKubeApi, lab: CgroupLab, name: str, namespace: str, container: str) -> str:
    """A pod with one container whose cgroup exists (containerd, cgroupfs driver); returns its path."""
    uid, cid = str(uuid.uuid4()), _hex()
    api.add(make_pod(name, namespace, NODE, uid=uid, containers={container: cid}))
    path, _ = lab.cgroup(f"/kubepods/besteffort/pod{uid}/{cid}")
    return lab.v2 + path


def in_cgroup(cgroup: str) -> Callable[[], None]:
    """preexec_fn: the child joins the cgroup before it execs, so its exec happens inside."""

    def join() -> None:
        Path(cgroup, "cgroup.procs").write_text("0")

    return join


class Collector:
    """`ebpf-collector run -c <example>` with a kubeconfig for the API server and a free Prometheus port."""

    def __init__(self, example: Path, api: FakeKubeApi, tmp_path: Path, **env: str) -> None:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(api.kubeconfig(token="s3cret"))
        self.port = free_port()
        self.output = tmp_path / "collector.out"
        self.env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "KUBE_NODE_NAME": NODE,
            "PROMETHEUS_ENDPOINT": f"127.0.0.1:{self.port}",
            **env,
        }
        self.env.pop("KUBERNETES_SERVICE_HOST", None)
        self.example = example
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Collector:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "collector", "run", "-c", str(self.example),
            env=self.env, stdout=self.output.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        await self.until(lambda: "running;" in self.output.read_text(), "the collector to start")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.proc.wait(), 30)
        assert self.proc.returncode == 0, self.output.read_text()

    async def until(self, predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
        """Poll until predicate() is truthy; the deadline bounds a failing test, nothing is timed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            assert self.proc is not None
            if self.proc.returncode is not None:
                pytest.fail(f"collector exited: {self.output.read_text()}")
            value = await asyncio.to_thread(predicate)
            if value:
                return value
            if loop.time() > deadline:
                pytest.fail(f"timed out waiting for {what}; collector said:\n{self.output.read_text()}")
            await asyncio.sleep(0.1)

    def samples(self) -> list[Sample]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        return [s for family in text_string_to_metric_families(text) for s in family.samples]


# -- scenario 7: exec events per pod and container, namespace `default` only ----------


async def test_gadget_exec_per_pod_counts_default_namespace_only(
    api: FakeKubeApi, lab: CgroupLab, tmp_path: Path
) -> None:
    web = add_pod(api, lab, "web-1", "default", "nginx")
    other = add_pod(api, lab, "batch-1", "jobs", "worker")
    n, m = 7, 5
    async with Collector(EXAMPLES / "gadget-exec-per-pod.yaml", api, tmp_path, GADGET_INTERVAL="200ms") as c:
        # exactly one exec per child, and each happens inside the pod's cgroup
        for cgroup, count in ((web, n), (other, m)):
            for _ in range(count):
                await asyncio.to_thread(subprocess.run, ["/bin/true"], check=True, preexec_fn=in_cgroup(cgroup))

        def web_count() -> float | None:
            found = [s for s in c.samples() if s.name == "gadget_exec_total" and s.labels["k8s_pod_name"] == "web-1"]
            return found[0].value if found and found[0].value >= n else None

        assert await c.until(web_count, f"gadget_exec_total for web-1 to reach {n}") == n
        await asyncio.sleep(0.5)  # a few more aggregation intervals: the count stays exact
        exec_samples = [s for s in c.samples() if s.name == "gadget_exec_total"]
    web_samples = [s for s in exec_samples if s.labels.get("k8s_pod_name") == "web-1"]
    assert [(s.labels, s.value) for s in web_samples] == [
        ({"k8s_namespace_name": "default", "k8s_pod_name": "web-1", "k8s_container_name": "nginx"}, n)
    ]
    # the other namespace is filtered out, and so is everything outside a pod (no namespace)
    assert {s.labels.get("k8s_namespace_name") for s in exec_samples} == {"default"}


# -- scenario 2: run-queue latency of the service's pods ------------------------------

SPIN = ["sh", "-c", "while :; do :; done"]


async def test_runqlat_per_pod_summary_and_histogram_for_the_selected_pods(
    api: FakeKubeApi, lab: CgroupLab, tmp_path: Path
) -> None:
    def pod(name: str, namespace: str, app: str) -> str:
        uid, cid = str(uuid.uuid4()), _hex()
        api.add(make_pod(name, namespace, NODE, uid=uid, containers={"api": cid}, labels={"app": app}))
        path, _ = lab.cgroup(f"/kubepods/burstable/pod{uid}/{cid}")
        return lab.v2 + path

    selected = {"api-1": pod("api-1", "shop", "triangle-api"), "api-2": pod("api-2", "shop", "triangle-api")}
    others = [pod("db-0", "shop", "db"), pod("api-x", "staging", "triangle-api")]  # wrong label; wrong namespace
    env = {"RUNQLAT_INTERVAL": "200ms", "RUNQLAT_NAMESPACE": "shop", "RUNQLAT_APP": "triangle-api"}
    async with Collector(EXAMPLES / "runqlat-per-pod.yaml", api, tmp_path, **env) as c:
        # replicas competing for the CPUs: more spinners than cores, in every pod
        per_pod = (os.cpu_count() or 1) // 2 + 1
        spinners = [
            subprocess.Popen(SPIN, preexec_fn=in_cgroup(cgroup))
            for cgroup in [*selected.values(), *others]
            for _ in range(per_pod)
        ]
        try:

            def measured() -> list[Sample] | None:
                """A scrape where both selected pods waited in the last window (quantiles
                of a window without waits are NaN, as Prometheus summaries report them)."""
                samples = c.samples()
                pods = {
                    s.labels.get("k8s_pod_name")
                    for s in samples
                    if s.name == "triangle_corp_runq_microseconds" and not math.isnan(s.value)
                }
                return samples if pods >= set(selected) else None

            samples = await c.until(measured, "run-queue summaries of both selected pods")
        finally:
            for p in spinners:
                p.kill()
                p.wait()

    runq = [s for s in samples if s.name.startswith("triangle_corp_runq")]
    assert {(s.labels["k8s_namespace_name"], s.labels["k8s_pod_name"]) for s in runq} == {
        ("shop", "api-1"),
        ("shop", "api-2"),
    }  # db-0 (label), api-x (namespace) and everything outside a pod are filtered out
    for name in selected:

        def of(metric: str, name: str = name) -> list[Sample]:
            return [s for s in runq if s.name == metric and s.labels["k8s_pod_name"] == name]

        # quantiles describe the last aggregation window, _sum and _count every wait so far
        quantiles = {float(s.labels["quantile"]): s.value for s in of("triangle_corp_runq_microseconds")}
        assert sorted(quantiles) == [0.0, 0.25, 0.5, 1.0]
        assert 0 < quantiles[0.0] <= quantiles[0.25] <= quantiles[0.5] <= quantiles[1.0]
        [count] = [s.value for s in of("triangle_corp_runq_microseconds_count")]
        [total] = [s.value for s in of("triangle_corp_runq_microseconds_sum")]
        assert count >= 1 and total > 0
        # spinners preempted by each other wait about a scheduler slice: ms, not ns
        assert quantiles[1.0] > 100

        # the histogram counted the same waits: same count and sum, and every
        # quantile and the mean lie within its occupied buckets
        buckets = sorted((float(s.labels["le"]), s.value) for s in of("triangle_corp_runq_latency_microseconds_bucket"))
        bounds, cumulative = [le for le, _ in buckets], [v for _, v in buckets]
        assert bounds[-1] == float("inf") and cumulative == sorted(cumulative)
        [h_count] = [s.value for s in of("triangle_corp_runq_latency_microseconds_count")]
        [h_sum] = [s.value for s in of("triangle_corp_runq_latency_microseconds_sum")]
        assert h_count == cumulative[-1] == count
        assert h_sum == pytest.approx(total, rel=1e-6)
        first = next(i for i, v in enumerate(cumulative) if v > 0)
        last = next(i for i, v in enumerate(cumulative) if v == count)
        low, high = (bounds[first - 1] if first else 0.0), bounds[last]
        assert low <= quantiles[0.0] and quantiles[1.0] <= high
        assert low <= total / count <= high

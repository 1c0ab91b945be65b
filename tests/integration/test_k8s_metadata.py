"""k8s_metadata end to end: the real kubernetes_asyncio client against an in-test API
server (list/watch, bookmarks, 410 Gone), and real processes in real cgroups named
the way containerd and CRI-O name them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from collector.component import ComponentContext, ComponentId
from collector.model import Data, EventBatch, Metric, MetricBatch, MetricKind, NumberPoint
from collector.telemetry import Telemetry
from processors.k8s_metadata import factory
from processors.k8s_metadata.cgroups import CgroupPaths
from processors.k8s_metadata.processor import K8sMetadataProcessor
from tests.cgroup_lab import CgroupLab
from tests.cgroup_lab import container_id as _hex
from tests.conftest import free_port, unavailable
from tests.k8s_api import FakeKubeApi, _true, make_pod

NODE = "node-a"


class Sink:
    def __init__(self) -> None:
        self.items: list[Data] = []

    async def consume(self, data: Data) -> None:
        self.items.append(data)


def make_processor(
    config: dict[str, Any], telemetry: Telemetry | None = None
) -> tuple[K8sMetadataProcessor, Sink, Telemetry]:
    telemetry = telemetry or Telemetry()
    cfg = factory.config_model.model_validate(config)
    proc = factory.create(cfg, ComponentContext(ComponentId("k8s_metadata"), "processor", telemetry))
    assert isinstance(proc, K8sMetadataProcessor)
    sink = Sink()
    proc.next = sink
    return proc, sink, telemetry


def kube_config(api: FakeKubeApi, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    path = tmp_path / "kubeconfig"
    path.write_text(api.kubeconfig(token="s3cret"))
    return {"auth": "kubeconfig", "kubeconfig": str(path), "node_name": NODE, "max_backoff": 0.2, **extra}


async def eventually(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll until true; the deadline only bounds a failing test, nothing is timed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def events(**columns: list[Any]) -> EventBatch:
    """An event batch with the given kernel fields (pid u32, cgroup_id u64, comm S16)."""
    dtypes = {"pid": np.uint32, "cgroup_id": np.uint64, "comm": "S16"}
    names = list(columns)
    n = len(columns[names[0]])
    records = np.zeros(n, dtype=[(name, dtypes[name]) for name in names])
    for name in names:
        records[name] = columns[name]
    return EventBatch("test", records, 0)


def col(batch: EventBatch, name: str) -> list[Any]:
    return batch.column(name).tolist()


async def test_events_enriched_by_pid_and_cgroup_id_in_containerd_and_crio_cgroups(
    api: FakeKubeApi, lab: CgroupLab, tmp_path: Path
) -> None:
    shop_uid, db_uid, other_uid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    web_cid, db_cid, other_cid = _hex(), _hex(), _hex()
    api.add(
        make_pod(
            "shop-api-7d4b9c8f5d-x2x9q",
            "shop",
            NODE,
            uid=shop_uid,
            containers={"web": web_cid},
            owner=("ReplicaSet", "shop-api-7d4b9c8f5d"),
            labels={"app": "shop-api", "pod-template-hash": "7d4b9c8f5d", "secret": "no"},
            annotations={"team": "payments"},
        )
    )
    api.add(make_pod("db-0", "shop", NODE, uid=db_uid, containers={"postgres": db_cid}, owner=("StatefulSet", "db")))
    # the same kind of pod on another node: the field selector must keep it out
    api.add(make_pod("elsewhere", "shop", "node-b", uid=other_uid, containers={"c": other_cid}))

    # containerd + systemd driver (cgroup v2); CRI-O + cgroupfs driver (cgroup v2)
    web_cg, web_id = lab.cgroup(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        f"{shop_uid.replace('-', '_')}.slice/cri-containerd-{web_cid}.scope"
    )
    db_cg, _db_id = lab.cgroup(f"/kubepods/besteffort/pod{db_uid}/crio-{db_cid}")
    _other_cg, other_id = lab.cgroup(f"/kubepods/besteffort/pod{other_uid}/{other_cid}")
    web = lab.spawn((lab.v2, web_cg))
    db = lab.spawn((lab.v2, db_cg))
    host_proc = lab.spawn()  # not in any container

    proc, sink, telemetry = make_processor(kube_config(api, tmp_path, labels=["app"], annotations=["team"]))
    await proc.start()
    try:
        assert api.requests[0].authorization == "Bearer s3cret"  # the kubeconfig's credentials were used
        assert {r.query.get("fieldSelector") for r in api.requests} == {f"spec.nodeName={NODE}"}
        assert len(proc.store) == 2

        batch = events(
            pid=[web.pid, db.pid, web.pid, host_proc.pid, 999_999_999 % 2**22, web.pid],
            cgroup_id=[0, 0, web_id, 0, other_id, 0],
        )
        await proc.consume(batch)
        out = sink.items[0]
        assert isinstance(out, EventBatch)
        assert "k8s.pod.name" not in batch.extra_names()  # the receiver's batch is not modified
        assert col(out, "k8s.pod.name") == [
            "shop-api-7d4b9c8f5d-x2x9q",
            "db-0",
            "shop-api-7d4b9c8f5d-x2x9q",
            "",
            "",
            "shop-api-7d4b9c8f5d-x2x9q",
        ]
        assert col(out, "k8s.namespace.name") == ["shop", "shop", "shop", "", "", "shop"]
        assert col(out, "k8s.container.name") == ["web", "postgres", "web", "", "", "web"]
        assert col(out, "container.id") == [web_cid, db_cid, web_cid, "", other_cid, web_cid]
        assert col(out, "k8s.pod.uid")[:2] == [shop_uid, db_uid]
        assert col(out, "k8s.deployment.name")[:2] == ["shop-api", ""]
        assert col(out, "k8s.replicaset.name")[0] == "shop-api-7d4b9c8f5d"
        assert col(out, "k8s.statefulset.name")[:2] == ["", "db"]
        assert col(out, "k8s.pod.label.app")[0] == "shop-api"
        assert col(out, "k8s.pod.annotation.team")[0] == "payments"
        assert "k8s.pod.label.secret" not in out.extra_names()
        assert col(out, "process.pid")[0] == web.pid
        assert col(out, "process.executable.name")[:2] == ["sleep", "sleep"]
        assert out.resource["k8s.node.name"] == NODE and out.resource["host.name"]
        # dictionary encoding: distinct values once, integer codes per row
        codes, values = out.factorize("k8s.pod.name")
        assert sorted(values.tolist()) == ["", "db-0", "shop-api-7d4b9c8f5d-x2x9q"]
        assert values[codes].tolist() == col(out, "k8s.pod.name")
        # rows by cgroup id are resolved before pid (default order): the other-node
        # container is known by id only, the unknown pid stays unenriched
        assert telemetry.counter("k8s_metadata_enriched_items", "").value(processor="k8s_metadata") == 4
        assert telemetry.counter("k8s_metadata_unenriched_items", "").value(processor="k8s_metadata") == 2
        own = {
            m.name: {tuple(sorted(p.attributes.items())): p.value for p in m.points}
            for m in telemetry.collect().metrics
        }
        labels = (("processor", "k8s_metadata"),)
        assert own["ebpf_collector_k8s_metadata_pods"][labels] == 2
        assert own["ebpf_collector_k8s_metadata_api_connected"][labels] == 1
        caches = own["ebpf_collector_k8s_metadata_cache_entries"]
        assert caches[(("cache", "process"), *labels)] == 4  # web, db, host process, the unknown pid
        assert caches[(("cache", "cgroup"), *labels)] == 2  # looked up once per distinct id
    finally:
        await proc.shutdown()
        await proc.shutdown()  # idempotent


async def test_cgroup_v1_path_resolves_through_proc(lab: CgroupLab) -> None:
    if lab.v1 is None:
        unavailable("a cgroup v1 memory hierarchy (this machine kind has one; v1 lines are also unit tested)")
    cid, uid = _hex(), str(uuid.uuid4())
    v1_path, _ = lab.cgroup(f"/kubepods/burstable/pod{uid}/{cid}", mount=lab.v1)
    p = lab.spawn((lab.v1, v1_path))
    proc, sink, _ = make_processor({"auth": "none", "associations": [{"source": "pid"}]})
    await proc.start()
    try:
        await proc.consume(events(pid=[p.pid]))
        out = sink.items[0]
        assert isinstance(out, EventBatch)
        assert col(out, "container.id") == [cid]
        assert "k8s.pod.name" not in out.extra_names()  # no API: only what the node knows
        assert "k8s.node.name" not in out.resource and out.resource["host.name"]
    finally:
        await proc.shutdown()


async def test_watch_follows_changes_and_announces_deleted_pods(
    api: FakeKubeApi, lab: CgroupLab, tmp_path: Path
) -> None:
    proc, sink, _ = make_processor(kube_config(api, tmp_path, labels=["version"], grace_period=3600))
    gone: list[tuple[str, object]] = []
    proc.ctx.notices.on_gone(lambda attribute, value: gone.append((attribute, value)))
    await proc.start()
    try:
        assert len(proc.store) == 0
        uid, cid = str(uuid.uuid4()), _hex()
        _cg, cg_id = lab.cgroup(f"/kubepods.slice/kubepods-pod{uid.replace('-', '_')}.slice/cri-containerd-{cid}.scope")
        pod = api.add(make_pod("late", "default", NODE, uid=uid, containers={"app": cid}, labels={"version": "1"}))
        await eventually(lambda: proc.store.get(uid) is not None, "ADDED pod in the store")

        await proc.consume(events(cgroup_id=[cg_id]))
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "k8s.pod.name") == ["late"] and col(out, "k8s.pod.label.version") == ["1"]

        pod["metadata"]["labels"]["version"] = "2"
        api.modify(pod)
        await eventually(lambda: proc.store.get(uid).attributes.get("k8s.pod.label.version") == "2", "MODIFIED")  # type: ignore[union-attr]
        await proc.consume(events(cgroup_id=[cg_id]))
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "k8s.pod.label.version") == ["2"]

        api.delete(pod)
        await eventually(lambda: any(a == "k8s.pod.uid" for a, _ in gone), "pod gone announcement")
        assert ("k8s.pod.uid", uid) in gone
        # late events of the deleted pod still resolve during the grace period
        await proc.consume(events(cgroup_id=[cg_id]))
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "k8s.pod.name") == ["late"]
        # and never from a pod on another node
        assert all(r.query.get("fieldSelector") == f"spec.nodeName={NODE}" for r in api.requests)
        assert all(_true(r.query.get("allowWatchBookmarks")) for r in api.watches())
    finally:
        await proc.shutdown()


async def test_bookmark_resumes_watch_from_its_version_and_410_relists(api: FakeKubeApi, tmp_path: Path) -> None:
    proc, _, telemetry = make_processor(kube_config(api, tmp_path))
    await proc.start()
    try:
        await eventually(lambda: len(api.watches()) == 1, "first watch")
        api.bookmark()
        bookmark_rv = str(api.rv)
        await eventually(lambda: proc.watcher is not None and proc.watcher.resource_version == bookmark_rv, "bookmark")
        api.end_watches()  # the server's watch timeout
        await eventually(lambda: len(api.watches()) == 2, "resumed watch")
        assert api.watches()[1].query["resourceVersion"] == bookmark_rv
        assert len(api.lists()) == 1  # a normal end resumes, it does not list again

        # While no watch is open, a pod is added and history is compacted:
        # the next watch gets 410 Gone and the processor lists again.
        missed = make_pod("missed", "default", NODE, containers={"c": _hex()})
        api.page_size_cap = 1  # and the re-list comes in pages
        api.add(make_pod("first", "default", NODE))
        api.compact()
        api.end_watches()
        api.add(missed)
        await eventually(lambda: proc.store.get(missed["metadata"]["uid"]) is not None, "relisted pod")
        assert len(api.lists()) >= 3  # the first list, then the paged re-list (2 pages)
        assert (
            telemetry.counter("k8s_metadata_watch_events", "").value(event="relist_410", processor="k8s_metadata") >= 1
        )
    finally:
        await proc.shutdown()


async def test_api_down_data_flows_unenriched_then_enrichment_resumes(lab: CgroupLab, tmp_path: Path) -> None:
    port = free_port()
    api = FakeKubeApi(token="s3cret")
    api.port = port
    uid, cid = str(uuid.uuid4()), _hex()
    api.add(make_pod("api-down", "shop", NODE, uid=uid, containers={"app": cid}))
    cg, cg_id = lab.cgroup(f"/kubepods/pod{uid}/{cid}")
    p = lab.spawn((lab.v2, cg))

    proc, sink, telemetry = make_processor(kube_config(api, tmp_path, wait_for_sync=0.2))
    await proc.start()  # the API server is down: start does not fail
    try:
        await proc.consume(events(pid=[p.pid, p.pid]))
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "k8s.pod.name") == ["", ""] and col(out, "container.id") == [cid, cid]
        assert telemetry.counter("k8s_metadata_unenriched_items", "").value(processor="k8s_metadata") == 2

        await api.start(port)  # it comes back
        await eventually(lambda: proc.store.get(uid) is not None, "pods listed after the API server came back")
        await proc.consume(events(cgroup_id=[cg_id]))
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "k8s.pod.name") == ["api-down"]

        await api.stop()  # down again: what is known keeps enriching
        await eventually(lambda: proc.watcher is not None and not proc.watcher.connected, "watch failure noticed")
        await proc.consume(events(cgroup_id=[cg_id]))
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "k8s.pod.name") == ["api-down"]
        assert telemetry.counter("k8s_metadata_watch_events", "").value(event="error", processor="k8s_metadata") >= 2
    finally:
        await proc.shutdown()
        await api.stop()


async def test_wrong_token_is_reported_and_data_still_flows(api: FakeKubeApi, tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(api.kubeconfig(token="wrong"))
    proc, sink, _telemetry = make_processor(
        {"auth": "kubeconfig", "kubeconfig": str(path), "node_name": NODE, "wait_for_sync": 0.1}
    )
    await proc.start()
    try:
        await eventually(lambda: proc.watcher is not None and "401" in proc.watcher.last_error, "401 reported")
        await proc.consume(events(pid=[os.getpid()]))
        assert len(sink.items) == 1 and len(sink.items[0]) == 1
    finally:
        await proc.shutdown()


async def test_outside_kubernetes_adds_host_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    proc, sink, _ = make_processor({})  # auto: no service account, no kubeconfig
    await proc.start()
    try:
        assert proc.watcher is None
        await proc.consume(events(pid=[os.getpid()], comm=[b"python"]))
        out = sink.items[0]
        assert isinstance(out, EventBatch)
        assert out.resource["host.name"] == os.uname().nodename
        assert col(out, "process.executable.name")[0].startswith("python")
    finally:
        await proc.shutdown()


async def test_bad_kubeconfig_is_a_clear_start_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n")
    proc, _, _ = make_processor({"auth": "kubeconfig", "kubeconfig": str(path)})
    from collector.component import ComponentError

    with pytest.raises(ComponentError, match=str(path)):
        await proc.start()
    await proc.shutdown()


async def test_metric_points_enriched_by_their_attributes(api: FakeKubeApi, lab: CgroupLab, tmp_path: Path) -> None:
    uid, cid = str(uuid.uuid4()), _hex()
    api.add(make_pod("metrics-pod", "shop", NODE, uid=uid, containers={"app": cid}, owner=("DaemonSet", "agent")))
    cg, _ = lab.cgroup(f"/kubepods.slice/kubepods-pod{uid.replace('-', '_')}.slice/crio-{cid}.scope")
    p = lab.spawn((lab.v2, cg))
    proc, sink, _ = make_processor(kube_config(api, tmp_path))
    await proc.start()
    try:
        points = [
            NumberPoint({"pid": p.pid}, 3, 0, 1),
            NumberPoint({"pid": str(p.pid), "k8s.pod.name": "kept"}, 1, 0, 1),  # a point's own attributes win
            NumberPoint({"cgroup": cg}, 2, 0, 1),
            NumberPoint({"container_id": f"cri-o://{cid}"}, 4, 0, 1),
            NumberPoint({"other": "x"}, 5, 0, 1),
        ]
        batch = MetricBatch([Metric("calls", MetricKind.SUM, list(points), monotonic=True)])
        await proc.consume(batch)
        out = sink.items[0]
        assert isinstance(out, MetricBatch)
        got = [dict(pt.attributes) for pt in out.metrics[0].points]
        assert got[0]["k8s.pod.name"] == "metrics-pod" and got[0]["k8s.daemonset.name"] == "agent"
        assert got[0]["process.pid"] == p.pid and got[0]["process.executable.name"] == "sleep"
        assert got[1]["k8s.pod.name"] == "kept" and got[1]["k8s.container.name"] == "app"
        assert (
            got[2]["k8s.pod.uid"] == uid and got[3]["container.id"] == cid and got[3]["k8s.pod.name"] == "metrics-pod"
        )
        assert got[4] == {"other": "x"}
        assert dict(batch.metrics[0].points[0].attributes) == {"pid": p.pid}  # input untouched
        assert out.resource["k8s.node.name"] == NODE
    finally:
        await proc.shutdown()


async def test_exited_process_is_announced_and_kept_for_its_grace_period(lab: CgroupLab) -> None:
    cid = _hex()
    cg, _ = lab.cgroup(f"/kubepods/besteffort/pod{uuid.uuid4()}/{cid}")
    p = lab.spawn((lab.v2, cg))
    proc, sink, _ = make_processor({"auth": "none", "grace_period": 3600, "process_ttl": 3600})
    gone: list[tuple[str, object]] = []
    proc.ctx.notices.on_gone(lambda attribute, value: gone.append((attribute, value)))
    await proc.start()
    try:
        await proc.consume(events(pid=[p.pid]))
        p.kill()
        p.wait()
        proc.resolver.sweep()
        assert ("process.pid", p.pid) in gone
        await proc.consume(events(pid=[p.pid]))  # a late event of the exited process
        out = sink.items[-1]
        assert isinstance(out, EventBatch)
        assert col(out, "container.id") == [cid]
        proc.resolver.grace_period = 0
        proc.resolver.sweep()
        assert p.pid not in proc.resolver.processes
    finally:
        await proc.shutdown()


def test_cgroup_ids_resolve_by_handle_and_by_rate_limited_index(lab: CgroupLab) -> None:
    path, cg_id = lab.cgroup(f"/kubepods/pod{uuid.uuid4()}/{_hex()}")
    by_handle = CgroupPaths(lab.v2)
    assert by_handle.path(cg_id) == path
    assert by_handle.scans == 0  # one syscall, no tree walk
    by_handle.close()

    indexed = CgroupPaths(lab.v2, rescan_interval=3600)
    indexed._by_handle = False  # as without CAP_DAC_READ_SEARCH
    assert indexed.path(cg_id) == path and indexed.scans == 1
    new_path, new_id = lab.cgroup(f"/kubepods/pod{uuid.uuid4()}/{_hex()}")
    for _ in range(100):  # a stream of misses does not walk the tree again before the interval
        assert indexed.path(new_id) is None
    assert indexed.scans == 1
    indexed.rescan_interval = 0
    assert indexed.path(new_id) == new_path and indexed.scans == 2


async def test_selected_attributes_only(api: FakeKubeApi, lab: CgroupLab, tmp_path: Path) -> None:
    uid, cid = str(uuid.uuid4()), _hex()
    api.add(make_pod("sel", "shop", NODE, uid=uid, containers={"app": cid}, labels={"app": "sel"}))
    cg, cg_id = lab.cgroup(f"/kubepods/pod{uid}/{cid}")
    p = lab.spawn((lab.v2, cg))
    config = kube_config(api, tmp_path, attributes=["k8s.namespace.name", "k8s.pod.name"], labels=["app"])
    proc, sink, telemetry = make_processor(config)
    await proc.start()
    try:
        await proc.consume(events(pid=[p.pid], cgroup_id=[cg_id]))
        out = sink.items[0]
        assert isinstance(out, EventBatch)
        assert sorted(out.extra_names()) == ["k8s.namespace.name", "k8s.pod.label.app", "k8s.pod.name"]
        await proc.consume(MetricBatch([Metric("m", MetricKind.GAUGE, [NumberPoint({"pid": p.pid}, 1, 0, 1)])]))
        metrics = sink.items[1]
        assert isinstance(metrics, MetricBatch)
        assert dict(metrics.metrics[0].points[0].attributes) == {
            "pid": p.pid,
            "k8s.namespace.name": "shop",
            "k8s.pod.name": "sel",
            "k8s.pod.label.app": "sel",
        }
        # counted as enriched although k8s.pod.uid itself was not asked for
        assert telemetry.counter("k8s_metadata_enriched_items", "").value(processor="k8s_metadata") == 2
    finally:
        await proc.shutdown()


def test_unknown_attribute_is_a_config_error() -> None:
    with pytest.raises(ValueError, match=r"unknown attribute 'k8s\.pod\.nme'"):
        factory.config_model.model_validate({"attributes": ["k8s.pod.nme"]})


async def test_start_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collector.component import ComponentError

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    proc, _, _ = make_processor({"auth": "serviceaccount"})
    with pytest.raises(ComponentError, match="in-cluster service account config: Service host/port is not set"):
        await proc.start()
    await proc.shutdown()
    proc, _, _ = make_processor({"auth": "none", "proc_path": str(tmp_path / "nope")})
    with pytest.raises(ComponentError, match=r"proc_path: .*nope is not a directory"):
        await proc.start()
    await proc.shutdown()


async def test_in_cluster_service_account_over_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """auth auto inside a pod: KUBERNETES_SERVICE_HOST/PORT, the service account's token
    and CA, HTTPS with the server's certificate checked against that CA."""
    import ssl

    from processors.k8s_metadata import watcher
    from tests.conftest import require_tool

    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    subprocess.run(
        [require_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(sa / "ca.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    (sa / "token").write_text("sa-token")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(sa / "ca.crt", tmp_path / "key.pem")
    api = FakeKubeApi(token="sa-token")
    api.add(make_pod("in-cluster", "kube-system", NODE))
    await api.start(free_port(), server_tls)
    monkeypatch.setattr(watcher, "SERVICE_ACCOUNT_DIR", str(sa))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
    monkeypatch.setenv("KUBE_NODE_NAME", NODE)
    proc, _, _ = make_processor({})
    await proc.start()
    try:
        assert proc.watcher is not None and proc.watcher.cfg.host == f"https://127.0.0.1:{api.port}"
        assert [p.name for p in [proc.store.get(u) for u in api.pods] if p] == ["in-cluster"]
        assert api.requests[0].authorization == "Bearer sa-token"
    finally:
        await proc.shutdown()
        await api.stop()

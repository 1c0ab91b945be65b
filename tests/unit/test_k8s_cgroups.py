"""Container ids and pod uids from every cgroup path form we claim to know, and owner workloads."""

from __future__ import annotations

import pytest

from processors.k8s_metadata.cgroups import normalize_container_id, parse_cgroup_path, parse_proc_cgroup
from processors.k8s_metadata.pods import PodStore, pod_from_object, workload_attributes
from processors.k8s_metadata.resolver import LRU

CID = "3f1a" + "0" * 56 + "beef"
UID = "8d3c1d2e-9a4b-4c5d-8e6f-0a1b2c3d4e5f"
UID_ = UID.replace("-", "_")


@pytest.mark.parametrize(
    "path",
    [
        # systemd driver, cgroup v2 and v1 (containerd, CRI-O, Docker)
        f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/cri-containerd-{CID}.scope",
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/crio-{CID}.scope",
        f"/kubepods.slice/kubepods-pod{UID_}.slice/docker-{CID}.scope",
        # cgroupfs driver
        f"/kubepods/besteffort/pod{UID}/{CID}",
        f"/kubepods/pod{UID}/crio-{CID}",
        f"/kubepods/burstable/pod{UID}/{CID}",
        # a process in a sub-cgroup of the container (systemd inside a container)
        f"/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{CID}.scope/init.scope",
    ],
)
def test_kubernetes_path_forms(path: str) -> None:
    info = parse_cgroup_path(path)
    assert (info.pod_uid, info.container_id) == (UID, CID)


@pytest.mark.parametrize(
    ("path", "container"),
    [
        (f"/docker/{CID}", CID),
        (f"/system.slice/docker-{CID}.scope", CID),
        (f"/machine.slice/libpod-{CID}.scope", CID),
        # CRI-O's conmon is the monitor beside the container, not the container
        (f"/kubepods.slice/kubepods-pod{UID_}.slice/crio-conmon-{CID}.scope", None),
        ("/user.slice/user-0.slice/session-1.scope", None),
        ("/", None),
    ],
)
def test_other_path_forms(path: str, container: str | None) -> None:
    assert parse_cgroup_path(path).container_id == container


def test_proc_cgroup_prefers_the_line_naming_a_container() -> None:
    v1_only = f"12:memory:/kubepods/besteffort/pod{UID}/{CID}\n1:name=systemd:/\n0::/\n"
    info = parse_proc_cgroup(v1_only)
    assert info is not None and (info.pod_uid, info.container_id) == (UID, CID)
    v2 = f"0::/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{CID}.scope\n"
    info = parse_proc_cgroup(v2)
    assert info is not None and info.container_id == CID
    plain = parse_proc_cgroup("0::/user.slice\n")
    assert plain is not None and plain.path == "/user.slice" and plain.container_id is None


def test_runtime_prefixes_are_stripped() -> None:
    assert normalize_container_id(f"containerd://{CID}") == CID
    assert normalize_container_id(f"cri-o://{CID}") == CID
    assert normalize_container_id(f"docker://{CID.upper()}") == CID


def test_deployment_from_replicaset_name_and_template_hash() -> None:
    meta = {
        "labels": {"pod-template-hash": "7d4b9c8f5d"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "shop-api-7d4b9c8f5d", "controller": True}],
    }
    assert workload_attributes(meta) == {
        "k8s.replicaset.name": "shop-api-7d4b9c8f5d",
        "k8s.deployment.name": "shop-api",
    }
    # a bare ReplicaSet (no template hash label) names no deployment
    meta = {"ownerReferences": [{"kind": "ReplicaSet", "name": "standalone", "controller": True}]}
    assert workload_attributes(meta) == {"k8s.replicaset.name": "standalone"}
    for kind, attr in [
        ("StatefulSet", "k8s.statefulset.name"),
        ("DaemonSet", "k8s.daemonset.name"),
        ("Job", "k8s.job.name"),
    ]:
        meta = {"ownerReferences": [{"kind": kind, "name": "w", "controller": True}]}
        assert workload_attributes(meta) == {attr: "w"}
    # non-controller owners are not the workload
    assert workload_attributes({"ownerReferences": [{"kind": "DaemonSet", "name": "x"}]}) == {}


def test_pod_store_indexes_containers_and_forgets_after_grace() -> None:
    gone: list[str] = []
    store = PodStore(grace_period=10, on_gone=lambda pod: gone.append(pod.name))
    obj = {
        "metadata": {"name": "web", "namespace": "shop", "uid": UID, "labels": {"app": "web", "team": "a"}},
        "spec": {"nodeName": "n1"},
        "status": {"containerStatuses": [{"name": "nginx", "containerID": f"containerd://{CID}"}]},
    }
    pod = pod_from_object(obj, labels=["app"], annotations=[])
    assert pod.attributes["k8s.pod.label.app"] == "web" and "k8s.pod.label.team" not in pod.attributes
    store.upsert(pod)
    found = store.by_container(CID)
    assert found is not None and found[1] == "nginx"
    store.delete(UID, now=100)
    assert gone == ["web"]
    assert store.by_container(CID) is not None  # still resolvable in its grace period
    store.expire(now=105)
    assert store.by_container(CID) is not None
    store.expire(now=110)
    assert store.by_container(CID) is None and store.get(UID) is None


def test_lru_is_bounded() -> None:
    lru: LRU[int, str] = LRU(3)
    for i in range(10):
        lru.put(i, str(i))
        lru.lookup(0)  # used all the time: never evicted
    assert sorted(lru) == [0, 8, 9] and lru.evictions == 7


def test_config_errors_point_at_the_key() -> None:
    from collector.config import ConfigError, load_config_text

    text = """\
receivers:
  ebpf_maps: {programs: [syscalls]}
processors:
  k8s_metadata:
    associations:
      - {source: pids}
exporters:
  json: {}
service:
  pipelines:
    metrics: {receivers: [ebpf_maps], processors: [k8s_metadata], exporters: [json]}
"""
    with pytest.raises(ConfigError) as err:
        load_config_text(text, "p.yaml")
    assert err.value.problems == [
        "p.yaml:6:10: processors.k8s_metadata.associations[0].source: Input should be "
        "'pid', 'cgroup_id', 'cgroup_path' or 'container_id' (got 'pids')"
    ]
    config = load_config_text(text.replace("pids", "pid"), "p.yaml")
    spec = config.get("processor", config.pipelines[0].processors[0])
    assert spec.config.associations[0].field == "pid"  # the default field for the source

"""The Kubernetes manifests and Dockerfile, checked as far as this machine can: no
API server or Docker engine here, so: every manifest parses with the fields the API
requires, the embedded pipeline passes the collector's own validation, and the
DaemonSet gives the receivers and processors what they need from the host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from collector.config.loader import load_config_text
from tests.conftest import ROOT

K8S = ROOT / "configs" / "kubernetes"
NAMESPACE = "ebpf-collector"


def manifests() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        with path.open() as f:
            out += [(path, doc) for doc in yaml.safe_load_all(f) if doc is not None]
    return out


def by_kind(kind: str) -> dict[str, Any]:
    (doc,) = [d for _, d in manifests() if d["kind"] == kind]
    return doc


def daemonset_container() -> dict[str, Any]:
    (container,) = by_kind("DaemonSet")["spec"]["template"]["spec"]["containers"]
    return container


def pipeline_text() -> str:
    text: str = by_kind("ConfigMap")["data"]["collector.yaml"]
    return text


def test_every_manifest_has_api_version_kind_and_name() -> None:
    kinds = []
    for path, doc in manifests():
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), path
        assert doc["metadata"].get("name"), path
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"].get("namespace") == NAMESPACE, (path, doc["kind"])
        kinds.append(doc["kind"])
    assert sorted(kinds) == sorted(
        ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"]
    )


def test_cluster_role_only_reads_pods() -> None:
    role = by_kind("ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    binding = by_kind("ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}  # fmt: skip
    account = by_kind("ServiceAccount")["metadata"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": NAMESPACE}]
    pod = by_kind("DaemonSet")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["name"]


def test_configmap_pipeline_passes_the_collectors_validation() -> None:
    config = load_config_text(pipeline_text(), "configs/kubernetes/configmap.yaml")
    types = {(spec.kind, spec.id.type) for spec in config.components.values()}
    assert {("receiver", "ebpf_maps"), ("receiver", "ebpf_events"), ("processor", "k8s_metadata"),
            ("processor", "aggregate"), ("exporter", "prometheus")} <= types  # fmt: skip
    exec_pipeline = next(p for p in config.pipelines if any(r.type == "ebpf_events" for r in p.receivers))
    assert [p.type for p in exec_pipeline.processors] == ["k8s_metadata", "aggregate"]


def test_daemonset_runs_one_privileged_enough_pod_per_node() -> None:
    ds = by_kind("DaemonSet")
    template = ds["spec"]["template"]
    assert ds["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    pod = template["spec"]
    assert pod["hostPID"] is True  # event pids are host pids; k8s_metadata reads the host's /proc
    assert {"operator": "Exists"} in pod["tolerations"]
    security = daemonset_container()["securityContext"]
    caps = set(security.get("capabilities", {}).get("add", []))
    assert security.get("privileged") or {"BPF", "PERFMON", "SYS_ADMIN", "SYS_RESOURCE", "DAC_READ_SEARCH"} <= caps


def test_node_name_comes_from_the_downward_api() -> None:
    env = {e["name"]: e for e in daemonset_container()["env"]}
    assert env["KUBE_NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


def test_probes_annotations_and_port_match_the_prometheus_exporter() -> None:
    config = load_config_text(pipeline_text(), "configmap.yaml")
    (prom,) = [s.config for s in config.components.values() if s.id.type == "prometheus"]
    port = int(str(prom.endpoint).rsplit(":", 1)[1])  # type: ignore[attr-defined]
    container = daemonset_container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == port
    for probe in ("readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] in ("metrics", port) and get["path"] == prom.path  # type: ignore[attr-defined]
    annotations = by_kind("DaemonSet")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == prom.path  # type: ignore[attr-defined]
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()


def mounts() -> dict[str, tuple[str, dict[str, Any]]]:
    """container mountPath -> (volume name, volume)."""
    volumes = {v["name"]: v for v in by_kind("DaemonSet")["spec"]["template"]["spec"]["volumes"]}
    return {m["mountPath"]: (m["name"], volumes[m["name"]]) for m in daemonset_container()["volumeMounts"]}


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/sys/kernel/btf", "CO-RE relocation against the node's kernel types"),
        ("/sys/kernel/tracing", "tracepoint and uprobe attach"),
        ("/sys/kernel/debug", "tracefs on older kernels"),
        ("/sys/fs/bpf", "pinned maps"),
    ],
)
def test_host_paths_the_bpf_receivers_need_are_mounted(path: str, why: str) -> None:
    assert path in mounts(), why
    _, volume = mounts()[path]
    assert volume["hostPath"]["path"] == path, why


def test_k8s_metadata_sees_the_hosts_cgroups_and_processes() -> None:
    config = load_config_text(pipeline_text(), "configmap.yaml")
    (k8s,) = [s.config for s in config.components.values() if s.id.type == "k8s_metadata"]
    cgroup_root = k8s.cgroup_root  # type: ignore[attr-defined]
    assert cgroup_root in mounts(), "cgroup_root must be the host's cgroup tree, mounted"
    assert mounts()[cgroup_root][1]["hostPath"]["path"] == "/sys/fs/cgroup"
    assert k8s.proc_path == "/proc"  # type: ignore[attr-defined]  # the host's, through hostPID
    assert k8s.auth in ("serviceaccount", "auto")  # type: ignore[attr-defined]


def test_config_is_mounted_where_the_container_reads_it() -> None:
    container = daemonset_container()
    config_path = Path(container["args"][container["args"].index("-c") + 1])
    _, volume = mounts()[str(config_path.parent)]
    cm = by_kind("ConfigMap")
    assert volume["configMap"]["name"] == cm["metadata"]["name"]
    assert config_path.name in cm["data"]


def test_dockerfile_builds_objects_and_points_the_collector_at_them() -> None:
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(froms) == 2 and all(f.startswith("debian:bookworm") for f in froms)
    assert "make -C bpf" in text
    runtime = text.rsplit("\nFROM ", 1)[1]  # the final stage: what the image ships
    installed = re.search(r"apt-get install((?:[^\n]*\\\n)*[^\n]*)", runtime)
    assert installed is not None
    assert {"libbpf1", "python3", "python3-bpfcc"} <= set(installed.group(1).replace("\\", " ").split())
    (bpf_dir,) = re.findall(r"EBPF_COLLECTOR_BPF_DIR=(\S+)", text)
    assert re.search(rf"COPY --from=\S+ .*\.bpf\.o .*{re.escape(bpf_dir)}", text)
    (cmd,) = re.findall(r"^CMD (.+)$", text, re.M)
    assert f'"{daemonset_container()["args"][-1]}"' in cmd  # the image's default is the DaemonSet's config path

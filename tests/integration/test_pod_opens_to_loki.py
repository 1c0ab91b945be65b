"""configs/examples/pod-opens-to-loki.yaml runs as written: a process in a pod's
cgroup (a real cgroup named the way containerd names it, the pod served by the
in-test Kubernetes API) opens a unique file; Loki (the in-test OTLP backend, at
/otlp/v1/logs with the tenant header) gets a record with the file, the process and
the pod. The same open from a process outside any pod is filtered out."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cgroup_lab import CgroupLab
from tests.conftest import ROOT, free_port
from tests.k8s_api import FakeKubeApi, make_pod
from tests.otlp_backend import OtlpBackend

EXAMPLE = ROOT / "configs" / "examples" / "pod-opens-to-loki.yaml"
NODE = "node-a"


pytestmark = pytest.mark.usefixtures("bpf")


def attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: getattr(kv.value, kv.value.WhichOneof("value")) for kv in kvs}


async def test_opens_in_a_pod_reach_loki_with_namespace_and_pod(lab: CgroupLab, tmp_path: Path) -> None:
    pod_uid, cid = str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex
    api = FakeKubeApi(token="s3cret")
    api.add(make_pod("api-7d4b9c8f5d-x2x9q", "shop", NODE, uid=pod_uid, containers={"web": cid}))
    await api.start(free_port())
    cgroup, _ = lab.cgroup(
        f"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod_uid.replace('-', '_')}.slice"
        f"/cri-containerd-{cid}.scope"
    )
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(api.kubeconfig(token="s3cret"))
    loki = OtlpBackend()
    env = {
        **os.environ,
        "LOKI_OTLP_ENDPOINT": await loki.start_http() + "/otlp",
        "LOKI_TENANT": "team-a",
        "K8S_AUTH": "kubeconfig",
        "KUBECONFIG": str(kubeconfig),
        "KUBE_NODE_NAME": NODE,
    }
    collector = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", "run", "-c", str(EXAMPLE), env=env, stderr=asyncio.subprocess.PIPE
    )
    in_pod = f"/tmp/pod-opens-{uuid.uuid4().hex}"
    on_host = f"/tmp/host-opens-{uuid.uuid4().hex}"
    procs = Path(lab.v2 + cgroup, "cgroup.procs")

    def records(filename: str) -> list[tuple[dict[str, Any], Any]]:
        return [(attrs(r.attributes), r) for _, r in loki.log_records() if attrs(r.attributes)["filename"] == filename]

    pids: list[int] = []
    try:
        # the collector attaches and lists pods some time after it starts: open until seen
        deadline = time.monotonic() + 30
        while not records(in_pod):
            assert collector.returncode is None, "the collector exited"
            assert time.monotonic() < deadline, "no open from the pod arrived"
            host = await asyncio.create_subprocess_exec("/bin/cat", on_host, stderr=asyncio.subprocess.DEVNULL)
            await host.wait()
            # join the pod's cgroup, then exec cat: its openat runs inside the container
            pod = await asyncio.create_subprocess_exec(
                "/bin/sh", "-c", f'echo $$ > {procs} && exec /bin/cat "$0"', in_pod, stderr=asyncio.subprocess.DEVNULL
            )
            await pod.wait()
            pids.append(pod.pid)
            await asyncio.sleep(0.3)
    finally:
        collector.send_signal(signal.SIGTERM)
        _, stderr = await collector.communicate()
        await loki.stop()
        await api.stop()
    assert collector.returncode == 0, stderr.decode()

    a, record = records(in_pod)[0]
    assert a["comm"] == "cat" and a["pid"] in pids and a["errno"] == "ENOENT"
    assert (a["k8s.namespace.name"], a["k8s.pod.name"], a["k8s.container.name"]) == (
        "shop",
        "api-7d4b9c8f5d-x2x9q",
        "web",
    )
    assert record.body.string_value == f"cat opened {in_pod} = -2 ENOENT"
    assert records(on_host) == []  # outside any pod: filtered out on the node
    assert loki.paths[0] == "/otlp/v1/logs" and loki.headers[0]["X-Scope-OrgID"] == "team-a"

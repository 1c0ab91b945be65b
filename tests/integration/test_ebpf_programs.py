"""ebpf_exporter compatibility, for real: four programs of the kinds ebpf_exporter
ships (written here, tests/programs), with configs in its schema, loaded from a
--config.dir-style directory, attached, and read against a known workload."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.component import ComponentError
from collector.decoders.cgroup_paths import cgroup2_mount
from receivers.ebpf_programs import factory
from tests.conftest import require_bpf, unavailable
from tests.integration.receiver_harness import histogram, make, value
from tests.programs import HERE, build_config_dir, build_workload, compile_bpf

pytestmark = pytest.mark.bpf
CALLS = 3000


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    require_bpf()
    root = tmp_path_factory.mktemp("exporter")
    return build_config_dir(root / "configs"), build_workload(root)


@pytest.fixture
def cgroup() -> Iterator[Path]:
    mount = cgroup2_mount()
    if mount is None:
        unavailable("a cgroup v2 hierarchy")
    assert mount is not None
    path = mount / f"ebpf-collector-test-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    yield path
    path.rmdir()


def run_workload(workload: Path, comm: str, calls: int, sleeps: int = 0, cgroup: Path | None = None) -> None:
    def enter_cgroup() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    subprocess.run([str(workload), comm, str(calls), str(sleeps)], check=True, preexec_fn=enter_cgroup)


async def test_four_exporter_programs_from_a_config_dir(built: tuple[Path, Path], cgroup: Path) -> None:
    config_dir, workload = built
    names = ["exp_syscalls", "exp_comm", "exp_cgroup", "exp_runqlat"]
    receiver, sink, _ = make(factory, {"config_dir": str(config_dir), "names": names})
    comm = f"ecw-{uuid.uuid4().hex[:6]}"
    await receiver.start()
    try:
        await receiver.poll()
        before = sink.latest("ebpf_exporter_syscalls_total")
        runq_before = histogram(sink.latest("ebpf_exporter_run_queue_latency_seconds")).count
        run_workload(workload, comm, CALLS, sleeps=50, cgroup=cgroup)
        run_workload(workload, "other-process", 7)  # filtered out by the regexp decoder
        await receiver.poll()
    finally:
        await receiver.shutdown()

    # Counter keyed by syscall number, decoded uint -> syscall name.
    syscalls = sink.latest("ebpf_exporter_syscalls_total")
    assert syscalls.description == "System calls by syscall name"
    assert value(syscalls, syscall="getppid") - value(before, syscall="getppid") >= CALLS
    assert value(syscalls, syscall="nanosleep") + value(syscalls, syscall="clock_nanosleep") >= 50

    # String-keyed counter (comm), with a regexp that drops every other process.
    comms = sink.latest("ebpf_exporter_getppid_calls_total")
    assert value(comms, comm=comm) == CALLS
    assert all(str(p.attributes["comm"]).startswith("ecw-") for p in comms.points)

    # Cgroup-keyed counter on a per-CPU map, summed: id -> the cgroup's path.
    cgroups = sink.latest("ebpf_exporter_cgroup_getppid_total")
    assert value(cgroups, cgroup=str(cgroup)) == CALLS

    # exp2 histogram with a multiplier: us slots -> seconds bounds, sum key used.
    runq = histogram(sink.latest("ebpf_exporter_run_queue_latency_seconds"))
    assert runq.bounds[0] == pytest.approx(1e-6) and runq.bounds[-1] == pytest.approx(2**26 * 1e-6)
    assert len(runq.counts) == 27 + 1
    assert runq.count - runq_before >= 50  # every sleep ends in a wakeup and a switch-in
    assert runq.sum > 0


async def test_per_cpu_counter_with_a_cpu_label(built: tuple[Path, Path], cgroup: Path) -> None:
    config_dir, workload = built
    metrics = {
        "counters": [
            {
                "name": "cgroup_getppid_total",
                "labels": [
                    {"name": "cgroup", "size": 8, "decoders": [{"name": "uint"}, {"name": "cgroup"}]},
                    {"name": "cpu", "size": 2, "decoders": [{"name": "uint"}]},
                ],
            }
        ]
    }
    program = {"name": "exp_cgroup", "object": str(config_dir / "exp_cgroup.bpf.o"), "metrics": metrics}
    receiver, sink, _ = make(factory, {"programs": [program], "metric_prefix": "", "node_label": "node"})
    await receiver.start()
    try:
        run_workload(workload, "ecw-percpu", CALLS, cgroup=cgroup)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    metric = sink.latest("cgroup_getppid_total")
    mine = [p for p in metric.points if p.attributes["cgroup"] == str(cgroup)]
    assert {p.attributes["cpu"] for p in mine} == {str(c) for c in range(len(mine))}
    assert sum(p.value for p in mine) == CALLS  # type: ignore[union-attr]
    assert all(p.attributes["node"] for p in mine)


async def test_a_map_the_object_does_not_have_is_named_with_its_position(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    config_dir, _ = built
    (tmp_path / "exp_syscalls.bpf.o").symlink_to(config_dir / "exp_syscalls.bpf.o")
    (tmp_path / "exp_syscalls.yaml").write_text(
        "metrics:\n  counters:\n"
        "    - name: syscalls_total\n      labels: [{name: s, size: 8, decoders: [{name: uint}]}]\n"
        "    - name: no_such_map\n      labels: [{name: s, size: 8, decoders: [{name: uint}]}]\n"
    )
    receiver, _, _ = make(factory, {"config_dir": str(tmp_path), "names": ["exp_syscalls"]})
    with pytest.raises(ComponentError) as err:
        await receiver.start()
    message = str(err.value)
    assert f"{tmp_path / 'exp_syscalls.yaml'}:5:7: metrics.counters[1] (no_such_map)" in message
    assert "no map named 'no_such_map'; its maps: syscalls_total" in message


async def test_a_label_size_that_does_not_match_the_key_btf(built: tuple[Path, Path]) -> None:
    config_dir, _ = built
    metrics = {"counters": [{"name": "getppid_calls_total", "labels": [
        {"name": "comm", "size": 8, "decoders": [{"name": "string"}]}]}]}  # fmt: skip
    program = {"name": "exp_comm", "object": str(config_dir / "exp_comm.bpf.o"), "metrics": metrics}
    receiver, _, _ = make(factory, {"programs": [program]}, name="bad")
    with pytest.raises(ComponentError) as err:
        await receiver.start()
    assert str(err.value) == (
        "receivers.ebpf_programs/bad.programs[0].metrics.counters[0] (getppid_calls_total): labels add up to 8 "
        "bytes (comm: 8) but map 'getppid_calls_total' has key struct comm_key (16 bytes: comm char[16] @0)"
    )


async def test_label_sizes_can_come_from_btf(built: tuple[Path, Path], cgroup: Path) -> None:
    config_dir, workload = built
    metrics = {
        "counters": [{"name": "getppid_calls_total", "labels": [{"name": "comm", "decoders": [{"name": "string"}]}]}]
    }
    program = {"name": "exp_comm", "object": str(config_dir / "exp_comm.bpf.o"), "metrics": metrics}
    receiver, sink, _ = make(factory, {"programs": [program]})
    await receiver.start()
    try:
        run_workload(workload, "ecw-btfsize", 10)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert value(sink.latest("ebpf_exporter_getppid_calls_total"), comm="ecw-btfsize") == 10


async def test_invalid_exporter_yaml_points_at_the_line(built: tuple[Path, Path], tmp_path: Path) -> None:
    config_dir, _ = built
    (tmp_path / "exp_comm.bpf.o").symlink_to(config_dir / "exp_comm.bpf.o")
    (tmp_path / "exp_comm.yaml").write_text(
        "metrics:\n  counters:\n    - name: getppid_calls_total\n      labels:\n        - name: comm\n"
        "          size: 16\n          decoders:\n            - name: strin\n"
    )
    receiver, _, _ = make(factory, {"config_dir": str(tmp_path), "names": ["exp_comm"]})
    with pytest.raises(ComponentError) as err:
        await receiver.start()
    assert f"{tmp_path / 'exp_comm.yaml'}:8:15: metrics.counters[0].labels[0].decoders[0]" in str(err.value)
    assert "unknown decoder 'strin'" in str(err.value)


async def test_missing_object_says_where_it_looked(tmp_path: Path) -> None:
    require_bpf()
    receiver, _, _ = make(factory, {"config_dir": str(tmp_path), "names": ["nothing_here"]})
    with pytest.raises(
        ComponentError, match=r"receivers.ebpf_programs.names\[0\]: no object for program 'nothing_here'"
    ):
        await receiver.start()


async def test_kstack_decodes_stack_ids_through_the_stack_map(tmp_path: Path, built: tuple[Path, Path]) -> None:
    _, workload = built
    obj = compile_bpf(HERE / "exp_kstack.bpf.c", tmp_path / "exp_kstack.bpf.o")
    stack_label = {"name": "stack", "size": 4, "decoders": [{"name": "kstack", "stack_map": "stacks"}]}
    metrics = {"counters": [{"name": "switches_total", "labels": [stack_label]}]}
    receiver, sink, _ = make(factory, {"programs": [{"name": "exp_kstack", "object": str(obj), "metrics": metrics}]})
    await receiver.start()
    try:
        run_workload(workload, "ecw-sleeper", 0, sleeps=20)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    stacks = [str(p.attributes["stack"]).split("\n") for p in sink.latest("ebpf_exporter_switches_total").points]
    assert stacks and all(frames and "??" not in frames for frames in stacks)
    # Every context switch passes through the scheduler core.
    assert all(any("schedule" in f for f in frames) for frames in stacks)

"""Self-telemetry of loaded programs: attach kind always; run time and run count
only when asked (kernel BPF statistics cost a little on every program run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.bpf import BpfObject
from collector.bpf.info import prog_info
from collector.telemetry import Telemetry
from receivers.ebpf_programs import factory
from tests.conftest import require_bpf
from tests.integration.receiver_harness import make
from tests.programs import HERE, compile_bpf

pytestmark = pytest.mark.bpf


@pytest.fixture(scope="module")
def syscalls_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_bpf()
    return compile_bpf(HERE / "exp_syscalls.bpf.c", tmp_path_factory.mktemp("stats") / "exp_syscalls.bpf.o")


def series(telemetry: Telemetry, name: str) -> dict[str, float]:
    for metric in telemetry.collect().metrics:
        if metric.name == f"ebpf_collector_{name}":
            return {str(p.attributes.get("handler")): p.value for p in metric.points}  # type: ignore[union-attr]
    return {}


@pytest.mark.parametrize("enabled", [False, True])
async def test_run_time_and_count_only_when_enabled(syscalls_object: Path, enabled: bool) -> None:
    program = {"name": "exp_syscalls", "object": str(syscalls_object), "config": str(HERE / "exp_syscalls.yaml")}
    receiver, _, telemetry = make(factory, {"programs": [program], "bpf_stats": enabled})
    await receiver.start()
    try:
        for _ in range(100):
            os.getppid()
        assert series(telemetry, "bpf_programs_loaded") == {"sys_enter": 1}
        runs, run_time = series(telemetry, "bpf_program_runs"), series(telemetry, "bpf_program_run_time")
    finally:
        await receiver.shutdown()
    if enabled:
        assert runs["sys_enter"] >= 100 and run_time["sys_enter"] > 0
    else:
        assert runs == {} and run_time == {}
    assert series(telemetry, "bpf_programs_loaded") == {"sys_enter": 0}  # detached at shutdown


def test_prog_info_reads_the_kernel_layout(syscalls_object: Path) -> None:
    with BpfObject.load(syscalls_object) as obj:
        info = prog_info(obj.program_fds["sys_enter"])
    assert info.name == "sys_enter" and info.id > 0 and info.type == 26  # BPF_PROG_TYPE_TRACING

"""Self-telemetry of loaded programs: attach kind always; run time and run count
only when asked (kernel BPF statistics cost a little on every program run)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from collector.bpf import BpfObject
from collector.bpf.info import prog_info
from collector.component import ComponentContext, ComponentId, Receiver
from collector.registry import default_registry
from collector.telemetry import Telemetry
from receivers.ebpf_programs import factory
from tests.conftest import compile_c, require_bpf, unavailable
from tests.integration.receiver_harness import Capture, make
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


# -- the same option and telemetry on every receiver that loads BPF -------------------

UPROBE_WORKER = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long work(long i) { return i * 2 + 1; }
int main(int argc, char **argv) {
    long s = 0;
    for (int i = 0; i < atoi(argv[1]); i++) s += work(i);
    printf("%ld\n", s);
    return 0;
}
"""

BCC_SOURCE = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) { return 0; }
"""


def make_any(type_: str, config: dict[str, Any]) -> tuple[Receiver[Any], Telemetry]:
    factory = default_registry.get("receiver", type_)
    telemetry = Telemetry()
    ctx = ComponentContext(ComponentId(type_), "receiver", telemetry)
    receiver = factory.create(factory.config_model.model_validate(config), ctx)
    assert isinstance(receiver, Receiver)
    receiver.next["metrics"] = receiver.next["logs"] = Capture()  # ebpf_events sends to every signal
    return receiver, telemetry


def _getppid(n: int) -> None:
    for _ in range(n):
        os.getppid()


def _exec(n: int) -> None:
    for _ in range(n):
        subprocess.run(["/bin/true"], check=True)


@dataclass
class Case:
    config: dict[str, Any]
    workload: Callable[[int], None]
    handlers: dict[str, str]  # handler -> attach kind (a set of kinds the kernel may choose)


def _cases(tmp: Path) -> dict[str, Case]:
    worker = tmp / "worker"
    if not worker.exists():
        compile_c(UPROBE_WORKER, worker)

    def run_worker(n: int) -> None:
        subprocess.run([str(worker), str(n)], check=True, stdout=subprocess.DEVNULL)

    return {
        "ebpf_maps": Case({"programs": ["syscalls"]}, _getppid, {"sys_enter": "tp_btf|raw_tp|tracepoint"}),
        "ebpf_events": Case({"programs": ["exec"], "max_latency": "50ms"}, _exec, {"exec": "tp_btf|raw_tp|tracepoint"}),
        "uprobe": Case(
            {"probes": [{"binary": str(worker), "function": "work", "metric": "work_calls", "latency": True}]},
            run_worker,
            {"on_entry": "uprobe", "on_return": "uretprobe"},
        ),
        "bcc": Case({"source": BCC_SOURCE}, _getppid, {"tracepoint__syscalls__sys_enter_getppid": "tracepoint"}),
    }


def loaded(telemetry: Telemetry) -> dict[str, tuple[str, float]]:
    for metric in telemetry.collect().metrics:
        if metric.name == "ebpf_collector_bpf_programs_loaded":
            return {
                str(p.attributes["handler"]): (str(p.attributes["attach"]), p.value)  # type: ignore[union-attr]
                for p in metric.points
            }
    return {}


@pytest.mark.parametrize("enabled", [False, True])
@pytest.mark.parametrize("type_", ["ebpf_maps", "ebpf_events", "uprobe", "bcc"])
async def test_every_bpf_receiver_reports_its_programs(
    type_: str, enabled: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require_bpf()
    if type_ == "bcc":
        try:
            import bcc  # noqa: F401
        except ImportError:
            unavailable("BCC (python3-bpfcc, linked into the venv by make setup)")
    case = _cases(tmp_path_factory.getbasetemp())[type_]
    receiver, telemetry = make_any(type_, {**case.config, "bpf_stats": enabled})
    await receiver.start()
    try:
        case.workload(50)
        during = loaded(telemetry)
        runs, run_time = series(telemetry, "bpf_program_runs"), series(telemetry, "bpf_program_run_time")
    finally:
        await receiver.shutdown()
    assert set(during) == set(case.handlers)
    for handler, (attach, value) in during.items():
        assert value == 1 and attach in case.handlers[handler].split("|"), (handler, attach)
    if enabled:
        entry = next(iter(case.handlers))  # the handler every workload call runs
        assert set(runs) == set(case.handlers)
        assert runs[entry] >= 50 and run_time[entry] > 0, (runs, run_time)
    else:
        assert runs == {} and run_time == {}
    assert {h: v for h, (_, v) in loaded(telemetry).items()} == dict.fromkeys(case.handlers, 0)

"""The `uprobe` receiver on real binaries: counts equal the calls the programs
report, C++/Rust names resolve from their demangled form, latency histograms
hold what the code really spent, and counting survives restarts."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from collector.component import ComponentError
from collector.model import HistogramPoint, NumberPoint
from tests.conftest import ROOT, compile_c, free_port, require_tool, unavailable
from tests.integration.live import scrape, wait_for
from tests.integration.receiver_harness import build as make
from tests.integration.receiver_harness import last_metric as metric

pytestmark = pytest.mark.usefixtures("bpf")


EXAMPLE = ROOT / "configs" / "examples" / "triangle"

# work() sleeps 2 ms per call; with "wait" it first blocks on stdin so a test can
# attach before any call happens.
C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((noinline)) long work(long i) { usleep(2000); return i * 2; }
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    char line[16];
    if (argc > 2 && strcmp(argv[2], "wait") == 0 && !fgets(line, sizeof line, stdin)) return 1;
    long s = 0;
    for (int i = 0; i < n; i++) s += work(i);
    printf("calls %d sum %ld\n", n, s);
    return 0;
}
"""

CPP_PROGRAM = r"""
#include <cstdio>
#include <cstdlib>
namespace geo {
__attribute__((noinline)) double area(double x, double y, double z) { return x * y * 0.5 + z * 0; }
__attribute__((noinline)) double area(double side) { return side * side; }
}
int main(int argc, char **argv) {
    int n = std::atoi(argv[1]);
    double s = 0;
    for (int i = 0; i < n; i++) s += geo::area(i, i, i);
    for (int i = 0; i < 2 * n; i++) s += geo::area(i);
    std::printf("%f\n", s);
    return 0;
}
"""

RUST_PROGRAM = r"""
#[inline(never)]
fn area(x: f64, y: f64, z: f64) -> f64 {
    let gamma = ((x * x + y * y - z * z) / (2.0 * x * y)).acos();
    0.5 * x * y * gamma.sin()
}
fn main() {
    let n: u32 = std::env::args().nth(1).unwrap().parse().unwrap();
    let mut s = 0.0;
    for i in 0..n {
        let side = 1.0 + f64::from(i % 10);
        s += area(side, side, side);
    }
    println!("{s}");
}
"""


@pytest.fixture(scope="module")
def c_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_c(C_PROGRAM, tmp_path_factory.mktemp("uprobe") / "worker")


def counter(receiver: Any, name: str) -> int:
    (point,) = metric(receiver, name).points
    assert isinstance(point, NumberPoint)
    return int(point.value)


# -- scenario 1: the Fortran triangle program, end to end ---------------------------


def scraped_value(text: str, name: str) -> int | None:
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return int(float(m.group(1))) if m else None


def test_fortran_triangle_example_counts_every_call(tmp_path: Path) -> None:
    gfortran = require_tool("gfortran")
    promtool = shutil.which("promtool")
    binary = tmp_path / "area"
    subprocess.run([gfortran, "-O0", "-o", str(binary), str(EXAMPLE / "area.f90")], check=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "run", "-c", str(EXAMPLE / "triangle.yaml")],
        env={
            **os.environ,
            "TRIANGLE_BINARY": str(binary),
            "TRIANGLE_INTERVAL": "200ms",
            "PROMETHEUS_ENDPOINT": f"127.0.0.1:{port}",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> str | None:
            if proc.poll() is not None:
                pytest.fail(f"collector exited: {proc.stdout.read().decode() if proc.stdout else ''}")
            try:
                text = scrape(port)
            except OSError:
                return None
            return text if scraped_value(text, "triangle_corp_area_total") is not None else None

        before = wait_for(ready, "the collector to serve triangle_corp_area_total")
        assert scraped_value(before, "triangle_corp_area_total") == 0
        out = subprocess.run([str(binary), "25", "5"], check=True, capture_output=True, text=True).stdout
        calls = int(out.strip().splitlines()[-1].removeprefix("calls of area: "))
        assert calls == 25 and out.count("area ") == 25

        def counted() -> str | None:
            text = scrape(port)
            return text if scraped_value(text, "triangle_corp_area_total") == calls else None

        text = wait_for(counted, f"triangle_corp_area_total == {calls}")
        assert "# HELP triangle_corp_area_total Total number of times area has been called" in text
        assert "# TYPE triangle_corp_area_total counter" in text
        assert scraped_value(text, "triangle_corp_area_duration_seconds_count") == calls
        if promtool:
            check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
        else:
            unavailable("promtool (Debian prometheus package)")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


# -- C, C++, Rust ----------------------------------------------------------------


async def test_c_function_count_and_latency(c_binary: Path) -> None:
    receiver = make(
        "uprobe",
        {"probes": [{"binary": str(c_binary), "function": "work", "metric": "work_calls", "latency": True}]},
    )
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(c_binary), "40"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "work_calls") == 40
    (hist,) = metric(receiver, "work_calls_duration").points
    assert isinstance(hist, HistogramPoint)
    assert hist.count == 40
    # Each call sleeps at least 2 ms: nothing can land at or below 2^20 ns (1.05 ms),
    # and the sum is at least 40 * 2 ms; a minute would mean a broken clock delta.
    below = sum(c for b, c in zip(hist.bounds, hist.counts, strict=False) if b <= 2**20 * 1e-9)
    assert below == 0
    assert 40 * 0.002 <= hist.sum < 60


async def test_cpp_demangled_name_and_overloads(tmp_path: Path) -> None:
    cxx = require_tool("g++")
    binary = tmp_path / "geo"
    src = tmp_path / "geo.cc"
    src.write_text(CPP_PROGRAM)
    subprocess.run([cxx, "-O1", "-o", str(binary), str(src)], check=True)

    # `geo::area` names two overloads: the error lists them.
    receiver = make("uprobe", {"probes": [{"binary": str(binary), "function": "geo::area", "metric": "a"}]})
    with pytest.raises(ComponentError, match=r"(?s)probes\[0\] \(geo::area\): .*matches 2 functions.*_ZN3geo4areaEd "):
        await receiver.start()

    receiver = make(
        "uprobe",
        {
            "probes": [
                {"binary": str(binary), "function": "geo::area(double, double, double)", "metric": "three_sides"},
                {"binary": str(binary), "function": "_ZN3geo4areaEd", "metric": "one_side"},
            ]
        },
    )
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(binary), "15"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "three_sides") == 15
    assert counter(receiver, "one_side") == 30


async def test_rust_path_without_hash(tmp_path: Path) -> None:
    rustc = shutil.which("rustc") or str(Path.home() / ".cargo" / "bin" / "rustc")
    if not Path(rustc).exists():
        unavailable("rustc")
    src = tmp_path / "tri.rs"
    src.write_text(RUST_PROGRAM)
    binary = tmp_path / "tri"
    subprocess.run([rustc, "-O", "-o", str(binary), str(src)], check=True, capture_output=True)
    receiver = make("uprobe", {"probes": [{"binary": str(binary), "function": "tri::area", "metric": "n"}]})
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(binary), "12"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "n") == 12


async def test_probe_by_file_offset(c_binary: Path) -> None:
    """A stripped binary has no symbols: the function's file offset still works."""
    from elftools.elf.elffile import ELFFile

    with c_binary.open("rb") as f:
        elf = ELFFile(f)
        (sym,) = elf.get_section_by_name(".symtab").get_symbol_by_name("work")
        vaddr = sym["st_value"]
        (seg,) = [
            s
            for s in elf.iter_segments()
            if s["p_type"] == "PT_LOAD" and s["p_vaddr"] <= vaddr < s["p_vaddr"] + s["p_memsz"]
        ]
        offset = vaddr - seg["p_vaddr"] + seg["p_offset"]
    receiver = make("uprobe", {"probes": [{"binary": str(c_binary), "offset": offset, "metric": "w"}]})
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(c_binary), "8"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "w") == 8


async def test_unknown_function_is_a_clear_error(c_binary: Path) -> None:
    receiver = make("uprobe", {"probes": [{"binary": str(c_binary), "function": "wrok", "metric": "x"}]})
    with pytest.raises(ComponentError, match=rf"{c_binary}: no function 'wrok'"):
        await receiver.start()
    receiver = make("uprobe", {"probes": [{"binary": "/nonexistent/app", "function": "f", "metric": "x"}]})
    with pytest.raises(ComponentError, match="/nonexistent/app: no such file"):
        await receiver.start()


# -- pid filter and restarts ---------------------------------------------------------


def spawn_waiting(binary: Path, n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([str(binary), str(n), "wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def go(proc: subprocess.Popen[str]) -> None:
    out, _ = proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0, out


async def test_pid_filter_counts_only_that_process(c_binary: Path) -> None:
    mine, other = spawn_waiting(c_binary, 7), spawn_waiting(c_binary, 11)
    receiver = make("uprobe", {"probes": [{"pid": mine.pid, "function": "work", "metric": "w"}]})
    try:
        await receiver.start()
        await asyncio.to_thread(go, other)
        await asyncio.to_thread(go, mine)
        await receiver.poll()
    finally:
        for p in (mine, other):
            p.kill()
            p.wait()
        await receiver.shutdown()
    assert counter(receiver, "w") == 7


async def test_binary_target_survives_restarts(c_binary: Path) -> None:
    receiver = make("uprobe", {"probes": [{"binary": str(c_binary), "function": "work", "metric": "w"}]})
    await receiver.start()
    try:
        for n in (5, 6, 7):  # three runs, three pids, one attachment on the file
            await asyncio.to_thread(subprocess.run, [str(c_binary), str(n)], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "w") == 18


async def test_process_target_follows_the_process_across_restarts(c_binary: Path, tmp_path: Path) -> None:
    name = "uprobe-target"  # a distinct executable name so no other process matches
    binary = tmp_path / name
    shutil.copy(c_binary, binary)
    first = spawn_waiting(binary, 4)
    receiver = make(
        "uprobe", {"resolve_interval": "1h", "probes": [{"process": name, "function": "work", "metric": "w"}]}
    )
    try:
        await receiver.start()  # attaches to the running process only (pid filter)
        await asyncio.to_thread(go, first)
        await receiver.refresh()  # it exited: its attachment goes
        await receiver.poll()
        assert counter(receiver, "w") == 4

        second = spawn_waiting(binary, 9)  # the "restart": a new pid
        await receiver.refresh()  # found again
        await asyncio.to_thread(go, second)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "w") == 13
    assert receiver.ctx.telemetry.counter("uprobe_reattachments", "").value(receiver="uprobe", metric="w") == 1


async def test_process_target_may_start_after_the_collector(c_binary: Path, tmp_path: Path) -> None:
    binary = tmp_path / "uprobe-late"
    shutil.copy(c_binary, binary)
    receiver = make(
        "uprobe", {"resolve_interval": "1h", "probes": [{"process": "uprobe-late", "function": "work", "metric": "w"}]}
    )
    await receiver.start()  # nothing to attach yet: waits instead of failing
    try:
        late = spawn_waiting(binary, 3)
        await receiver.refresh()
        await asyncio.to_thread(go, late)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "w") == 3


async def test_replaced_binary_is_reattached(c_binary: Path, tmp_path: Path) -> None:
    binary = tmp_path / "deployed"
    shutil.copy(c_binary, binary)
    receiver = make(
        "uprobe", {"resolve_interval": "1h", "probes": [{"binary": str(binary), "function": "work", "metric": "w"}]}
    )
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(binary), "2"], check=True, capture_output=True)
        staged = tmp_path / "deployed.new"  # a redeploy: new file renamed over the old (new inode)
        shutil.copy(c_binary, staged)
        staged.rename(binary)
        await receiver.refresh()
        await asyncio.to_thread(subprocess.run, [str(binary), "3"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "w") == 5


async def test_binary_inside_a_container(tmp_path: Path) -> None:
    """A process in its own mount namespace and cgroup (what a container is to
    us): found by container id, its binary reached through /proc/<pid>/root."""
    hierarchies = [Path("/sys/fs/cgroup"), *(Path("/sys/fs/cgroup") / c for c in ("pids", "memory", "cpu"))]
    writable = [h for h in hierarchies if (h / "cgroup.procs").exists()]
    if not writable:
        unavailable("a cgroup hierarchy (v2 or v1 pids/memory/cpu) under /sys/fs/cgroup")
    container_id = os.urandom(32).hex()
    cgroup = writable[0] / f"ebpf-collector-test-{container_id}.scope"
    unshare = require_tool("unshare")
    root = tmp_path / "rootfs"
    (root / "app").mkdir(parents=True)
    compile_c(C_PROGRAM, root / "app" / "worker", "-static")
    # A private mount namespace whose / is a different directory: bind-mount the
    # rootfs over a directory and chroot there, like a container runtime does.
    script = f"mount --bind {root} {root} && cd {root} && exec chroot . /app/worker 6 wait"
    proc = subprocess.Popen(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _exe_is(proc.pid, "worker"), "the contained process to start")
        cgroup.mkdir()
        (cgroup / "cgroup.procs").write_text(str(proc.pid))
        receiver = make(
            "uprobe",
            {"probes": [{"container": container_id[:12], "binary": "/app/worker", "function": "work", "metric": "w"}]},
        )
        await receiver.start()
        try:
            await asyncio.to_thread(go, proc)
            await receiver.poll()
        finally:
            await receiver.shutdown()
    finally:
        proc.kill()
        proc.wait()
        if cgroup.exists():
            cgroup.rmdir()
    assert counter(receiver, "w") == 6


async def test_go_binaries_refuse_latency_but_count(c_binary: Path, tmp_path: Path) -> None:
    """A binary with Go's runtime tables (.gopclntab) is treated as Go: uretprobes
    would corrupt it, so `latency: true` is an error; counting still works."""
    objcopy = require_tool("objcopy")
    table = tmp_path / "pclntab"
    table.write_bytes(b"\xf1\xff\xff\xff" + bytes(60))
    binary = tmp_path / "gobinary"
    subprocess.run(
        [objcopy, "--add-section", f".gopclntab={table}", str(c_binary), str(binary)], check=True, capture_output=True
    )
    receiver = make("uprobe", {"probes": [{"binary": str(binary), "function": "work", "metric": "w", "latency": True}]})
    with pytest.raises(ComponentError, match="is a Go binary: uretprobes corrupt Go programs"):
        await receiver.start()
    receiver = make("uprobe", {"probes": [{"binary": str(binary), "function": "work", "metric": "w"}]})
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(binary), "3"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    assert counter(receiver, "w") == 3


def _exe_is(pid: int, name: str) -> bool:
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == name
    except OSError:
        return False

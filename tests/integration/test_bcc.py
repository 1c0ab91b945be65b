"""The `bcc` receiver with real BCC programs: the bash example end to end, maps
to counters and histograms through the metric description, perf events as
columns, auto-attach, and compiler errors that point at the user's line."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector.component import ComponentError
from collector.config import load_config_file
from collector.model import HistogramPoint, NumberPoint
from tests.conftest import ROOT, compile_c, free_port, unavailable
from tests.integration.live import scrape, wait_for
from tests.integration.receiver_harness import build as make
from tests.integration.receiver_harness import emitted_events as events
from tests.integration.receiver_harness import last_metric as metric

pytestmark = pytest.mark.usefixtures("bpf", "bcc")


WORKER = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long work(long i) { return i * 2 + 1; }
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    long s = 0;
    for (int i = 0; i < n; i++) s += work(i);
    printf("%ld\n", s);
    return 0;
}
"""


@pytest.fixture(scope="module")
def bcc() -> None:
    try:
        import bcc  # noqa: F401
    except ImportError:
        unavailable("BCC (python3-bpfcc, linked into the venv by make setup)")
    if not Path(f"/lib/modules/{os.uname().release}/build").exists():
        unavailable("kernel headers at /lib/modules/$(uname -r)/build (make setup links them)")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_c(WORKER, tmp_path_factory.mktemp("bcc") / "worker")


async def until(predicate: Any, what: str, timeout: float = 60.0) -> None:
    """wait_for, letting the event loop run meanwhile (receivers hand batches over through it)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# -- scenario 3: commands typed into bash -------------------------------------------


def type_into_bash(commands: list[str]) -> int:
    """Run an interactive bash on a pty, type `commands`, return its pid."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive bash without rc files
        os.execvpe("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], {"PS1": "$ ", "TERM": "dumb"})
    try:
        for command in [*commands, "exit"]:
            os.write(fd, command.encode() + b"\n")
        _read_until_closed(fd)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return pid


def _read_until_closed(fd: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                if not os.read(fd, 4096):
                    return
            except OSError:  # EIO: the pty closed
                return


def test_bash_commands_example(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "commands.json"
    output = tmp_path / "collector.out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "collector", "run", "-c", str(ROOT / "configs" / "examples" / "bash-commands.yaml")],
        env={
            **os.environ,
            "BASH_COMMANDS_INTERVAL": "200ms",
            "PROMETHEUS_ENDPOINT": f"127.0.0.1:{port}",
            "BASH_COMMANDS_LOG": str(log),
            "KUBE_NODE_NAME": "node-bash-7",
        },
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"collector exited: {output.read_text()}")
            return "running;" in output.read_text()

        wait_for(ready, "the collector to compile the program and serve", timeout=60)
        bash = type_into_bash(["echo one", "true", "echo one", "echo 'two words'", ""])

        expected = {"echo one": 2, "true": 1, "echo 'two words'": 1, "exit": 1}

        def counted() -> dict[str, int] | None:
            found = {
                s.labels["command"]: int(s.value)
                for family in text_string_to_metric_families(scrape(port))
                for s in family.samples
                if s.name == "commands_count_total" and s.labels.get("pid") == str(bash)
            }
            return found if found == expected else None

        wait_for(counted, f"commands_count_total for pid {bash} == {expected}")
        ours = [
            s.labels
            for family in text_string_to_metric_families(scrape(port))
            for s in family.samples
            if s.name == "commands_count_total" and s.labels.get("pid") == str(bash)
        ]
        assert all(labels.keys() == {"command", "pid", "nodename"} for labels in ours)
        assert {labels["nodename"] for labels in ours} == {"node-bash-7"}
        wait_for(lambda: log.exists() and log.read_text().count(f'"pid":{bash},') == 5, "5 command events")
        lines = [line for line in log.read_text().splitlines() if f'"pid":{bash},' in line]
        assert '"command":"echo \'two words\'"' in lines[3]
        assert '"uid":0' in lines[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


# -- metric description ---------------------------------------------------------------

HIST_SOURCE = r"""
#include <uapi/linux/ptrace.h>
struct op_key { u32 parity; u32 pad; u64 slot; };
BPF_HISTOGRAM(arg_log2, int, 64);
BPF_HISTOGRAM(arg_by_parity, struct op_key, 256);
BPF_ARRAY(calls_by_parity, u64, 2);

int on_work(struct pt_regs *ctx) {
    long arg = PT_REGS_PARM1(ctx);
    arg_log2.increment(bpf_log2l(arg));
    struct op_key key = {.parity = arg & 1, .slot = bpf_log2l(arg)};
    arg_by_parity.increment(key);
    int parity = arg & 1;
    calls_by_parity.increment(parity);
    return 0;
}
"""


def log2l(v: int) -> int:
    """BCC's bpf_log2l: floor(log2 v) + 1, and 1 for 0."""
    return max(v.bit_length(), 1)


async def test_histograms_and_arrays_from_a_uprobe(worker: Path) -> None:
    receiver = make(
        "bcc",
        {
            "source": HIST_SOURCE,
            "attach": [{"kind": "uprobe", "binary": str(worker), "symbol": "work", "handler": "on_work"}],
            "metrics": {
                "counters": [
                    {
                        "name": "calls",
                        "table": "calls_by_parity",
                        "labels": [
                            {
                                "name": "parity",
                                "decoders": [{"name": "uint"}, {"name": "static_map", "static_map": {"0": "even"}}],
                            }
                        ],
                    }
                ],
                "histograms": [
                    {"name": "arg_log2", "bucket_max": 6},
                    {
                        "name": "by_parity",
                        "table": "arg_by_parity",
                        "bucket_max": 8,
                        "labels": [
                            {"name": "parity", "size": 4, "padding": 4},
                            {"name": "bucket", "size": 8},
                        ],
                    },
                ],
            },
        },
    )
    await receiver.start()
    try:
        await asyncio.to_thread(subprocess.run, [str(worker), "100"], check=True, capture_output=True)
        await receiver.poll()
    finally:
        await receiver.shutdown()
    calls = {p.attributes["parity"]: p.value for p in metric(receiver, "calls").points if isinstance(p, NumberPoint)}
    assert calls == {"even": 50, "unknown": 50}  # odd (1) is not in the static map

    (hist,) = metric(receiver, "arg_log2").points
    assert isinstance(hist, HistogramPoint)
    assert hist.bounds == tuple(float(2**k) for k in range(7))
    slots = np.bincount([log2l(i) for i in range(100)], minlength=8)
    assert hist.counts == [*slots[:7].tolist(), int(slots[7:].sum())]
    assert hist.count == 100

    by_parity = {
        p.attributes["parity"]: p for p in metric(receiver, "by_parity").points if isinstance(p, HistogramPoint)
    }
    assert set(by_parity) == {"0", "1"}
    odd = np.bincount([log2l(i) for i in range(1, 100, 2)], minlength=10)
    assert by_parity["1"].counts == [*odd[:9].tolist(), 0]


async def test_perf_events_as_columns_and_tracepoint_autoattach() -> None:
    """TRACEPOINT_PROBE attaches itself; each event is a row with declared columns."""
    source = r"""
    struct event { u32 pid; u32 seq; char comm[16]; };
    BPF_PERF_OUTPUT(calls);
    BPF_HASH(seen, u32, u64);
    TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
        u32 pid = bpf_get_current_pid_tgid() >> 32;
        if (pid != TARGET) return 0;
        u64 zero = 0, *n = seen.lookup_or_try_init(&pid, &zero);
        if (!n) return 0;
        struct event e = {.pid = pid, .seq = (u32)(*n)};
        (*n)++;
        bpf_get_current_comm(&e.comm, sizeof(e.comm));
        calls.perf_submit(args, &e, sizeof(e));
        return 0;
    }
    """
    receiver = make(
        "bcc",
        {
            "source": source,
            "cflags": [f"-DTARGET={os.getpid()}"],
            "poll_timeout": "20ms",
            "events": [
                {
                    "table": "calls",
                    "fields": [
                        {"name": "pid", "type": "u32"},
                        {"name": "seq", "type": "u32"},
                        {"name": "comm", "type": "char", "count": 16},
                    ],
                }
            ],
        },
        signal="logs",
    )
    await receiver.start()
    try:
        for _ in range(1000):
            os.getppid()
        await until(lambda: sum(len(b) for b in events(receiver)) >= 1000, "1000 events")
    finally:
        await receiver.shutdown()
    batches = events(receiver)
    rows = np.concatenate([b.records for b in batches])
    assert rows.dtype.names == ("pid", "seq", "comm")
    assert (rows["pid"] == os.getpid()).all()
    assert sorted(rows["seq"].tolist()) == list(range(1000))  # none lost, none twice
    assert len(batches) < 1000  # batched, not one batch per event
    telemetry = receiver.ctx.telemetry
    labels = {"receiver": "bcc", "table": "calls"}
    assert telemetry.counter("receiver_events_received", "").value(**labels) == 1000
    assert telemetry.counter("receiver_events_lost", "").value(**labels) == 0


async def test_lost_events_are_counted() -> None:
    """A one-page perf buffer and a pipeline that does not take batches (the event
    loop is busy with the burst): the kernel drops, and every drop is counted."""
    source = r"""
    struct event { u64 n; u64 pad[3]; };
    BPF_PERF_OUTPUT(burst);
    TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
        if ((bpf_get_current_pid_tgid() >> 32) != TARGET) return 0;
        struct event e = {.n = 1};
        burst.perf_submit(args, &e, sizeof(e));
        return 0;
    }
    """
    receiver = make(
        "bcc",
        {"source": source, "cflags": [f"-DTARGET={os.getpid()}"], "events": [{"table": "burst", "page_count": 1}]},
        signal="logs",
    )
    total = 20_000
    telemetry = receiver.ctx.telemetry
    lost = telemetry.counter("receiver_events_lost", "")
    received = telemetry.counter("receiver_events_received", "")
    labels = {"receiver": "bcc", "table": "burst"}
    await receiver.start()
    try:
        for _ in range(total):  # synchronously: the loop cannot run the pipeline meanwhile
            os.getppid()
        # The kernel reports losses with the next event that fits in the buffer:
        # trickle a few more until every event is accounted for, received or lost.
        deadline = time.monotonic() + 60
        while received.value(**labels) + lost.value(**labels) < total and time.monotonic() < deadline:
            os.getppid()
            total += 1
            await asyncio.sleep(0.05)
    finally:
        await receiver.shutdown()
    assert lost.value(**labels) > 0
    assert received.value(**labels) == sum(len(b) for b in events(receiver))
    assert received.value(**labels) + lost.value(**labels) == total


async def test_event_struct_learnt_from_the_program() -> None:
    source = r"""
    struct sample { u64 value; char tag[8]; };
    BPF_PERF_OUTPUT(out);
    TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
        if ((bpf_get_current_pid_tgid() >> 32) != TARGET) return 0;
        struct sample s = {.value = 42, .tag = "hi"};
        out.perf_submit(args, &s, sizeof(s));
        return 0;
    }
    """
    receiver = make(
        "bcc",
        {"source": source, "cflags": [f"-DTARGET={os.getpid()}"], "events": [{"table": "out"}]},
        signal="logs",
    )
    await receiver.start()
    try:
        os.getppid()
        await until(lambda: events(receiver), "an event")
    finally:
        await receiver.shutdown()
    (row,) = next(iter(events(receiver))).rows()
    assert row == {"value": 42, "tag": "hi"}


# -- errors users make ---------------------------------------------------------------


def test_compile_error_points_at_the_yaml_line(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text(
        "receivers:\n"  # 1
        "  bcc:\n"  # 2
        "    source: |\n"  # 3
        "      BPF_HASH(counts, u32, u64);\n"  # 4
        "      int f(void *ctx) {\n"  # 5
        "          u32 k = 1\n"  # 6  <- missing semicolon
        "          return 0;\n"  # 7
        "      }\n"  # 8
        "exporters:\n  json: {}\n"
        "service:\n  pipelines:\n    metrics: {receivers: [bcc], exporters: [json]}\n"
    )
    spec = next(s for s in load_config_file(config).components.values() if s.id.type == "bcc")
    receiver = make("bcc", spec.config.model_dump())
    receiver.config = spec.config  # keeps where `source` sits in the file
    with pytest.raises(ComponentError) as info:
        asyncio.run(receiver.start())
    message = str(info.value)
    assert f"{config}:6:20: error: expected ';' at end of declaration" in message
    assert "u32 k = 1" in message  # the compiler's own quote of the line
    assert "/virtual/main.c" not in message


def test_compile_error_in_a_source_file(tmp_path: Path) -> None:
    source = tmp_path / "prog.c"
    source.write_text("int f(void *ctx) {\n  return undefined_name;\n}\n")
    receiver = make("bcc", {"source_file": str(source)})
    with pytest.raises(ComponentError, match=rf"{source}:2:10: error: use of undeclared identifier 'undefined_name'"):
        asyncio.run(receiver.start())


async def test_missing_table_and_bad_label_are_named(worker: Path) -> None:
    receiver = make("bcc", {"source": "BPF_HASH(real, u32, u64);", "metrics": {"counters": [{"name": "imaginary"}]}})
    with pytest.raises(ComponentError, match="metrics: the program has no table 'imaginary'"):
        await receiver.start()

    source = "struct k { u32 pid; }; BPF_HASH(real, struct k, u64);"
    receiver = make("bcc", {"source": source, "metrics": {"counters": [{"name": "real", "labels": [{"name": "tid"}]}]}})
    with pytest.raises(ComponentError, match=r"metrics.counters\[0\] \(real\): table real: its key has no field 'tid'"):
        await receiver.start()


async def test_kprobes_attach_or_their_absence_is_explained() -> None:
    receiver = make("bcc", {"source": "int kprobe__do_nanosleep(void *ctx) { return 0; }"})
    if Path("/sys/kernel/tracing/kprobe_events").exists():  # a kernel with kprobes: it just works
        await receiver.start()
        await receiver.shutdown()
        return
    with pytest.raises(ComponentError, match="this kernel has no kprobes"):
        await receiver.start()

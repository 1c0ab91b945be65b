"""What a uprobe costs the traced program, per call.

A C program times N calls of a tiny function three ways in one run: bare,
counted by the `uprobe` receiver (uprobe only), and counted + timed (uprobe +
uretprobe). Prints ns per call and the added ns per call against the bare
baseline. Every uprobe hit is a trap into the kernel, so the added cost is
roughly constant per call (about a microsecond or two): fine for functions
called thousands of times a second, too much for a hot inner loop.

    .venv/bin/python -m bench.uprobe       (root)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

from collector.component import ComponentContext, ComponentId
from collector.telemetry import Telemetry
from receivers.uprobe import factory

CALLS = 100_000
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
__attribute__((noinline)) long work(long i) { __asm__ volatile(""); return i + 1; }
int main(int argc, char **argv) {
    long n = atol(argv[1]), s = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) s += work(i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%f %ld\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n, s);
    return 0;
}
"""


def ns_per_call(binary: Path) -> float:
    runs = [subprocess.run([str(binary), str(CALLS)], capture_output=True, text=True, check=True) for _ in range(3)]
    return min(float(run.stdout.split()[0]) for run in runs)


async def probed(binary: Path, latency: bool) -> tuple[float, int]:
    config = factory.config_model.model_validate(
        {"probes": [{"binary": str(binary), "function": "work", "metric": "calls", "latency": latency}]}
    )
    receiver = factory.create(config, ComponentContext(ComponentId("uprobe", "bench"), "receiver", Telemetry()))
    got: list[int] = []

    class Sink:
        async def consume(self, data: object) -> None:
            for metric in data.metrics:  # type: ignore[attr-defined]
                if metric.name == "calls":
                    got.append(int(metric.points[0].value))

    receiver.next["metrics"] = Sink()  # type: ignore[attr-defined]
    await receiver.start()
    try:
        cost = await asyncio.to_thread(ns_per_call, binary)
        await receiver.poll()  # type: ignore[attr-defined]
    finally:
        await receiver.shutdown()
    return cost, got[-1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        src, binary = Path(tmp) / "work.c", Path(tmp) / "work"
        src.write_text(PROGRAM)
        subprocess.run(["cc", "-O2", "-o", str(binary), str(src)], check=True)
        bare = ns_per_call(binary)
        counted, n1 = asyncio.run(probed(binary, latency=False))
        timed, n2 = asyncio.run(probed(binary, latency=True))
    print(f"calls per run: {CALLS} (best of 3 runs each)")
    print(f"bare call:             {bare:8.1f} ns/call")
    print(f"uprobe, counted:       {counted:8.1f} ns/call  (+{counted - bare:.0f} ns, {counted / bare:.0f}x bare)")
    print(f"uprobe+uretprobe, timed:{timed:7.1f} ns/call  (+{timed - bare:.0f} ns, {timed / bare:.0f}x bare)")
    print(f"calls counted in the kernel: {n1} and {n2} (expected {3 * CALLS} each)")
    return 0 if n1 == n2 == 3 * CALLS else 1


if __name__ == "__main__":
    sys.exit(main())

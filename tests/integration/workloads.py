"""Small real workloads in C, compiled by the tests, so what the kernel sees is exact."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import compile_c

GETPPID = r"""
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
/* usage: getppid COMM N  -- names itself COMM, then makes exactly N getppid syscalls */
int main(int argc, char **argv) {
    prctl(PR_SET_NAME, argv[1], 0, 0, 0);
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}
"""

SPIN = r"""
#include <stdlib.h>
#include <time.h>
/* usage: spin SECONDS -- burn CPU */
int main(int argc, char **argv) {
    double secs = atof(argv[1]);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long x = 0;
    do {
        for (int i = 0; i < 100000; i++) x += i;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
    return 0;
}
"""


def build(tmp: Path, name: str) -> Path:
    source = {"getppid": GETPPID, "spin": SPIN}[name]
    return compile_c(source, tmp / name)


def make_getppid_calls(binary: Path, comm: str, n: int) -> None:
    subprocess.run([str(binary), comm, str(n)], check=True)


def cpu_pressure(binary: Path, processes: int, seconds: float) -> None:
    procs = [subprocess.Popen([str(binary), str(seconds)]) for _ in range(processes)]
    for p in procs:
        p.wait()

"""Label decoding for map reads: column-wise (each distinct value decoded once,
pure chains cached across polls) against decoding every key on its own, the
straightforward way. A map of 50,000 (syscall, comm) keys from 300 syscalls and
400 process names, as a busy node's syscall counter looks.

    .venv/bin/python -m bench.decoders
"""

from __future__ import annotations

import sys
import time

import numpy as np

from collector.decoders import DecoderSpec, LabelSetDecoder, LabelSpec
from collector.decoders.base import DecoderContext
from collector.decoders.registry import decoder_class

N, SYSCALLS, COMMS = 50_000, 300, 400


def make_keys() -> np.ndarray:
    rng = np.random.default_rng(1)
    keys = np.zeros((N, 24), np.uint8)
    keys[:, :8] = rng.integers(0, SYSCALLS, N).astype("<u8").view(np.uint8).reshape(N, 8)
    comms = np.array([f"proc-{i}".encode().ljust(16, b"\0") for i in range(COMMS)])
    keys[:, 8:] = np.frombuffer(comms[rng.integers(0, COMMS, N)].tobytes(), np.uint8).reshape(N, 16)
    return keys


def labels() -> list[LabelSpec]:
    syscall = [DecoderSpec(name="uint"), DecoderSpec(name="syscall", arch="x86_64")]
    comm = [DecoderSpec(name="string"), DecoderSpec(name="regexp", regexps=["^proc-"])]
    return [LabelSpec(name="syscall", size=8, decoders=syscall), LabelSpec(name="comm", size=16, decoders=comm)]


def naive(keys: np.ndarray) -> list[tuple[str, ...]]:
    """Every key through every decoder, one Python call per label per row."""
    chains = [[decoder_class(d.name)(d, DecoderContext()) for d in spec.decoders] for spec in labels()]
    out = []
    for row in keys:
        raw = row.tobytes()
        values = []
        for (offset, size), chain in zip(((0, 8), (8, 16)), chains, strict=True):
            value = raw[offset : offset + size]
            for decoder in chain:
                value = decoder.decode(value)
            values.append(value.decode())
        out.append(tuple(values))
    return out


def best_of(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    keys = make_keys()
    t_naive = best_of(lambda: naive(keys))
    cold = min(best_of(lambda: LabelSetDecoder(labels()).decode(keys), 1) for _ in range(3))
    warm_decoder = LabelSetDecoder(labels())
    warm_decoder.decode(keys)
    t_warm = best_of(lambda: warm_decoder.decode(keys))
    _, rows = warm_decoder.decode(keys)
    assert rows == naive(keys)
    print(f"{N} keys ({SYSCALLS} syscalls x {COMMS} comms), python {sys.version.split()[0]}")
    print(f"  per-key decoding (baseline)      {t_naive * 1e3:8.1f} ms  {N / t_naive / 1e6:6.2f} M keys/s")
    print(f"  column-wise, first poll          {cold * 1e3:8.1f} ms  {N / cold / 1e6:6.2f} M keys/s  "
          f"{t_naive / cold:5.1f}x")  # fmt: skip
    print(f"  column-wise, later polls (cache) {t_warm * 1e3:8.1f} ms  {N / t_warm / 1e6:6.2f} M keys/s  "
          f"{t_naive / t_warm:5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()

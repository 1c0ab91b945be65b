"""Record parsing of the ring buffer and perf buffer readers, on synthetic spans
laid out exactly as the kernel writes them (the kernel-facing side is tested in
tests/integration/test_ebpf_events.py)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from receivers.ebpf_events import columns, perfbuf, ringbuf
from receivers.ebpf_events.config import EbpfEventsConfig
from receivers.ebpf_events.stream import schema_dtype

EVENT = np.dtype([("ts_ns", "<u8"), ("value", "<u8"), ("pid", "<u4"), ("fd", "<u4")])  # 24 bytes


def ring_record(value: int, flags: int = 0, size: int = EVENT.itemsize) -> bytes:
    sample = np.zeros(1, EVENT)
    sample["value"] = value
    body = sample.tobytes()[:size].ljust(size, b"\0")
    header = np.array([size | flags, 0], np.uint32).tobytes()
    pad = (-(8 + size)) % 8
    return header + body + b"\0" * pad


def span(*records: bytes) -> np.ndarray:
    return np.frombuffer(b"".join(records), np.uint8)


def test_ring_records_decode_as_one_array() -> None:
    data = span(*(ring_record(i) for i in range(1000)))
    records, consumed, malformed = ringbuf.parse(data, EVENT)
    assert records["value"].tolist() == list(range(1000))
    assert consumed == len(data) and malformed == 0


def test_ring_discarded_records_are_dropped_and_consumed() -> None:
    data = span(ring_record(1), ring_record(2, ringbuf.DISCARD), ring_record(3))
    records, consumed, _ = ringbuf.parse(data, EVENT)
    assert records["value"].tolist() == [1, 3]
    assert consumed == len(data)


def test_ring_busy_record_ends_the_batch_and_is_not_consumed() -> None:
    data = span(ring_record(1), ring_record(2), ring_record(3, ringbuf.BUSY), ring_record(4))
    records, consumed, _ = ringbuf.parse(data, EVENT)
    assert records["value"].tolist() == [1, 2]
    assert consumed == 2 * 32  # the reader comes back for record 3 once it is committed


def test_ring_foreign_size_record_is_skipped_and_counted() -> None:
    data = span(ring_record(1), ring_record(0, size=40), ring_record(2), ring_record(0, ringbuf.DISCARD, size=12))
    records, consumed, malformed = ringbuf.parse(data, EVENT)
    assert records["value"].tolist() == [1, 2]
    assert consumed == len(data) and malformed == 1


def perf_sample(value: int) -> bytes:
    sample = np.zeros(1, EVENT)
    sample["value"] = value
    raw = sample.tobytes() + b"\0" * 4  # 4 + 24 + 4 = 32: padded to 8
    size = 8 + 4 + len(raw)
    return (
        np.array([perfbuf.RECORD_SAMPLE], np.uint32).tobytes()
        + np.array([0, size], np.uint16).tobytes()
        + np.array([len(raw)], np.uint32).tobytes()
        + raw
    )


def perf_lost(n: int) -> bytes:
    return (
        np.array([perfbuf.RECORD_LOST], np.uint32).tobytes()
        + np.array([0, 24], np.uint16).tobytes()
        + np.array([7, n], np.uint64).tobytes()
    )


def test_perf_samples_and_lost_records() -> None:
    data = span(perf_sample(1), perf_sample(2), perf_lost(5), perf_sample(3), perf_lost(2))
    records, lost, malformed = perfbuf.parse(data, EVENT)
    assert records["value"].tolist() == [1, 2, 3]
    assert lost == 7 and malformed == 0


def test_strings_are_cleaned_after_their_nul() -> None:
    records = np.zeros(2, [("comm", "S8"), ("n", "<u4")])
    records["comm"] = [b"ab\0stale", b"abc"]
    columns.clear_after_nul(records)
    assert records["comm"].tolist() == [b"ab", b"abc"]
    assert records.view(np.uint8)[:8].tolist() == [97, 98, 0, 0, 0, 0, 0, 0]


def test_argv_joined_with_spaces() -> None:
    args = np.array([b"ls\0-l\0/tmp\0", b"true\0junk"], "S16")
    assert columns.join_args(args, np.array([11, 5])).tolist() == ["ls -l /tmp", "true"]


def test_addresses_formatted() -> None:
    addrs = np.zeros((2, 4), np.uint32)
    addrs.view(np.uint8)[0, :4] = [10, 0, 0, 5]
    addrs.view(np.uint8)[1, 15] = 1
    assert columns.ip_text(addrs, np.array([2, 10])).tolist() == ["10.0.0.5", "::1"]


def test_declared_schema() -> None:
    dt = schema_dtype({"pid": "u32", "comm": "char[16]", "lat": "u64"})
    assert dt.itemsize == 28 and dt["comm"] == np.dtype("S16")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"programs": ["nope"]}, "unknown program 'nope'"),
        ({"programs": ["exec", "exec"]}, "listed twice"),
        ({"programs": ["exec"], "buffer_size": 5000}, "power of 2"),
        ({"programs": ["exec"], "transport": "udp"}, "ringbuf"),
        ({"programs": [{"name": "x", "object": "/x.bpf.o", "schema": {"a": "int"}}]}, "unknown type 'int'"),
        ({"programs": ["exec"], "buffer_size": 4096, "wakeup_bytes": 8192}, "smaller than buffer_size"),
    ],
)
def test_config_errors_say_what(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EbpfEventsConfig.model_validate(config)

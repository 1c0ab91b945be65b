"""The bcc receiver's metric description applied to table contents (no kernel needed)."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import HistogramPoint, NumberPoint
from receivers.bcc import metrics as describe
from receivers.bcc.config import CounterConfig, HistogramConfig

KEY = np.dtype({"names": ["command", "pid"], "formats": ["S8", "<u4"], "offsets": [0, 8], "itemsize": 16})


def counter(spec: dict[str, object], keys: np.ndarray, values: np.ndarray) -> dict[tuple[tuple[str, str], ...], int]:
    metric = describe.counter(CounterConfig.model_validate(spec), keys, values, 1, 2)
    out = {}
    for p in metric.points:
        assert isinstance(p, NumberPoint)
        out[tuple(sorted((k, str(v)) for k, v in p.attributes.items()))] = int(p.value)
    return out


def test_struct_fields_become_labels_with_type_default_decoders() -> None:
    keys = np.array([(b"ls", 7), (b"echo hi", 7)], KEY)
    got = counter({"name": "c", "labels": [{"name": "command"}, {"name": "pid"}]}, keys, np.array([3, 1], "<u8"))
    assert got == {(("command", "ls"), ("pid", "7")): 3, (("command", "echo hi"), ("pid", "7")): 1}


def test_sized_labels_like_ebpf_exporter() -> None:
    keys = np.array([(b"ls", 7)], KEY)
    spec = {
        "name": "c",
        "labels": [
            {"name": "command", "size": 8, "decoders": [{"name": "string"}]},
            {"name": "pid", "size": 4, "padding": 4, "decoders": [{"name": "hex"}]},
        ],
    }
    assert counter(spec, keys, np.array([5], "<u8")) == {(("command", "ls"), ("pid", "07000000")): 5}


def test_static_map_merges_series_and_marks_unknown() -> None:
    keys = np.array([6, 17, 1, 2], "<u4")
    chain = [{"name": "uint"}, {"name": "static_map", "static_map": {"6": "tcp", "17": "udp"}}]
    got = counter({"name": "c", "labels": [{"name": "proto", "decoders": chain}]}, keys, np.array([5, 2, 1, 3], "<u8"))
    assert got == {(("proto", "tcp"),): 5, (("proto", "udp"),): 2, (("proto", "unknown"),): 4}


def test_struct_value_needs_a_field() -> None:
    values = np.zeros(1, [("calls", "<u8"), ("bytes", "<u8")])
    with pytest.raises(describe.DescriptionError, match="name the field to export as `value` \\(calls, bytes\\)"):
        counter({"name": "c"}, np.zeros(1, "<u4"), values)
    values["bytes"] = 9
    assert counter({"name": "c", "value": "bytes"}, np.zeros(1, "<u4"), values) == {(): 9}


def test_exp2_histogram_folds_the_edges_and_uses_the_sum_bucket() -> None:
    spec = HistogramConfig(name="h", bucket_min=2, bucket_max=4, bucket_multiplier=1e-6, sum_bucket=True)
    keys = np.array([0, 1, 2, 3, 4, 5, 9], "<u4")
    values = np.array([1, 1, 1, 1, 1, 777, 3], "<u8")  # key 5 = bucket_max + 1: the sum
    (point,) = describe.histogram(spec, keys, values, 1, 2).points
    assert isinstance(point, HistogramPoint)
    assert point.bounds == pytest.approx((4e-6, 8e-6, 16e-6))
    assert point.counts == [3, 1, 1, 3]  # 0,1,2 fold into the first bucket; 9 goes to +Inf
    assert point.sum == pytest.approx(777e-6)


def test_histogram_without_sum_bucket_estimates_from_lower_bounds() -> None:
    spec = HistogramConfig(name="h", bucket_max=3)
    (point,) = describe.histogram(spec, np.array([1, 3], "<u4"), np.array([2, 1], "<u8"), 1, 2).points
    assert isinstance(point, HistogramPoint)
    assert point.counts == [0, 2, 0, 1, 0]
    assert point.sum == 2 * 1 + 1 * 4  # bucket 1 holds values >= 1, bucket 3 values >= 4

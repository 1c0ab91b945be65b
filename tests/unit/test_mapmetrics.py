"""Counters and histograms from decoded map entries, as ebpf_exporter builds them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from collector.mapmetrics import HistogramSpec, ProgramFile, bucket_layout, counter_points, histogram_points

LABELS = [{"name": "dev", "size": 4, "decoders": [{"name": "uint"}]},
          {"name": "bucket", "size": 4, "decoders": [{"name": "uint"}]}]  # fmt: skip


def hist(**options: Any) -> HistogramSpec:
    return HistogramSpec.model_validate({"name": "h", "labels": LABELS, **options})


def test_exp2_bounds_with_multiplier() -> None:
    keys, bounds, sum_key = bucket_layout(hist(bucket_type="exp2", bucket_min=0, bucket_max=3, bucket_multiplier=1e-6))
    assert keys == [0, 1, 2, 3] and sum_key == 4
    assert bounds == pytest.approx((1e-6, 2e-6, 4e-6, 8e-6))


def test_exp2zero_linear_fixed() -> None:
    assert bucket_layout(hist(bucket_type="exp2zero", bucket_max=3))[1] == (0.0, 1.0, 2.0, 4.0)
    assert bucket_layout(hist(bucket_type="linear", bucket_min=1, bucket_max=3, bucket_multiplier=10))[1] == (
        10, 20, 30)  # fmt: skip
    keys, bounds, sum_key = bucket_layout(hist(bucket_type="fixed", bucket_keys=[1, 5, 10], bucket_multiplier=2))
    assert (keys, bounds, sum_key) == ([1, 5, 10], (2, 10, 20), 11)


def test_histogram_groups_by_labels_backfills_and_uses_the_sum_key() -> None:
    spec = hist(bucket_type="exp2", bucket_min=1, bucket_max=4, bucket_multiplier=1e-6)
    rows = [("8", "2"), ("8", "4"), ("8", "5"), ("9", "0"), ("9", "9")]
    values = np.array([3, 1, 1234, 2, 5], np.uint64)
    points = {p.attributes["dev"]: p for p in histogram_points(spec, ["dev", "bucket"], rows, values, 1, 2)}
    dev8, dev9 = points["8"], points["9"]
    assert dev8.bounds == pytest.approx((2e-6, 4e-6, 8e-6, 16e-6))
    assert dev8.counts == [0, 3, 0, 1, 0] and dev8.sum == pytest.approx(1234e-6)  # key 5 = bucket_max + 1: sum
    assert dev9.counts == [2, 0, 0, 0, 5]  # below range -> first bucket, above -> +Inf: the count stays right
    assert dev9.count == 7 and dev9.attributes == {"dev": "9"}


def test_histogram_bucket_label_must_be_a_number() -> None:
    spec = hist(bucket_type="linear", bucket_max=2)
    with pytest.raises(ValueError, match="must decode to a number"):
        histogram_points(spec, ["dev", "bucket"], [("8", "sda")], np.array([1], np.uint64), 1, 2)


def test_counter_adds_entries_that_decode_alike() -> None:
    points = counter_points(["comm"], [("a",), ("b",), ("a",)], np.array([1, 2, 3], np.uint64), 5, 6)
    assert {p.attributes["comm"]: p.value for p in points} == {"a": 4, "b": 2}
    assert points[0].start_time_ns == 5


def test_schema_errors() -> None:
    with pytest.raises(ValidationError, match=r"bucket_max \(2\) must be above bucket_min \(2\)"):
        hist(bucket_type="exp2", bucket_min=2, bucket_max=2)
    with pytest.raises(ValidationError, match="fixed histograms need `bucket_keys`"):
        hist(bucket_type="fixed")
    with pytest.raises(ValidationError, match="bucket_type"):
        hist(bucket_type="log10", bucket_max=3)
    with pytest.raises(ValidationError, match="perf_event_array counters are not supported"):
        ProgramFile.model_validate({"metrics": {"counters": [{"name": "c", "perf_event_array": True}]}})
    assert hist(bucket_type="exp2", bucket_max=3, bucket_multiplier=0).bucket_multiplier == 1  # unset means 1

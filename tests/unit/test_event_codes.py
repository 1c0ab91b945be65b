"""Dictionary-encoded event columns (EventBatch.with_columns / factorize / select)
and the distinct-key step of enrichment."""

from __future__ import annotations

import numpy as np
import pytest

from collector.model import EventBatch
from processors.k8s_metadata.processor import distinct


def test_with_columns_leaves_the_original_and_select_keeps_codes_aligned() -> None:
    records = np.zeros(4, dtype=[("pid", np.uint32)])
    records["pid"] = [5, 6, 5, 7]
    batch = EventBatch("t", records, 0)
    values = np.array(["a", "b"], dtype=object)
    out = batch.with_columns({"k8s.pod.name": (np.array([0, 1, 0, 1], np.int32), values)})
    assert batch.columns == {} and batch.codes == {}
    assert out.records is batch.records  # records are shared, not copied
    assert out.column("k8s.pod.name").tolist() == ["a", "b", "a", "b"]
    picked = out.select(np.array([False, True, True, False]))
    codes, vals = picked.factorize("k8s.pod.name")
    assert vals[codes].tolist() == picked.column("k8s.pod.name").tolist() == ["b", "a"]
    # a column without an encoding is factorized with numpy.unique
    codes, vals = out.factorize("pid")
    assert vals.tolist() == [5, 6, 7] and vals[codes].tolist() == [5, 6, 5, 7]


@pytest.mark.parametrize(
    "column",
    [
        np.random.default_rng(0).integers(0, 4_000_000, 200_000).astype(np.uint32),  # pids: dense table
        np.random.default_rng(0).integers(0, 2**40, 200_000).astype(np.uint64),  # cgroup ids: unique
        np.random.default_rng(0).integers(0, 50, 1000).astype(np.int32),  # small batch: unique
    ],
)
def test_distinct_keys_and_inverse(column: np.ndarray) -> None:
    keys, inverse = distinct(column)
    assert np.array_equal(keys, np.unique(column))
    assert np.array_equal(keys[inverse], column)


def test_factorize_of_c_strings_matches_numpy_unique() -> None:
    from collector.model.events import factorize

    rng = np.random.default_rng(3)
    names = np.array([f"proc-{i}".encode() for i in range(500)] + [b"x" * 16, b""], dtype="S16")
    records = np.zeros(100_000, dtype=[("pid", np.uint32), ("comm", "S16")])  # a strided field, as from the kernel
    records["comm"] = names[rng.integers(0, len(names), len(records))]
    codes, values = factorize(records["comm"])
    expected_values, expected_codes = np.unique(records["comm"], return_inverse=True)
    assert np.array_equal(values, expected_values) and np.array_equal(codes, expected_codes.reshape(-1))


def test_rows_include_added_columns() -> None:
    records = np.zeros(2, dtype=[("pid", np.uint32), ("comm", "S16")])
    records["comm"] = [b"a", b"b"]
    batch = EventBatch("t", records, 0).with_columns({"k8s.pod.name": (np.array([1, 0]), np.array(["p", "q"], object))})
    assert list(batch.rows()) == [
        {"pid": 0, "comm": "a", "k8s.pod.name": "q"},
        {"pid": 0, "comm": "b", "k8s.pod.name": "p"},
    ]

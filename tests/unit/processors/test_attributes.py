"""attributes: edits on metric points and on event columns, never in place."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from pydantic import ValidationError

from collector.model import EventBatch, Metric, MetricBatch, MetricKind, NumberPoint
from processors.attributes.config import AttributesConfig
from tests.unit.processors.helpers import events, make

ACTIONS = [
    {"key": "node", "action": "insert", "value": "n1"},
    {"key": "pid", "action": "delete"},
    {"key": "comm", "action": "rename", "new_key": "process.executable.name"},
    {"key": "user", "action": "hash"},
    {"key": "env", "action": "update", "value": "prod"},
    {"key": "copy", "action": "upsert", "from_attribute": "node"},
]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_points_are_edited_in_order_and_the_input_is_untouched() -> None:
    proc, sink, _ = make("attributes", {"actions": ACTIONS})
    attrs = {"pid": 7, "comm": "bash", "user": "alice", "node": "keep"}
    batch = MetricBatch([Metric("m", MetricKind.SUM, [NumberPoint(attrs, 1, 0, 1)])])
    await proc.consume(batch)
    out = sink.metrics()[0].points[0].attributes
    assert out == {"node": "keep", "process.executable.name": "bash", "user": sha("alice"), "copy": "keep"}
    assert batch.metrics[0].points[0].attributes == {"pid": 7, "comm": "bash", "user": "alice", "node": "keep"}


async def test_only_named_metrics_are_edited() -> None:
    proc, sink, _ = make("attributes", {"actions": [{"key": "a", "action": "delete"}], "metrics": ["x"]})
    pts = [NumberPoint({"a": 1}, 1, 0, 1)]
    await proc.consume(MetricBatch([Metric("x", MetricKind.GAUGE, pts), Metric("y", MetricKind.GAUGE, pts)]))
    assert [m.points[0].attributes for m in sink.metrics()] == [{}, {"a": 1}]


async def test_event_fields_and_columns_are_edited_as_columns() -> None:
    proc, sink, _ = make(
        "attributes",
        {
            "actions": [
                *ACTIONS,
                {"key": "latency_ns", "action": "rename", "new_key": "duration"},
                {"key": "k8s.pod.name", "action": "upsert", "value": "web"},
            ]
        },
    )
    batch = events([1, 2, 3], [b"bash", b"vim", b"bash"], [10, 20, 30])
    batch.columns["user"] = np.array(["alice", "bob", "alice"], dtype=object)
    await proc.consume(batch)
    out = sink.items[0]
    assert isinstance(out, EventBatch)
    assert "pid" not in out.field_names() and "comm" not in out.field_names()
    rows = list(out.rows())
    assert rows[0] == {
        "cgroup": 0,
        "node": "n1",
        "process.executable.name": "bash",
        "user": sha("alice"),
        "copy": "n1",
        "duration": 10,
        "k8s.pod.name": "web",
    }
    assert [r["user"] for r in rows] == [sha("alice"), sha("bob"), sha("alice")]
    assert list(batch.columns) == ["user"] and "pid" in batch.field_names()  # the input is unchanged


def test_actions_are_validated() -> None:
    with pytest.raises(ValidationError, match="exactly one of"):
        AttributesConfig.model_validate({"actions": [{"key": "a", "action": "insert"}]})
    with pytest.raises(ValidationError, match="new_key"):
        AttributesConfig.model_validate({"actions": [{"key": "a", "action": "rename"}]})
    with pytest.raises(ValidationError, match="takes no"):
        AttributesConfig.model_validate({"actions": [{"key": "a", "action": "hash", "value": 1}]})

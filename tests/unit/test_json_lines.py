"""The json exporter writes one jq-friendly object per datapoint or event."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from collector.component import ComponentContext, ComponentId
from collector.model import EventBatch, HistogramPoint, Metric, MetricBatch, MetricKind, NumberPoint
from collector.telemetry import Telemetry
from exporters.json import factory


async def export_to(path: Path, *batches: MetricBatch | EventBatch) -> list[dict[str, object]]:
    exporter = factory.create(
        factory.config_model(path=str(path)), ComponentContext(ComponentId("json"), "exporter", Telemetry())
    )
    await exporter.start()
    for b in batches:
        await exporter.export(b)  # type: ignore[attr-defined]
    await exporter.shutdown()
    await exporter.shutdown()  # idempotent
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_metrics_and_events_become_lines(tmp_path: Path) -> None:
    metrics = MetricBatch(
        [
            Metric("ebpf_syscalls", MetricKind.SUM, [NumberPoint({"syscall": "read", "comm": "nginx"}, 7, 1, 2)],
                   monotonic=True),
            Metric("lat", MetricKind.HISTOGRAM, [HistogramPoint({}, (1.0, 2.0), [1, 2, 3], 9.5, 1, 2)], unit="s"),
        ],
        resource={"host.name": "n1"},
    )  # fmt: skip
    records = np.zeros(2, dtype=[("pid", "<u4"), ("comm", "S16"), ("stack", "<u8", (2,))])
    records["pid"] = [10, 11]
    records["comm"] = [b"bash", b"curl"]
    events = EventBatch("exec", records, time_ns=5, columns={"k8s.pod.name": np.array(["a", "b"])})
    lines = await export_to(tmp_path / "out.jsonl", metrics, events)
    assert lines[0]["metric"] == "ebpf_syscalls" and lines[0]["value"] == 7 and lines[0]["monotonic"] is True
    assert lines[0]["attributes"] == {"syscall": "read", "comm": "nginx"} and lines[0]["resource"] == {
        "host.name": "n1"
    }
    assert lines[1]["count"] == 6 and lines[1]["bounds"] == [1.0, 2.0] and lines[1]["counts"] == [1, 2, 3]
    assert lines[2]["source"] == "exec"
    assert lines[2]["attributes"] == {"pid": 10, "comm": "bash", "stack": "0 0", "k8s.pod.name": "a"}
    assert lines[3]["attributes"]["comm"] == "curl"


def test_event_batch_select_keeps_columns_aligned() -> None:
    records = np.zeros(3, dtype=[("pid", "<u4")])
    records["pid"] = [1, 2, 3]
    batch = EventBatch("x", records, 0, columns={"pod": np.array(["a", "b", "c"])})
    picked = batch.select(batch.column("pid") != 2)
    assert list(picked.column("pid")) == [1, 3] and list(picked.column("pod")) == ["a", "c"]

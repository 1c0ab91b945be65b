"""filter: keep/drop events (columns) and metric points by equality, membership, regex."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from collector.component import ComponentContext, ComponentId
from collector.config import ConfigError, load_config_text
from collector.model import Data, EventBatch, Metric, MetricBatch, MetricKind, NumberPoint
from collector.telemetry import Telemetry
from processors.filter import factory
from processors.filter.processor import FilterProcessor


class Sink:
    def __init__(self) -> None:
        self.items: list[Data] = []

    async def consume(self, data: Data) -> None:
        self.items.append(data)


def make(config: dict[str, Any]) -> tuple[FilterProcessor, Sink, Telemetry]:
    telemetry = Telemetry()
    proc = factory.create(
        factory.config_model.model_validate(config), ComponentContext(ComponentId("filter"), "processor", telemetry)
    )
    assert isinstance(proc, FilterProcessor)
    sink = Sink()
    proc.next = sink
    return proc, sink, telemetry


def enriched_events() -> EventBatch:
    """Kernel fields plus dictionary-encoded namespace/pod columns, as k8s_metadata adds them."""
    records = np.zeros(6, dtype=[("pid", np.uint32), ("comm", "S16"), ("cgroup_id", np.uint64)])
    records["pid"] = [10, 11, 12, 13, 14, 15]
    records["comm"] = [b"nginx", b"nginx-worker", b"bash", b"postgres", b"sshd", b"xnginx"]
    records["cgroup_id"] = [2**60 + 1, 2**60 + 2, 7, 7, 7, 7]  # beyond a float's precision
    ns_codes = np.array([1, 1, 0, 1, 2, 0], np.int32)
    namespaces = np.array(["", "shop", "kube-system"], dtype=object)
    return EventBatch("exec", records, 0, resource={"k8s.node.name": "n1"}).with_columns(
        {"k8s.namespace.name": (ns_codes, namespaces)}
    )


def kept(batch: Data) -> list[int]:
    assert isinstance(batch, EventBatch)
    return batch.column("pid").tolist()


async def test_events_by_namespace_equality() -> None:
    proc, sink, telemetry = make({"include": {"k8s.namespace.name": "shop"}})
    batch = enriched_events()
    await proc.consume(batch)
    out = sink.items[0]
    assert kept(out) == [10, 11, 13]
    assert isinstance(out, EventBatch)
    assert out.column("k8s.namespace.name").tolist() == ["shop"] * 3  # extra columns stay aligned
    codes, values = out.factorize("k8s.namespace.name")
    assert values[codes].tolist() == ["shop"] * 3
    assert len(batch) == 6  # the input is untouched
    assert telemetry.counter("filter_dropped_items", "").value(processor="filter") == 3


@pytest.mark.parametrize(
    ("config", "pids"),
    [
        ({"include": {"comm": {"regex": "^nginx"}}}, [10, 11]),
        ({"include": {"comm": ["bash", "sshd"]}}, [12, 14]),
        ({"include": {"comm": "nginx"}}, [10]),
        ({"include": {"pid": [12, "13", 99]}}, [12, 13]),
        ({"include": {"pid": {"regex": "^1[45]$"}}}, [14, 15]),
        ({"include": {"cgroup_id": 2**60 + 2}}, [11]),
        ({"exclude": {"comm": {"in": ["sshd", "bash"]}}}, [10, 11, 13, 15]),
        ({"include": {"k8s.namespace.name": "shop"}, "exclude": {"comm": {"regex": "worker"}}}, [10, 13]),
        ({"include": {"k8s.namespace.name": "shop", "comm": {"regex": "^p"}}}, [13]),  # all conditions
        ({"include": {"k8s.node.name": "n1"}}, [10, 11, 12, 13, 14, 15]),  # resource attribute
        ({"include": {"k8s.node.name": "n2"}}, []),
        ({"exclude": {"k8s.namespace.name": {"regex": "^$"}}}, [10, 11, 13, 14]),  # unenriched rows out
        ({"include": {"no.such.attribute": "x"}}, []),  # what the data lacks matches nothing
        ({"exclude": {"no.such.attribute": "x"}}, [10, 11, 12, 13, 14, 15]),
    ],
)
async def test_event_conditions(config: dict[str, Any], pids: list[int]) -> None:
    proc, sink, _ = make(config)
    await proc.consume(enriched_events())
    assert (kept(sink.items[0]) if sink.items else []) == pids
    assert not sink.items or len(sink.items[0]) > 0  # an emptied batch is not passed on


async def test_metric_points() -> None:
    proc, sink, telemetry = make(
        {"include": {"k8s.namespace.name": ["shop", "cart"]}, "exclude": {"comm": {"regex": "^ssh"}}}
    )
    points = [
        NumberPoint({"k8s.namespace.name": "shop", "comm": "nginx"}, 1, 0, 1),
        NumberPoint({"k8s.namespace.name": "cart", "comm": "sshd"}, 2, 0, 1),
        NumberPoint({"k8s.namespace.name": "kube-system", "comm": "nginx"}, 3, 0, 1),
        NumberPoint({"comm": "nginx"}, 4, 0, 1),
    ]
    other = Metric("other", MetricKind.GAUGE, [NumberPoint({"k8s.namespace.name": "dev"}, 5, 0, 1)])
    batch = MetricBatch([Metric("calls", MetricKind.SUM, points, monotonic=True), other], {"host.name": "h"})
    await proc.consume(batch)
    out = sink.items[0]
    assert isinstance(out, MetricBatch)
    assert [m.name for m in out.metrics] == ["calls"]  # a metric left without points is dropped
    assert [p.value for p in out.metrics[0].points] == [1]  # type: ignore[union-attr]
    assert out.metrics[0].monotonic and out.resource == {"host.name": "h"}
    assert len(batch.metrics[0].points) == 4
    assert telemetry.counter("filter_dropped_items", "").value(processor="filter") == 4

    await proc.consume(MetricBatch([other]))  # nothing left: nothing passed on
    assert len(sink.items) == 1


async def test_metric_values_of_other_types_compare_as_text() -> None:
    proc, sink, _ = make({"include": {"pid": ["42"], "ok": True}})
    points = [NumberPoint({"pid": 42, "ok": True}, 1, 0, 1), NumberPoint({"pid": 42, "ok": "false"}, 2, 0, 1)]
    await proc.consume(MetricBatch([Metric("m", MetricKind.GAUGE, points)]))
    out = sink.items[0]
    assert isinstance(out, MetricBatch)
    assert [p.value for p in out.metrics[0].points] == [1]  # type: ignore[union-attr]


PIPELINE = """\
receivers:
  ebpf_maps:
    programs: [syscalls]
processors:
  filter:
    include:
      k8s.namespace.name: shop
      comm: {regex: "^(nginx"}
exporters:
  json: {}
service:
  pipelines:
    metrics:
      receivers: [ebpf_maps]
      processors: [filter]
      exporters: [json]
"""


def test_config_errors_name_the_line_and_key() -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(PIPELINE, "pipeline.yaml")
    message = str(err.value)
    assert "pipeline.yaml:8:14: processors.filter.include.comm.regex" in message
    assert "invalid regex" in message

    with pytest.raises(ConfigError, match="exactly one of equals, in, regex"):
        load_config_text(PIPELINE.replace('{regex: "^(nginx"}', "{regex: x, equals: y}"), "p.yaml")
    with pytest.raises(ConfigError, match="include and/or exclude"):
        load_config_text(
            PIPELINE.replace("    include:\n      k8s.namespace.name: shop\n", "    include: {}\n").replace(
                '      comm: {regex: "^(nginx"}\n', ""
            ),
            "p.yaml",
        )


def test_valid_pipeline_loads() -> None:
    config = load_config_text(PIPELINE.replace("^(nginx", "^nginx"), "pipeline.yaml")
    spec = config.get("processor", config.pipelines[0].processors[0])
    assert spec.config.include["comm"].regex == "^nginx"


async def test_arrays_inside_events_are_tested_as_text() -> None:
    records = np.zeros(3, dtype=[("pid", np.uint32), ("stack", np.uint64, (3,))])
    records["pid"] = [1, 2, 3]
    records["stack"] = [[1, 2, 3], [4, 5, 6], [1, 2, 9]]
    proc, sink, _ = make({"include": {"stack": {"regex": "^1 2 "}}})
    await proc.consume(EventBatch("s", records, 0))
    assert kept(sink.items[0]) == [1, 3]

"""uprobe receiver config: user mistakes are named with their file position."""

from __future__ import annotations

import pytest

from collector.config import ConfigError, load_config_text

PIPELINE = """
exporters:
  json: {}
service:
  pipelines:
    metrics:
      receivers: [uprobe]
      exporters: [json]
"""


def load(receiver: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config_text("receivers:\n  uprobe:\n" + receiver + PIPELINE, "t.yaml")
    return str(info.value)


def test_valid_example_loads() -> None:
    cfg = load_config_text(
        "receivers:\n  uprobe:\n    probes:\n      - {binary: /bin/app, function: area_, metric: m, latency: true}\n"
        + PIPELINE,
        "t.yaml",
    )
    (spec,) = [s for s in cfg.components.values() if s.id.type == "uprobe"]
    assert spec.config.probes[0].histogram_name == "m_duration"  # type: ignore[attr-defined]


def test_missing_target() -> None:
    assert "t.yaml:4" in load("    probes:\n      - {function: area_, metric: m}\n")
    assert "name the code to probe: `binary`, `process` or `pid`" in load(
        "    probes:\n      - {function: area_, metric: m}\n"
    )


def test_missing_function() -> None:
    assert "name the `function` to probe (or its file `offset`)" in load(
        "    probes:\n      - {binary: /x, metric: m}\n"
    )


def test_bad_metric_name() -> None:
    assert "is not a valid metric name" in load("    probes:\n      - {binary: /x, function: f, metric: 9bad}\n")


def test_two_probes_one_series() -> None:
    probes = "    probes:\n      - {binary: /x, function: f, metric: m}\n      - {binary: /x, function: g, metric: m}\n"
    assert "set `attributes` to tell them apart" in load(probes)
    ok = (
        "    probes:\n      - {binary: /x, function: f, metric: m, attributes: {fn: f}}\n"
        "      - {binary: /x, function: g, metric: m, attributes: {fn: g}}\n"
    )
    load_config_text("receivers:\n  uprobe:\n" + ok + PIPELINE, "t.yaml")


def test_container_with_pid() -> None:
    assert "`pid` already names one process: drop `container`" in load(
        "    probes:\n      - {container: 0123456789ab, pid: 3, function: f, metric: m}\n"
    )

"""Config loading: the OTel Collector's shape, env expansion, and errors that
name the file, line, column and key path."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from collector.component import ComponentId
from collector.config import ConfigError, load_config_text
from tests.conftest import ROOT

GOOD = """
receivers:
  ebpf_maps:
    programs: [runqlat, syscalls]
    interval: 5s
  ebpf_maps/fast:
    programs: [syscalls]
    interval: 250ms
exporters:
  prometheus:
    endpoint: ${env:PROM_ENDPOINT:-127.0.0.1:9999}
  json/file:
    path: ${env:OUT_FILE}
service:
  pipelines:
    metrics:
      receivers: [ebpf_maps, ebpf_maps/fast]
      exporters: [prometheus, json/file]
    metrics/copy:
      receivers: [ebpf_maps]
      exporters: [json/file]
"""


def load(text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_config_text(textwrap.dedent(text), "pipeline.yaml", env=env or {})


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load(text, env)
    return exc.value.problems


def test_good_config_builds_every_component_and_pipeline() -> None:
    cfg = load(GOOD, {"OUT_FILE": "/tmp/x.jsonl"})
    fast = cfg.get("receiver", ComponentId("ebpf_maps", "fast")).config
    assert fast.interval == 0.25  # type: ignore[attr-defined]
    assert cfg.get("exporter", ComponentId("prometheus")).config.endpoint == "127.0.0.1:9999"  # type: ignore[attr-defined]
    assert [p.name for p in cfg.pipelines] == ["metrics", "metrics/copy"]
    assert cfg.pipelines[0].receivers == [ComponentId("ebpf_maps"), ComponentId("ebpf_maps", "fast")]


def test_env_expansion_resolves_types_and_defaults() -> None:
    cfg = load(GOOD, {"OUT_FILE": "out.jsonl", "PROM_ENDPOINT": "0.0.0.0:1234"})
    assert cfg.get("exporter", ComponentId("prometheus")).config.endpoint == "0.0.0.0:1234"  # type: ignore[attr-defined]
    assert cfg.get("exporter", ComponentId("json", "file")).config.path == "out.jsonl"  # type: ignore[attr-defined]


def test_missing_env_var_without_default_names_it() -> None:
    (msg,) = problems(GOOD)
    assert msg.startswith("pipeline.yaml:13:11:")
    assert "exporters.json/file.path" in msg and "OUT_FILE is not set" in msg


def test_invalid_value_points_at_line_column_and_key_path() -> None:
    (msg,) = problems(GOOD.replace("interval: 250ms", "interval: soon"), {"OUT_FILE": "x"})
    assert msg.startswith("pipeline.yaml:8:5: receivers.ebpf_maps/fast.interval:")
    assert "duration" in msg and "'soon'" in msg


def test_unknown_key_is_an_error() -> None:
    (msg,) = problems(GOOD.replace("interval: 5s", "intervall: 5s"), {"OUT_FILE": "x"})
    assert "receivers.ebpf_maps.intervall: unknown key" in msg


def test_unknown_component_type_lists_known_types() -> None:
    msgs = problems(GOOD.replace("ebpf_maps/fast:", "ebpf_mapz/fast:"), {"OUT_FILE": "x"})
    msg = msgs[0]
    assert "receivers.ebpf_mapz/fast: unknown receiver type 'ebpf_mapz'" in msg
    assert "known receiver types: " in msg and "ebpf_maps" in msg


def test_unknown_builtin_program_lists_the_catalog() -> None:
    (msg,) = problems(GOOD.replace("[syscalls]", "[syscallz]"), {"OUT_FILE": "x"})
    assert "unknown program 'syscallz'" in msg and "runqlat" in msg


def test_pipeline_naming_undefined_component_says_which() -> None:
    text = GOOD.replace("exporters: [json/file]", "exporters: [json/other]")
    (msg,) = problems(text, {"OUT_FILE": "x"})
    assert "service.pipelines.metrics/copy.exporters[0]" in msg
    assert "'json/other' is not defined" in msg


def test_pipeline_signal_must_be_supported() -> None:
    text = GOOD.replace("metrics/copy:", "logs/copy:")
    (msg,) = problems(text, {"OUT_FILE": "x"})
    assert "receiver 'ebpf_maps' does not support logs pipelines" in msg


def test_bad_pipeline_id() -> None:
    (msg,) = problems(GOOD.replace("metrics/copy:", "metricz:"), {"OUT_FILE": "x"})
    assert "pipeline ids start with one of metrics, logs, traces" in msg


def test_duplicate_keys_are_an_error() -> None:
    text = GOOD.replace("    interval: 5s\n", "    interval: 5s\n    interval: 6s\n")
    (msg,) = problems(text, {"OUT_FILE": "x"})
    assert "receivers.ebpf_maps.interval: duplicate key (first defined at line 5)" in msg


def test_object_tags_are_refused() -> None:
    (msg,) = problems("receivers: !!python/object/apply:os.system ['true']\n")
    assert "unsupported YAML tag" in msg


def test_missing_service_section() -> None:
    (msg,) = problems("receivers: {}\n")
    assert "service: required key is missing" in msg


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("interval: 5s", "interval: -1").replace("[prometheus, json/file]", "[prometheus, nope]")
    msgs = problems(text, {"OUT_FILE": "x"})
    assert len(msgs) == 2


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "collector", *args], capture_output=True, text=True, cwd=ROOT, env=full_env
    )


def test_validate_exits_0_on_shipped_configs() -> None:
    for path in [ROOT / "configs" / "default.yaml", *sorted((ROOT / "configs" / "examples").glob("*.yaml"))]:
        result = run_cli("validate", "-c", str(path))
        assert result.returncode == 0, result.stderr
        assert "valid" in result.stdout


def test_validate_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("interval: 5s", "interval: [5]"))
    result = run_cli("validate", "-c", str(bad), env={"OUT_FILE": "x"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}:5:" in result.stderr and "receivers.ebpf_maps.interval" in result.stderr


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("validate", "-c", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "cannot read config" in result.stderr and "Traceback" not in result.stderr


def test_components_lists_every_type_with_a_description() -> None:
    result = run_cli("components")
    assert result.returncode == 0
    assert "ebpf_maps" in result.stdout and "prometheus" in result.stdout and "json" in result.stdout

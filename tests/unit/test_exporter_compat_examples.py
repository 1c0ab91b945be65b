"""The shipped examples for this part validate (the packets one also runs, in
tests/integration/test_packets.py)."""

from __future__ import annotations

import pytest

from collector.config import load_config_file
from tests.conftest import ROOT

EXAMPLES = ["ebpf-exporter-programs.yaml", "pinned-maps.yaml", "packets-per-protocol.yaml"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_validates(name: str) -> None:
    config = load_config_file(ROOT / "configs" / "examples" / name)
    assert config.pipelines and config.pipelines[0].receivers

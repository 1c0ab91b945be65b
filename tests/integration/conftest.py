"""Fixtures shared by integration tests: real cgroups and the in-test Kubernetes API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.cgroup_lab import CgroupLab
from tests.conftest import free_port
from tests.k8s_api import FakeKubeApi


@pytest.fixture
def lab() -> Iterator[CgroupLab]:
    lab = CgroupLab()
    try:
        yield lab
    finally:
        lab.cleanup()


@pytest.fixture
async def api() -> AsyncIterator[FakeKubeApi]:
    server = FakeKubeApi(token="s3cret")
    await server.start(free_port())
    yield server
    await server.stop()

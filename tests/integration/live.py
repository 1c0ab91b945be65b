"""Waiting on and scraping a collector that runs for real."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest


def scrape(port: int, accept: str = "") -> str:
    """The Prometheus endpoint's body on 127.0.0.1:port."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return str(resp.read().decode())


def wait_for(predicate: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll until predicate() is truthy and return its value (a deadline for liveness, not a
    timing assertion). Errors while waiting (a server not up yet) count as not yet."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(0.1)

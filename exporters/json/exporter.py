from __future__ import annotations

import asyncio
import json
import sys
from typing import IO

from collector.component import ComponentContext, ComponentError, Exporter
from collector.model import Data, MetricBatch
from exporters.json.config import JsonConfig
from exporters.json.encode import event_lines, metric_lines


class JsonExporter(Exporter[JsonConfig]):
    """Newline-delimited JSON to stdout or a file."""

    def __init__(self, config: JsonConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._out: IO[str] | None = None
        self._owned = False

    async def start(self) -> None:
        if self.config.path == "stdout":
            self._out = sys.stdout
        elif self.config.path == "stderr":
            self._out = sys.stderr
        else:
            try:
                self._out = open(self.config.path, "a", encoding="utf-8")  # noqa: SIM115 - lives until shutdown
            except OSError as exc:
                raise ComponentError(f"cannot open {self.config.path}: {exc.strerror}") from exc
            self._owned = True

    async def export(self, data: Data) -> None:
        lines = metric_lines(data) if isinstance(data, MetricBatch) else event_lines(data)
        text = "".join(json.dumps(line, separators=(",", ":"), default=str) + "\n" for line in lines)
        if text and self._out is not None:
            await asyncio.to_thread(self._write, text)

    def _write(self, text: str) -> None:
        assert self._out is not None
        self._out.write(text)
        self._out.flush()

    async def shutdown(self) -> None:
        if self._out is not None:
            self._out.flush()
            if self._owned:
                self._out.close()
            self._out = None

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import BinaryIO

from collector.component import ComponentContext, ComponentError, Exporter
from collector.model import Data, MetricBatch
from exporters.json.config import JsonConfig
from exporters.json.encode import event_lines, metric_lines
from exporters.json.otlp import otlp_json_line


class JsonExporter(Exporter[JsonConfig]):
    """Newline-delimited JSON to stdout or a file; files optionally rotate by size."""

    def __init__(self, config: JsonConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._file: BinaryIO | None = None
        self._size = 0  # bytes in the current file
        self._lock = asyncio.Lock()  # one write (and rotation) at a time
        self._closed = False

    async def start(self) -> None:
        if self.config.path not in ("stdout", "stderr"):
            try:
                self._open()
            except OSError as exc:
                raise ComponentError(f"cannot open {self.config.path}: {exc.strerror}") from exc

    def _open(self) -> None:
        self._file = open(self.config.path, "ab")  # noqa: SIM115 - lives until shutdown or rotation
        self._size = self._file.tell()

    def encode(self, data: Data) -> str:
        if self.config.format == "otlp":
            line = otlp_json_line(data)
            return line + "\n" if line else ""
        lines = metric_lines(data) if isinstance(data, MetricBatch) else event_lines(data)
        return "".join(json.dumps(line, separators=(",", ":"), default=str) + "\n" for line in lines)

    async def export(self, data: Data) -> None:
        text = self.encode(data)
        if text:
            async with self._lock:
                await asyncio.to_thread(self._write, text)

    def _write(self, text: str) -> None:
        if self.config.path in ("stdout", "stderr"):
            stream = sys.stdout if self.config.path == "stdout" else sys.stderr
            stream.write(text)
            stream.flush()
            return
        data = text.encode()
        rotation = self.config.rotation
        if rotation is not None and self._size > 0 and self._size + len(data) > rotation.max_size:
            self._rotate(rotation.max_backups)
        if self._file is None:
            if self._closed:
                return
            self._open()  # a failed rotation left no file open: try again now
        assert self._file is not None
        self._file.write(data)
        self._file.flush()
        self._size += len(data)

    def _rotate(self, backups: int) -> None:
        """path -> path.1 -> path.2 ... -> path.<backups>; the oldest falls off. Whole
        lines only: a file is rotated between two writes, never inside one."""
        assert self._file is not None
        self._file.close()
        self._file = None
        path = self.config.path
        if backups == 0:
            os.remove(path)
        else:
            for n in range(backups - 1, 0, -1):
                if os.path.exists(f"{path}.{n}"):
                    os.replace(f"{path}.{n}", f"{path}.{n + 1}")
            os.replace(path, f"{path}.1")
        self._open()

    async def shutdown(self) -> None:
        async with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None

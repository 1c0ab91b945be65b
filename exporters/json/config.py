from __future__ import annotations

from pydantic import Field

from collector.component import ComponentConfig


class JsonConfig(ComponentConfig):
    path: str = Field("stdout", description="`stdout`, `stderr` or a file to append to")

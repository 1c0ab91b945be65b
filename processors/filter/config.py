from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collector.component import ComponentConfig
from collector.model import AttrValue


class Condition(BaseModel):
    """One attribute test. In YAML a bare value means `equals`, a list means `in`:

    k8s.namespace.name: shop
    k8s.pod.label.app: [web, api]
    comm: {regex: ^nginx}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    equals: AttrValue | None = Field(None, description="the attribute equals this value")
    in_: list[AttrValue] | None = Field(None, alias="in", description="the attribute is one of these values")
    regex: str | None = Field(None, description="the attribute (as text) matches this regex (re.search)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"in": data}
        if isinstance(data, str | int | float | bool):
            return {"equals": data}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        if sum(x is not None for x in (self.equals, self.in_, self.regex)) != 1:
            raise ValueError("give exactly one of equals, in, regex")
        return self

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return value


class FilterConfig(ComponentConfig):
    """Keep data matching `include` (every condition), then drop data matching
    `exclude` (every condition). Events are filtered row by row, metrics point by
    point. An attribute the data does not carry matches no condition."""

    include: dict[str, Condition] = Field(
        default_factory=dict, description="attribute -> condition; keep only data matching all (empty: keep all)"
    )
    exclude: dict[str, Condition] = Field(
        default_factory=dict, description="attribute -> condition; drop data matching all (empty: drop none)"
    )

    @model_validator(mode="after")
    def _something(self) -> FilterConfig:
        if not self.include and not self.exclude:
            raise ValueError("give include and/or exclude conditions")
        return self

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from collector.component import ComponentConfig
from collector.model import AttrValue

ActionName = Literal["insert", "update", "upsert", "delete", "rename", "hash"]


class Action(ComponentConfig):
    """One change to an attribute (on metric points) or field/column (on events)."""

    key: str = Field(min_length=1, description="the attribute or event field acted on")
    action: ActionName = Field(
        description="insert (if absent), update (if present), upsert, delete, rename (to new_key), "
        "hash (replace by its SHA-256 hex digest)"
    )
    value: AttrValue | None = Field(None, description="insert/update/upsert: the value to set")
    from_attribute: str | None = Field(None, description="insert/update/upsert: copy the value of this attribute")
    new_key: str | None = Field(None, description="rename: the new name")

    @model_validator(mode="after")
    def _arguments(self) -> Action:
        if self.action in ("insert", "update", "upsert"):
            if (self.value is None) == (self.from_attribute is None):
                raise ValueError(f"{self.action} needs exactly one of `value` or `from_attribute`")
        elif self.value is not None or self.from_attribute is not None:
            raise ValueError(f"{self.action} takes no `value` or `from_attribute`")
        if (self.action == "rename") != (self.new_key is not None):
            raise ValueError("`new_key` is required by rename and only by rename")
        return self


class AttributesConfig(ComponentConfig):
    """Edits attributes of metric points and fields of events, in order."""

    actions: list[Action] = Field(min_length=1)
    metrics: list[str] | None = Field(None, description="only points of these metrics (default: all)")

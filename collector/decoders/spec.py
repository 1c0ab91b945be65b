"""The label and decoder description, in ebpf_exporter's YAML schema.

A map key is a run of fixed-size labels; each label's bytes go through a chain
of decoders (bytes in, bytes out) and the last output is the label value:

    labels:
      - name: syscall
        size: 8
        decoders: [{name: uint}, {name: syscall}]
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecoderSpec(_Spec):
    name: str = Field(description="decoder name, e.g. uint, string, ksym, cgroup, static_map, regexp")
    static_map: dict[str, str] | None = Field(None, description="static_map: input value -> label value")
    allow_unknown: bool = Field(False, description="static_map: keep values missing from the map as they are")
    regexps: list[str] | None = Field(None, description="regexp: keep the label set if any pattern matches")
    # Extensions beyond ebpf_exporter's schema:
    stack_map: str | None = Field(
        None, description="kstack: a BPF_MAP_TYPE_STACK_TRACE map; the label then holds a stack id, not addresses"
    )
    arch: str | None = Field(None, description="syscall: table to use (x86_64, arm64); default: this machine's")

    @model_validator(mode="after")
    def _known(self) -> DecoderSpec:
        from collector.decoders.registry import DECODERS

        if self.name not in DECODERS:
            raise ValueError(f"unknown decoder {self.name!r}; known decoders: {', '.join(sorted(DECODERS))}")
        if self.name == "static_map" and self.static_map is None:
            raise ValueError("the static_map decoder needs a `static_map:` mapping")
        if self.name == "regexp" and not self.regexps:
            raise ValueError("the regexp decoder needs a non-empty `regexps:` list")
        return self


class LabelSpec(_Spec):
    name: str = Field(min_length=1, description="label name")
    size: int = Field(0, ge=0, description="bytes of the key this label takes (0: from the key's BTF)")
    padding: int = Field(0, ge=0, description="bytes skipped after this label")
    decoders: list[DecoderSpec] = Field(default_factory=list, description="applied in order; the last gives the value")

"""Labels from a map key's BTF: describe a key struct's layout, infer label sizes,
or build a whole label list with decoders (pinned maps need no config).

Members map to labels in order; a label's size runs to the next member (so
padding is included, as ebpf_exporter expects). Decoders follow the C type:
char arrays -> string, 1/2/4/8-byte integers -> uint, enums -> their names,
anything else -> hex."""

from __future__ import annotations

from dataclasses import dataclass

from collector.bpf import btf as B
from collector.decoders.spec import DecoderSpec, LabelSpec


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    offset: int
    size: int  # up to the next member (or the end): includes trailing padding
    type_id: int
    c_type: str


def members(btf: B.Btf, type_id: int) -> list[Member]:
    """The key's fields; a scalar key is one field named after its type."""
    t = btf.resolve(type_id)
    total = _sizeof(btf, type_id)
    if t.kind not in (B.STRUCT, B.UNION):
        return [Member("key", 0, total, type_id, _c_name(btf, type_id))]
    raw = []
    for i in range(t.vlen):
        name_off, member_type, offset = t.extra[3 * i : 3 * i + 3]
        bit_offset = offset & 0xFFFFFF if t.kind_flag else offset
        raw.append((btf.name_at(name_off) or f"field{i}", bit_offset // 8, member_type))
    out = []
    for i, (name, off, member_type) in enumerate(raw):
        end = raw[i + 1][1] if i + 1 < len(raw) else total
        out.append(Member(name, off, end - off, member_type, _c_name(btf, member_type)))
    return out


def describe(btf: B.Btf, type_id: int) -> str:
    """`struct disk_key (16 bytes: dev u32 @0, op u8 @4 (+3 padding), slot u64 @8)` for messages."""
    t = btf.resolve(type_id)
    fields = ", ".join(
        f"{m.name} {m.c_type} @{m.offset}"
        + (f" (+{m.size - _sizeof(btf, m.type_id)} padding)" if m.size > _sizeof(btf, m.type_id) else "")
        for m in members(btf, type_id)
    )
    kind = {B.STRUCT: "struct ", B.UNION: "union "}.get(t.kind, "")
    return f"{kind}{t.name or _c_name(btf, type_id)} ({_sizeof(btf, type_id)} bytes: {fields})"


def infer_sizes(btf: B.Btf, type_id: int, labels: list[LabelSpec]) -> list[LabelSpec]:
    """Fill in `size: 0` labels from the key's members, position by position."""
    if all(label.size for label in labels):
        return labels
    fields = members(btf, type_id)
    if len(fields) != len(labels):
        raise ValueError(
            f"labels without `size` need one label per key field: the key is {describe(btf, type_id)}, "
            f"{len(labels)} labels given"
        )
    out = []
    for label, f in zip(labels, fields, strict=True):
        if not label.size:
            size = min(_sizeof(btf, f.type_id), f.size)
            label = label.model_copy(update={"size": size, "padding": f.size - size})
        out.append(label)
    return out


def auto_labels(btf: B.Btf, type_id: int) -> list[LabelSpec]:
    out = []
    for m in members(btf, type_id):
        size = min(_sizeof(btf, m.type_id), m.size)
        out.append(LabelSpec(name=m.name, size=size, padding=m.size - size, decoders=_decoders(btf, m)))
    return out


def _decoders(btf: B.Btf, m: Member) -> list[DecoderSpec]:
    t = btf.resolve(m.type_id)
    size = _sizeof(btf, m.type_id)
    if t.kind == B.ARRAY and btf.dtype(m.type_id).kind == "S":
        return [DecoderSpec(name="string")]
    if t.kind in (B.INT, B.ENUM, B.ENUM64, B.PTR) and size in (1, 2, 4, 8):
        if t.kind == B.ENUM:
            names = {str(v): n for v, n in btf.enum_values(m.type_id).items()}
            return [DecoderSpec(name="uint"), DecoderSpec(name="static_map", static_map=names, allow_unknown=True)]
        return [DecoderSpec(name="uint")]
    return [DecoderSpec(name="hex")]


def _sizeof(btf: B.Btf, type_id: int) -> int:
    return btf.dtype(type_id).itemsize


def _c_name(btf: B.Btf, type_id: int) -> str:
    t = btf.type(type_id)
    if t.kind in (B.TYPEDEF, B.INT, B.FLOAT) and t.name:
        return t.name
    r = btf.resolve(type_id)
    if r.kind == B.ARRAY:
        elem, _, n = r.extra
        return f"{_c_name(btf, elem)}[{n}]"
    if r.kind == B.PTR:
        return "pointer"
    kind = {B.STRUCT: "struct ", B.UNION: "union ", B.ENUM: "enum ", B.ENUM64: "enum "}.get(r.kind, "")
    return f"{kind}{r.name}" if r.name else kind.strip() or "?"

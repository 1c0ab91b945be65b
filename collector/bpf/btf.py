"""BPF Type Format (BTF) → numpy dtypes.

An event struct or map key described in a `.bpf.o`'s BTF (or a loaded map's BTF
from the kernel) becomes a numpy structured dtype with the C layout: same
offsets, same itemsize, so raw kernel bytes can be viewed as columns without
copying. `char[N]` becomes `SN` (bytes, NUL padded); other arrays, including
`unsigned char[N]` / `__u8[N]` (addresses, MACs: bytes after a NUL matter), are
sub-arrays; enums become their integer, pointers u8. Bitfields are not representable as numpy
fields and are left out (their bytes are still covered by the itemsize).

Parsing goes through libbpf's BTF API (btf__parse, btf__type_by_id, ...): we
read `struct btf_type` records as the UAPI header <linux/btf.h> lays them out.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from collector.bpf.libbpf import lib

# BTF kinds (linux/btf.h)
INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT = range(1, 12)
FUNC, FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64 = range(12, 20)
_MODIFIERS = {TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG}
INT_SIGNED, INT_CHAR, INT_BOOL = 1, 2, 4


class BtfError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class BtfType:
    id: int
    kind: int
    name: str
    vlen: int
    kind_flag: bool
    size_or_type: int
    extra: tuple[int, ...]  # the u32 words that follow the header for this kind


# u32 words that follow `struct btf_type` per kind: (fixed, per vlen entry)
_EXTRA_WORDS: dict[int, tuple[int, int]] = {
    INT: (1, 0), ARRAY: (3, 0), STRUCT: (0, 3), UNION: (0, 3), ENUM: (0, 2), ENUM64: (0, 3),
    FUNC_PROTO: (0, 2), VAR: (1, 0), DATASEC: (0, 3), DECL_TAG: (1, 0),
}  # fmt: skip
_declared = False


def _declare() -> ctypes.CDLL:
    global _declared
    L = lib()
    if not _declared:
        P = ctypes.c_void_p
        for name, res, args in (
            ("btf__parse", P, [ctypes.c_char_p, P]),
            ("btf__load_from_kernel_by_id", P, [ctypes.c_uint32]),
            ("btf__free", None, [P]),
            ("btf__type_cnt", ctypes.c_uint32, [P]),
            ("btf__type_by_id", P, [P, ctypes.c_uint32]),
            ("btf__name_by_offset", ctypes.c_char_p, [P, ctypes.c_uint32]),
            ("btf__find_by_name_kind", ctypes.c_int32, [P, ctypes.c_char_p, ctypes.c_uint32]),
            ("bpf_object__btf", P, [P]),
            ("bpf_map__btf_key_type_id", ctypes.c_uint32, [P]),
            ("bpf_map__btf_value_type_id", ctypes.c_uint32, [P]),
        ):
            fn = getattr(L, name)
            fn.restype, fn.argtypes = res, args
        _declared = True
    return L


class Btf:
    """A parsed BTF blob. Use `Btf.from_file(path)` or `Btf.from_kernel(id)`; `close()` frees it."""

    def __init__(self, ptr: int, owned: bool = True) -> None:
        self._ptr = ptr
        self._owned = owned

    @classmethod
    def from_file(cls, path: Path | str) -> Btf:
        L = _declare()
        ptr = L.btf__parse(str(path).encode(), None)
        if not ptr:
            raise BtfError(f"{path}: no BTF (compile with clang -g; CO-RE objects always carry it)")
        return cls(ptr)

    @classmethod
    def from_kernel(cls, btf_id: int) -> Btf:
        L = _declare()
        ptr = L.btf__load_from_kernel_by_id(btf_id)
        if not ptr:
            raise BtfError(f"cannot load BTF object {btf_id} from the kernel: {ctypes.get_errno()}")
        return cls(ptr)

    def close(self) -> None:
        if self._ptr and self._owned:
            _declare().btf__free(self._ptr)
        self._ptr = 0

    def __enter__(self) -> Btf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw access ---------------------------------------------------------
    def type(self, type_id: int) -> BtfType:
        L = _declare()
        if type_id == 0:
            return BtfType(0, 0, "void", 0, False, 0, ())
        addr = L.btf__type_by_id(self._ptr, type_id)
        if not addr:
            raise BtfError(f"no BTF type with id {type_id}")
        words = (ctypes.c_uint32 * 3).from_address(addr)
        info = words[1]
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        fixed, per_entry = _EXTRA_WORDS.get(kind, (0, 0))
        n_extra = fixed + per_entry * vlen
        extra = tuple((ctypes.c_uint32 * n_extra).from_address(addr + 12)) if n_extra else ()
        name = (L.btf__name_by_offset(self._ptr, words[0]) or b"").decode()
        return BtfType(type_id, kind, name, vlen, bool(info >> 31), words[2], extra)

    def find(self, name: str, kind: int = STRUCT) -> int:
        type_id = _declare().btf__find_by_name_kind(self._ptr, name.encode(), kind)
        if type_id < 0:
            raise BtfError(f"no {_KIND_NAMES.get(kind, kind)} named {name!r} in BTF")
        return int(type_id)

    def name_at(self, offset: int) -> str:
        return (_declare().btf__name_by_offset(self._ptr, offset) or b"").decode()

    def resolve(self, type_id: int) -> BtfType:
        """Skip typedefs and qualifiers."""
        t = self.type(type_id)
        while t.kind in _MODIFIERS:
            t = self.type(t.size_or_type)
        return t

    # -- numpy --------------------------------------------------------------
    def dtype(self, type_id: int) -> np.dtype[Any]:
        t = self.resolve(type_id)
        if t.kind == INT:
            encoding, bits = t.extra[0] >> 24, t.extra[0] & 0xFF
            if encoding & INT_BOOL:
                return np.dtype("?")
            if bits not in (8, 16, 32, 64, 128) or bits // 8 != t.size_or_type:
                return np.dtype(f"V{t.size_or_type}")
            if bits == 128:
                return np.dtype("V16")
            return np.dtype(f"<{'i' if encoding & INT_SIGNED else 'u'}{bits // 8}")
        if t.kind in (ENUM, ENUM64):
            return np.dtype(f"<{'i' if t.kind_flag else 'u'}{t.size_or_type}")
        if t.kind == PTR:
            return np.dtype("<u8")
        if t.kind == FLOAT:
            return np.dtype(f"<f{t.size_or_type}")
        if t.kind == ARRAY:
            elem_id, _, nelems = t.extra
            if is_text_char(self.resolve(elem_id)):
                return np.dtype(f"S{nelems}")  # char[N]: a C string
            return np.dtype((self.dtype(elem_id), (nelems,)))
        if t.kind in (STRUCT, UNION):
            return self._record(t)
        raise BtfError(f"type {t.name or t.id} ({_KIND_NAMES.get(t.kind, t.kind)}) has no numpy equivalent")

    def _record(self, t: BtfType) -> np.dtype[Any]:
        names: list[str] = []
        formats: list[np.dtype[Any]] = []
        offsets: list[int] = []
        for i in range(t.vlen):
            name_off, member_type, offset = t.extra[3 * i : 3 * i + 3]
            bit_offset, bitfield_size = (offset & 0xFFFFFF, offset >> 24) if t.kind_flag else (offset, 0)
            if bitfield_size or bit_offset % 8:
                continue  # bitfield: not addressable as a numpy field
            name = self.name_at(name_off)
            sub = self.dtype(member_type)
            if sub.itemsize == 0:
                continue  # flexible array member (e.g. `char __data[]`): no fixed bytes
            if not name:  # anonymous struct/union: lift its fields
                for sub_name in sub.names or ():
                    field_dtype, field_offset = sub.fields[sub_name][:2]  # type: ignore[index]
                    names.append(sub_name)
                    formats.append(field_dtype)
                    offsets.append(bit_offset // 8 + field_offset)
                continue
            names.append(name)
            formats.append(sub)
            offsets.append(bit_offset // 8)
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": t.size_or_type})

    def struct_dtype(self, name: str) -> np.dtype[Any]:
        """The dtype of `struct <name>` (or a typedef of that name)."""
        try:
            return self.dtype(self.find(name, STRUCT))
        except BtfError:
            return self.dtype(self.find(name, TYPEDEF))

    def enum_values(self, type_id: int) -> dict[int, str]:
        t = self.resolve(type_id)
        if t.kind != ENUM:
            raise BtfError(f"type {t.id} is not an enum")
        out: dict[int, str] = {}
        for i in range(t.vlen):
            name_off, raw = t.extra[2 * i : 2 * i + 2]
            out[ctypes.c_int32(raw).value if t.kind_flag else raw] = self.name_at(name_off)
        return out


def is_text_char(t: BtfType) -> bool:
    """Plain `char`, the element type of C strings. Signedness cannot tell it from
    `unsigned char` / `signed char` (char is signed on x86 and unsigned on arm64, and
    clang never sets the CHAR bit), so the name decides; pahole may set INT_CHAR."""
    if t.kind != INT or t.size_or_type != 1:
        return False
    encoding = t.extra[0] >> 24
    if encoding & INT_BOOL:
        return False
    return bool(encoding & INT_CHAR) or t.name == "char"


_KIND_NAMES = {INT: "int", PTR: "pointer", ARRAY: "array", STRUCT: "struct", UNION: "union", ENUM: "enum",
               FWD: "forward declaration", TYPEDEF: "typedef", FUNC: "function", FUNC_PROTO: "function prototype",
               VAR: "variable", DATASEC: "data section", FLOAT: "float", ENUM64: "enum64"}  # fmt: skip

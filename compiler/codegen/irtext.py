"""Spelling of LLVM types and constants in textual IR.

Floats are printed as exact hex bit patterns (LLVM's `0x` double form, `0xH` for half), so a
constant never changes value on its way through text.
"""
from __future__ import annotations

import struct

import numpy as np

from .. import dtypes as dt


def ltype(d: dt.DType) -> str:
    """Register type: bool is i1."""
    if d.is_bool:
        return "i1"
    return mtype(d)


def mtype(d: dt.DType) -> str:
    """In-memory type: bool is one byte holding 0 or 1."""
    if d.is_floating:
        return {16: "half", 32: "float", 64: "double"}[d.bits]
    if d.is_bool:
        return "i8"
    if d.is_integer:
        return f"i{d.bits}"
    raise TypeError(f"dtype {d.name} has no native representation in generated code")


def float_literal(value, bits: int) -> str:
    v = float(value)
    if bits == 16:
        return "0xH%04X" % int(np.array(v, np.float16).view(np.uint16))
    if bits == 32:
        v = float(np.float32(v))  # LLVM wants a double literal that a float holds exactly
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", v))[0]


def int_literal(value, bits: int) -> str:
    v = int(value) & ((1 << bits) - 1)
    if v >= 1 << (bits - 1):
        v -= 1 << bits
    return str(v)


def const_literal(value, d: dt.DType) -> str:
    if d.is_bool:
        return "true" if bool(value) else "false"
    if d.is_floating:
        return float_literal(value, d.bits)
    return int_literal(value, d.bits)


def bytes_literal(data: bytes) -> str:
    """`c"\\AB\\CD..."`: the fastest way to print a large constant array."""
    return 'c"' + ("\\" + data.hex("\\") if data else "") + '"'

"""Element types of the IR and TensorFlow's promotion rules for them.

A DType is immutable and compared by name. `native` says whether the LLVM backend can
lower it; the reference interpreter handles every dtype numpy does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str
    kind: str  # 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool, 's' string
    bits: int

    @property
    def as_numpy_dtype(self):
        return _NUMPY_OF[self.name]

    @property
    def np(self) -> np.dtype:
        return np.dtype(_NUMPY_OF[self.name])

    @property
    def is_floating(self) -> bool:
        return self.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self.kind in "iu"

    @property
    def is_unsigned(self) -> bool:
        return self.kind == "u"

    @property
    def is_bool(self) -> bool:
        return self.kind == "b"

    @property
    def is_string(self) -> bool:
        return self.kind == "s"

    @property
    def is_numeric(self) -> bool:
        return self.kind in "fiu"

    @property
    def native(self) -> bool:
        """True when generated code can hold this dtype in a buffer."""
        return self.kind != "s"

    @property
    def short(self) -> str:
        """Compact spelling used by the IR printer: f32, i64, bool."""
        return {"f": "f", "i": "i", "u": "u"}.get(self.kind, "") + str(self.bits) if self.kind in "fiu" else self.name

    @property
    def size(self) -> int:
        """Bytes per element, as TF's `DType.size` (numpy's itemsize; a string is an 8-byte object)."""
        return self.np.itemsize

    @property
    def itemsize(self) -> int:
        return max(1, self.bits // 8)

    @property
    def min(self):
        return np.finfo(self.np).min if self.is_floating else np.iinfo(self.np).min

    @property
    def max(self):
        return np.finfo(self.np).max if self.is_floating else np.iinfo(self.np).max

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def real_dtype(self) -> "DType":
        return self

    def is_compatible_with(self, other) -> bool:
        return as_dtype(other) == self

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: '{self.name}'>"


float16 = DType("float16", "f", 16)
float32 = DType("float32", "f", 32)
float64 = DType("float64", "f", 64)
int8 = DType("int8", "i", 8)
int16 = DType("int16", "i", 16)
int32 = DType("int32", "i", 32)
int64 = DType("int64", "i", 64)
uint8 = DType("uint8", "u", 8)
uint16 = DType("uint16", "u", 16)
uint32 = DType("uint32", "u", 32)
uint64 = DType("uint64", "u", 64)
bool_ = DType("bool", "b", 8)
string = DType("string", "s", 0)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool_, string)
_BY_NAME = {d.name: d for d in ALL}
_NUMPY_OF = {d.name: (np.bool_ if d is bool_ else object if d is string else np.dtype(d.name).type) for d in ALL}
_ALIASES = {"float": float32, "double": float64, "half": float16, "int": int32, "long": int64,
            "bool_": bool_, "str": string, "bytes": string}


def as_dtype(x) -> DType:
    """Accepts a DType, a name, a numpy dtype/type, or a Python type (as TF's `as_dtype`)."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str):
        if x in _BY_NAME:
            return _BY_NAME[x]
        if x in _ALIASES:
            return _ALIASES[x]
    if x is float:
        return float32
    if x is int:
        return int32
    if x is bool:
        return bool_
    if x in (str, bytes):
        return string
    dt = getattr(x, "dtype", None)
    if isinstance(dt, DType):
        return dt
    try:
        npd = np.dtype(x)
    except TypeError:
        raise TypeError(f"Cannot convert {x!r} to a fuseflow dtype") from None
    if npd.kind in "SUO":
        return string
    if npd.name in _BY_NAME:
        return _BY_NAME[npd.name]
    raise TypeError(f"Unsupported dtype {npd} (fuseflow supports {', '.join(_BY_NAME)})")


_FROM_NUMPY: dict = {}   # numpy dtype (or scalar type) -> DType: called on every traced-call argument


def from_numpy(npd) -> DType:
    d = _FROM_NUMPY.get(npd)
    if d is None:
        d = _FROM_NUMPY[npd] = as_dtype(np.dtype(npd))
    return d


def result_type(*dtypes: DType) -> DType:
    """numpy promotion over DTypes (used where TF itself would require equal dtypes we raise earlier)."""
    return from_numpy(np.result_type(*[d.np for d in dtypes]))

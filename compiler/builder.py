"""`Emitter`: a small helper to add ops to a graph from Python (gradient rules, decompositions,
passes). `em.mul(x, y)` adds a `mul` node and returns its Value; `em.constant(np.array)` adds
a literal; every node gets the emitter's current location and name prefix.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import dtypes as dt
from .ir import Graph, SourceLoc, TensorType, Value


class Emitter:
    def __init__(self, graph: Graph, loc: Optional[SourceLoc] = None, prefix: str = ""):
        self.graph = graph
        self.loc = loc
        self.prefix = prefix

    def emit(self, op: str, *operands, name: Optional[str] = None, **attrs) -> Value:
        return self.emit_multi(op, *operands, name=name, **attrs)[0]

    def emit_multi(self, op: str, *operands, name: Optional[str] = None, **attrs) -> list:
        vals = [v if isinstance(v, Value) else self.constant(v) for v in operands]
        nm = name or op
        if self.prefix:
            nm = f"{self.prefix}/{nm}"
        n = self.graph.add_op(op, vals, attrs, name=nm, loc=self.loc)
        return [Value(n, i) for i in range(len(self.graph.output_types(n)))]

    def __getattr__(self, op: str):
        if op.startswith("_"):
            raise AttributeError(op)
        return lambda *operands, **attrs: self.emit(op, *operands, **attrs)

    # -- conveniences ---------------------------------------------------------------------
    def type(self, v: Value) -> TensorType:
        return self.graph.value_type(v)

    def constant(self, value, dtype: Optional[dt.DType] = None) -> Value:
        arr = np.asarray(value, dtype=dtype.np if dtype is not None else None)
        if dtype is None and arr.dtype == np.float64 and not isinstance(value, np.ndarray):
            arr = arr.astype(np.float32)
        return self.emit("constant", value=arr)

    def scalar_like(self, value, like: Value) -> Value:
        """A scalar constant with `like`'s dtype (broadcasts in elementwise ops)."""
        return self.constant(np.asarray(value, dtype=self.type(like).dtype.np))

    def shape_of(self, v: Value) -> tuple:
        return self.type(v).shape
